// The controller: the only writer of the store, owner of every rule that spans
// objects, and an API of its own. API surfaces call one operation method per
// request and read through the query methods (typed in types.ts), never the
// index (`state`) itself; drivers get records and return their state.
// Operations live in networks.ts, endpoints.ts and join.ts; this file holds
// what they share and the public methods.

import { randomBytes } from 'node:crypto';
import type { Driver, DriverContext } from '../../drivers/driver.js';
import type { Kernel } from '../../drivers/linux/kernel.js';
import type { BatchOp, Store } from '../../store/store.js';
import type { EndpointRecord, JournalIntents, JournalOp, JournalRecord, NetworkRecord, SandboxRecord } from '../../store/records.js';
import type { ResolvPlan } from './sandbox-files.js';
import { RECORD_VERSION } from '../../store/records.js';
import { BadRequest, NotFound, type CodeOf } from '../../errors/index.js';
import { filePolicy, type FilePolicy } from '../files/policy.js';
import { Locks } from './locks.js';
import { Pending } from './pending.js';
import { State } from './state.js';
import { HostPorts } from './ports.js';
import type { PortReserver } from '../../drivers/linux/port-reserve.js';
import { deriveEvents } from './event-derive.js';
import { logChanges } from '../log-changes.js';
import { EventLog } from './events.js';
import type { IpamConfig } from './ipam.js';
import { createNetwork, deleteNetwork } from './networks.js';
import { createEndpoint, deleteEndpoint } from './endpoints.js';
import { join, leave } from './join.js';
import { connect, disconnect } from './connect.js';
import type {
  ConnectInput, ConnectResult,
  Counts, CreateEndpointInput, CreateNetworkInput, EndpointBrief, EndpointView, JoinInput, NameFilter, NetworkView,
  PublishInput, SandboxView, ServiceFilter,
} from './types.js';

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
  /** Where hosts_path / resolv_conf_path may point (default: the usual runtime directories). */
  files?: FilePolicy;
  /** Fault injection for crash tests: called at named steps (LNETD_FAULT). */
  fault?: (step: string) => void;
  /** How many events the log keeps (default 10,000). */
  eventsMax?: number;
  /** Where published host ports are reserved: the daemon binds real sockets
   *  (SocketReserver); unit tests pass an in-memory one (test/lib/fake-ports.ts). */
  ports: PortReserver;
}

// Ids come from a pool of random bytes filled 4 KiB at a time: one call into
// the CSPRNG per 128 ids instead of one per id (~2 us each, and an operation
// takes one or two: the endpoint's and its journal intent's).
let idPool = Buffer.alloc(0);
let idAt = 0;
function randomHex(bytes: number): string {
  if (idAt + bytes > idPool.length) { idPool = randomBytes(4096); idAt = 0; }
  const s = idPool.toString('hex', idAt, idAt + bytes);
  idAt += bytes;
  return s;
}

/** 64 hex digits (32 random bytes), the shape Docker's ids have. */
export const newId = (): string => randomHex(32);

export class Controller {
  readonly state = new State();
  readonly locks = new Locks();
  /** Names and addresses creates picked and have not committed yet (see pending.ts). */
  readonly pending = new Pending();
  readonly store: Store;
  readonly drivers = new Map<string, Driver>();
  readonly kernel: Kernel;
  readonly netnsDir: string;
  readonly ipam: IpamConfig;
  readonly log: Logger;
  readonly files: FilePolicy;
  /** Every committed change as a typed event: subscribe here (see events.ts). */
  readonly events: EventLog;
  /** Published host ports: allocation and the sockets that reserve them. */
  readonly hostPorts: HostPorts;
  private readonly faultHook?: (step: string) => void;
  /** What a sandbox's resolv.conf says, when the resolver is on (set by the DNS module). */
  resolvPlan?: (sb: SandboxRecord, joined: EndpointRecord[]) => ResolvPlan;

