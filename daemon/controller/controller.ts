// The controller: the only writer of the store, owner of every rule that spans
// objects. HTTP calls one method per operation; drivers get records and
// return their state. Operations live in networks.ts, endpoints.ts and
// join.ts; this file holds what they share.

import { randomBytes } from 'node:crypto';
import type { Driver, DriverContext } from '../../drivers/driver.js';
import type { Kernel } from '../../drivers/linux/kernel.js';
import type { BatchOp, Store } from '../../store/store.js';
import type { EndpointRecord, JournalRecord, NetworkRecord } from '../../store/records.js';
import { RECORD_VERSION } from '../../store/records.js';
import { BadRequest, NotFound, type ErrorCode } from '../../errors/index.js';
import { Locks } from './locks.js';
import { State } from './state.js';
import type { IpamConfig } from './ipam.js';

export interface Logger {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
  error(o: object, msg?: string): void;
}

export interface ControllerDeps {
  store: Store;
  drivers: Driver[];
  ctx: DriverContext;
  ipam: IpamConfig;
  log: Logger;
  /** Fault injection for crash tests: called at named steps (LNETD_FAULT). */
  fault?: (step: string) => void;
}

export const newId = (): string => randomBytes(32).toString('hex');

export class Controller {
  readonly state = new State();
  readonly locks = new Locks();
  readonly store: Store;
  readonly drivers = new Map<string, Driver>();
  readonly kernel: Kernel;
  readonly netnsDir: string;
  readonly ipam: IpamConfig;
  readonly log: Logger;
  private readonly faultHook?: (step: string) => void;

  constructor(deps: ControllerDeps) {
    this.store = deps.store;
    for (const d of deps.drivers) this.drivers.set(d.type, d);
    this.kernel = deps.ctx.kernel;
    this.netnsDir = deps.ctx.netnsDir;
    this.ipam = deps.ipam;
    this.log = deps.log;
    this.faultHook = deps.fault;
  }

  get defaultSandboxKey(): string {
    return `${this.netnsDir}/default`;
  }

  fault(step: string): void {
    this.faultHook?.(step);
  }

  driver(type: string): Driver {
    const d = this.drivers.get(type);
    if (!d) throw new BadRequest(`unknown network_type "${type.slice(0, 64)}": known drivers are ${[...this.drivers.keys()].join(', ')}`, 'UNKNOWN_DRIVER');
    return d;
  }

  /** Commit one atomic batch and bring the index in step with it. */
  async commit(ops: BatchOp[]): Promise<void> {
    await this.store.batch(ops);
    this.state.apply(ops);
  }

  /** Write an intent before the first kernel change; returns the op that clears it. */
  async intent(op: string, data: Record<string, unknown>): Promise<BatchOp> {
    const rec: JournalRecord = { version: RECORD_VERSION, id: newId().slice(0, 24), op, started: new Date().toISOString(), data };
    await this.store.put('journal', rec.id, rec);
    return { type: 'del', kind: 'journal', key: rec.id };
  }

  /** Drop an intent after its operation was undone. */
  async clearIntent(op: BatchOp): Promise<void> {
    await this.store.batch([op]).catch((err) => this.log.error({ err }, 'clear journal intent'));
  }

  /** A network by full id, name, or unique id prefix. */
  network(ref: string): NetworkRecord {
    const s = this.state;
    const n = s.networks.get(ref) ?? s.networks.get(s.networkByName.get(ref) ?? '') ?? unique(ref, s.networks.values(), 'network');
    if (!n) throw new NotFound(`network ${JSON.stringify(ref.slice(0, 80))} not found`, 'NETWORK_NOT_FOUND');
    return n;
  }

  /** An endpoint of a network by full id, name, or unique id prefix. */
  endpoint(net: NetworkRecord, ref: string, code: ErrorCode = 'ENDPOINT_NOT_FOUND'): EndpointRecord {
    const direct = this.state.endpoints.get(ref);
    if (direct && direct.networkId === net.id) return direct;
    const eps = this.state.networkEndpoints(net.id);
    const e = eps.find((x) => x.name === ref) ?? unique(ref, eps, 'endpoint');
    if (!e) throw new NotFound(`endpoint ${JSON.stringify(ref.slice(0, 80))} not found in network ${net.name}`, code);
    return e;
  }

  /** A service (an endpoint of any network) by full id, name, or unique id prefix. */
  service(ref: string): EndpointRecord {
    const all = [...this.state.endpoints.values()];
    const e = this.state.endpoints.get(ref) ?? unique(ref, all, 'service') ?? onlyByName(ref, all);
    if (!e) throw new NotFound(`service ${JSON.stringify(ref.slice(0, 80))} not found`, 'SERVICE_NOT_FOUND');
    return e;
  }
}

function unique<T extends { id: string }>(prefix: string, items: Iterable<T>, what: string): T | undefined {
  if (!/^[0-9a-f]{1,63}$/.test(prefix)) return undefined;
  let found: T | undefined;
  for (const it of items) {
    if (!it.id.startsWith(prefix)) continue;
    if (found) throw new NotFound(`${what} id prefix ${prefix} is ambiguous: give more of the id`);
    found = it;
  }
  return found;
}

function onlyByName(name: string, eps: EndpointRecord[]): EndpointRecord | undefined {
  const hits = eps.filter((e) => e.name === name);
  if (hits.length > 1) throw new NotFound(`service name ${name} is used in several networks: use its id`);
  return hits[0];
}
