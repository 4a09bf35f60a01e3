// In-memory Firewall for unit tests: records networks and port maps with the
// same validation and key semantics as NftFirewall (it reuses nft-rules'
// checks), each call all-or-nothing like an nft transaction, and lets a test
// make the next call(s) of an operation fail to exercise undo paths.

import { Conflict } from '../../errors/index.js';
import type { Firewall, FwNetwork, FwPortMap } from '../../drivers/linux/firewall.js';
import { checkId, checkNetwork, portElem } from '../../drivers/linux/nft-rules.js';

export type FwOp = 'init' | 'addNetwork' | 'removeNetwork' | 'addPortMaps' | 'removePortMaps' | 'restore' | 'destroy';

interface Failure { op: FwOp; error: Error; times: number }

/** Key of a port map as the kernel map sees it: proto, host address (or any), host port, family. */
function mapKey(m: FwPortMap): string {
  const e = portElem(m);
  return `${e.map} ${e.key}`;
}

export class FakeFirewall implements Firewall {
  readonly layout = 'fake/1';
  /** Installed networks by id. */
  readonly networks = new Map<string, FwNetwork>();
  /** Published ports by map key (see mapKey). */
  readonly portMaps = new Map<string, FwPortMap>();
  /** Every call in order, e.g. `addPortMaps 2`; failed calls are recorded too, marked `!`. */
  readonly calls: string[] = [];
  initialized = false;
  private failures: Failure[] = [];

  /** Make the next `times` calls of `op` throw `error` without changing anything. */
  failNext(op: FwOp, error: Error = new Error(`injected ${op} failure`), times = 1): void {
    this.failures.push({ op, error, times });
  }

  /** How many calls of op were made (failed ones included). */
  count(op: FwOp): number {
    return this.calls.filter((c) => c.replace(/^!/, '').split(' ')[0] === op).length;
  }

  private enter(op: FwOp, detail = ''): void {
    const f = this.failures.find((x) => x.op === op);
    if (f) {
      if (--f.times <= 0) this.failures = this.failures.filter((x) => x !== f);
      this.calls.push(`!${op}${detail}`);
      throw f.error;
    }
    this.calls.push(`${op}${detail}`);
  }

  async init(): Promise<void> {
    this.enter('init');
    this.initialized = true;
  }

  async addNetwork(net: FwNetwork): Promise<void> {
    checkNetwork(net);
    this.enter('addNetwork', ` ${net.id}`);
    this.networks.set(net.id, { ...net });
  }

  async removeNetwork(id: string): Promise<void> {
    checkId(id);
    this.enter('removeNetwork', ` ${id}`);
    this.networks.delete(id);
    for (const [k, m] of this.portMaps) if (m.networkId === id) this.portMaps.delete(k);
  }

  async addPortMaps(maps: FwPortMap[]): Promise<void> {
    if (maps.length === 0) return;
    const keys = maps.map(mapKey);
    this.enter('addPortMaps', ` ${maps.length}`);
    keys.forEach((k, i) => {
      const have = this.portMaps.get(k);
      // nft: an element with the same key and another target is EEXIST, the same one is a no-op
      if (have && (have.containerIp !== maps[i].containerIp || have.containerPort !== maps[i].containerPort)) {
        throw new Conflict(`host port already published by another endpoint: ${k}`, 'PORT_IN_USE');
      }
    });
    keys.forEach((k, i) => this.portMaps.set(k, { ...maps[i] }));
  }

  async removePortMaps(maps: FwPortMap[]): Promise<void> {
    if (maps.length === 0) return;
    const keys = maps.map(mapKey);
    this.enter('removePortMaps', ` ${maps.length}`);
    keys.forEach((k, i) => {
      const have = this.portMaps.get(k);
      // only our own mapping goes: the port may lead to another container by now
      if (have && have.containerIp === maps[i].containerIp && have.containerPort === maps[i].containerPort) this.portMaps.delete(k);
    });
  }

  async restore(nets: FwNetwork[], maps: FwPortMap[]): Promise<void> {
    nets.forEach(checkNetwork);
    const keys = maps.map(mapKey);
    this.enter('restore', ` ${nets.length} ${maps.length}`);
    this.initialized = true;
    this.networks.clear();
    this.portMaps.clear();
    for (const n of nets) this.networks.set(n.id, { ...n });
    keys.forEach((k, i) => this.portMaps.set(k, { ...maps[i] }));
  }

  async destroy(): Promise<void> {
    this.enter('destroy');
    this.initialized = false;
    this.networks.clear();
    this.portMaps.clear();
  }
}