  constructor(deps: ControllerDeps) {
    this.store = deps.store;
    for (const d of deps.drivers) this.drivers.set(d.type, d);
    this.kernel = deps.ctx.kernel;
    this.netnsDir = deps.ctx.netnsDir;
    this.ipam = deps.ipam;
    this.log = deps.log;
    this.faultHook = deps.fault;
    this.files = deps.files ?? filePolicy({ netnsDir: this.netnsDir });
    this.events = new EventLog(deps.store, deps.log, deps.eventsMax);
    this.hostPorts = new HostPorts(deps.ports, this.state, deps.log);
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

  /** The one commit path: the records, the journal clear and the events they
   *  imply go in one atomic batch; then the index follows and the events are
   *  published (in seq order, only once written).
   *  durable (default true): synced to disk before it resolves. Join and leave
   *  pass false: what they record (a sandbox, which endpoint is plugged into it)
   *  describes kernel objects — namespaces on tmpfs, veths — that a power cut
   *  removes as well, and the write is in the OS's page cache when it resolves,
   *  so a kill of lnetd loses nothing. Networks and endpoints, which outlive a
   *  reboot, are always synced. */
  async commit(ops: BatchOp[], opts: { durable?: boolean } = {}): Promise<void> {
    const ev = this.events.prepare(deriveEvents(this.state, ops));
    try {
      await this.store.batch(ev.ops.length ? [...ops, ...ev.ops] : ops, { durable: opts.durable !== false });
    } catch (err) {
      this.events.settle(ev, false);
      throw err;
    }
    logChanges(this.log, this.state, ev.events, ops);
    this.state.apply(ops);
    this.hostPorts.follow(ops);
    this.events.settle(ev, true);
  }

  /** Graceful stop: drivers release what init took; kernel objects stay. */
  async close(): Promise<void> {
    for (const d of this.drivers.values()) await d.close().catch((err) => this.log.error({ err, driver: d.type }, 'driver close failed'));
  }

  /** Write an intent before the first kernel change; returns the op that clears
   *  it, which goes into the operation's commit batch (one write for records,
   *  events and the clear). The intent is not synced to disk: it survives a
   *  kill of lnetd (it is in the OS's page cache), and after a power cut the
   *  kernel objects it guards (links, namespaces on tmpfs, nftables) are gone
   *  too; the commit batch's sync flushes it with the records anyway. */
  async intent<Op extends JournalOp>(op: Op, data: JournalIntents[Op]): Promise<BatchOp> {
    const rec = { version: RECORD_VERSION, id: randomHex(12), op, started: new Date().toISOString(), data } as JournalRecord;
    await this.store.put('journal', rec.id, rec, { durable: false });
    return { type: 'del', kind: 'journal', key: rec.id };
  }

  /** Drop an intent after its operation was undone (durable: a lost clear
   *  would have recovery finish an operation the caller was told failed). */
  async clearIntent(op: BatchOp | undefined): Promise<void> {
    if (!op) return;
    await this.store.batch([op]).catch((err) => this.log.error({ err }, 'clear journal intent'));
  }

  // ---- operations (one per request) ----

  createNetwork(input: CreateNetworkInput): Promise<NetworkRecord> { return createNetwork(this, input); }
  deleteNetwork(ref: string): Promise<void> { return deleteNetwork(this, ref); }
  createEndpoint(netRef: string, input: CreateEndpointInput): Promise<EndpointRecord> { return createEndpoint(this, netRef, input); }
  deleteEndpoint(netRef: string, epRef: string): Promise<void> { return deleteEndpoint(this, netRef, epRef); }
  /** Plug an endpoint into the container's sandbox (made on its first join); answers the sandbox key. */
  join(netRef: string, epRef: string, input: JoinInput): Promise<string> { return join(this, netRef, epRef, input); }
  leave(netRef: string, epRef: string, containerId: string): Promise<void> { return leave(this, netRef, epRef, containerId); }
  /** A service is an endpoint created through /services on a named network. */
  publish(input: PublishInput): Promise<EndpointRecord> { return createEndpoint(this, input.networkName, { ...input, service: true }); }
  async unpublish(ref: string): Promise<void> {
    const e = this.service(ref);
    await deleteEndpoint(this, e.networkId, e.id);
  }
  attachBackend(ref: string, input: JoinInput): Promise<string> {
    const e = this.service(ref);
    return join(this, e.networkId, e.id, input);
  }
  async detachBackend(ref: string, containerId: string): Promise<void> {
    const e = this.service(ref);
    await leave(this, e.networkId, e.id, containerId);
  }

  /** Docker's connect: create an endpoint and join the container, one intent and one undo path. */
  connect(netRef: string, input: ConnectInput): Promise<ConnectResult> { return connect(this, netRef, input); }
  /** Docker's disconnect: leave and delete the container's endpoint, one operation. */
  disconnect(netRef: string, containerId: string): Promise<void> { return disconnect(this, netRef, containerId); }

  // ---- queries ----

  /** Moves on with every committed change: readers may cache what they derive until it does. */
  get version(): number { return this.state.version; }

  listNetworks(f: NameFilter = {}): NetworkView[] {
    return filtered([...this.state.networks.values()], f).map((n) => this.networkView(n));
  }

  /** Every network's record, without the endpoint list a NetworkView carries
   *  (built per network per call: O(all endpoints), too dear for a lookup). */
  networkRecords(): NetworkRecord[] {
    return [...this.state.networks.values()];
  }

  /** A network's endpoint records, in creation order, without views. */
  endpointRecords(networkId: string): EndpointRecord[] {
    return this.state.networkEndpoints(networkId);
  }

  /** Ids of the networks a container has an endpoint joined in. */
  containerNetworkIds(containerId: string): Set<string> {
    const out = new Set<string>();
    for (const e of this.state.endpoints.values()) if (e.container === containerId) out.add(e.networkId);
    return out;
  }

  inspectNetwork(ref: string): NetworkView {
    return this.networkView(this.network(ref));
  }

  listEndpoints(netRef: string, f: NameFilter = {}): EndpointView[] {
    const net = this.network(netRef);
    return filtered(this.state.networkEndpoints(net.id), f).map((e) => this.endpointView(e, net));
  }

  inspectEndpoint(netRef: string, epRef: string): EndpointView {
    const net = this.network(netRef);
    return this.endpointView(this.endpoint(net, epRef), net);
  }

  listServices(f: ServiceFilter = {}): EndpointView[] {
    const net = f.network === undefined ? undefined : this.network(f.network);
    const eps = net ? this.state.networkEndpoints(net.id) : [...this.state.endpoints.values()];
    return filtered(eps, f).map((e) => this.endpointView(e));
  }

  inspectService(ref: string): EndpointView {
    return this.endpointView(this.service(ref));
  }

  /** The containers joined to a service (0 or 1: an endpoint has one sandbox). */
  serviceBackends(ref: string): string[] {
    const e = this.service(ref);
    return e.container ? [e.container] : [];
  }

  listSandboxes(): SandboxView[] {
    return [...this.state.sandboxes.values()];
  }

  inspectSandbox(containerId: string): SandboxView {
    const sb = this.state.sandboxes.get(containerId);
    if (!sb) throw new NotFound(`container ${containerId.slice(0, 128)} has no sandbox`, 'CONTAINER_NOT_FOUND');
    return sb;
  }

  counts(): Counts {
    return { networks: this.state.networks.size, endpoints: this.state.endpoints.size, sandboxes: this.state.sandboxes.size };
  }

  private endpointView(e: EndpointRecord, net = this.state.networks.get(e.networkId)): EndpointView {
    const sandboxKey = e.container ? this.state.sandboxes.get(e.container)?.key : undefined;
    return { ...e, networkName: net?.name ?? e.networkId, sandboxKey };
  }

  private networkView(n: NetworkRecord): NetworkView {
    const endpoints: EndpointBrief[] = this.state.networkEndpoints(n.id).map((e) => ({ id: e.id, name: e.name, networkName: n.name }));
    return { ...n, endpoints };
  }

  // ---- lookups the operations share ----

  /** A network by full id, name, or unique id prefix. */
  network(ref: string): NetworkRecord {
    const s = this.state;
    const n = s.networks.get(ref) ?? s.networks.get(s.networkByName.get(ref) ?? '') ?? unique(ref, s.networks.values(), 'network');
    if (!n) throw new NotFound(`network ${JSON.stringify(ref.slice(0, 80))} not found`, 'NETWORK_NOT_FOUND');
    return n;
  }

  /** An endpoint of a network by full id, name, or unique id prefix. */
  endpoint(net: NetworkRecord, ref: string, code: CodeOf<'not_found'> = 'ENDPOINT_NOT_FOUND'): EndpointRecord {
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

function filtered<T extends { id: string; name: string }>(items: T[], f: NameFilter): T[] {
  if (f.name === undefined && f.idPrefix === undefined) return items;
  return items.filter((i) => (f.name === undefined || i.name === f.name) && (f.idPrefix === undefined || i.id.startsWith(f.idPrefix)));
}

function unique<T extends { id: string }>(prefix: string, items: Iterable<T>, what: string): T | undefined {
  if (!/^[0-9a-f]{1,63}$/.test(prefix)) return undefined;
  let found: T | undefined;
  for (const it of items) {
    if (!it.id.startsWith(prefix)) continue;
    if (found) throw new BadRequest(`${what} id prefix ${prefix} is ambiguous: give more of the id`, 'AMBIGUOUS_ID');
    found = it;
  }
  return found;
}

function onlyByName(name: string, eps: EndpointRecord[]): EndpointRecord | undefined {
  const hits = eps.filter((e) => e.name === name);
  if (hits.length > 1) throw new BadRequest(`service name ${name} is used in several networks: use its id`, 'AMBIGUOUS_ID');
  return hits[0];
}
