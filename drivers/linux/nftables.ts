// The Firewall on nftables: every change one `nft -f -` transaction (one
// process), the script on stdin, never a shell. Also the few sysctls the
// rules depend on, written through /proc/sys synchronously: /proc/sys/net
// answers for the namespace of the thread that opens it, and only the main
// thread follows the daemon into a namespace (the fs thread pool does not).

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ensureForwarding, type ForwardingChange, type ForwardPolicy } from './forwarding.js';
import { join } from 'node:path';
import { Conflict, wrap } from '../../errors/index.js';
import { run } from './exec.js';
import type { Firewall, FwNetwork, FwPortMap } from './firewall.js';
import {
  NFT_LAYOUT, TABLE, addPortsScript, baseRulesScript, chains, checkId, checkNetwork, declareScript, destroyScript,
  networkScript, parseListing, parseOwner, portElem, portsOfNetwork, removeNetworkScript, removePortsScript, restoreScript,
  script, type ForwardDrop, type Listing, type NetRules, type PortElem, type TableOwner,
} from './nft-rules.js';

export interface NftOptions {
  nft?: string;              // nft binary (default: nft on PATH)
  procSys?: string;          // where sysctls live (default /proc/sys); unit tests use a tmp dir
  ipv6Forwarding?: boolean;  // set net.ipv6.conf.all.forwarding=1 in init (default true)
  /** This daemon, written in the table's comment; init refuses a table a live other instance owns. */
  owner?: TableOwner;
  /** Drop forwarded traffic neither to nor from a bridge: auto = where lnetd turned forwarding on. */
  forwardDrop?: ForwardPolicy;
  /** Where to remember which forwarding sysctls lnetd turned on (survives restarts, not reboots). */
  forwardingFile?: string;
  /** Told what lnetd changed in the forwarding sysctls. */
  onForwarding?: (changes: ForwardingChange[], drop: ForwardDrop) => void;
  /** True when pid is a running lnetd (owner check); default looks at /proc. */
  isLive?: (pid: number) => boolean;
}

/** A running process whose command line is lnetd's. */
export function isLiveLnetd(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /lnetd|daemon\/main\.js/.test(cmd);
  } catch {
    return false;
  }
}

/** Timing of the transactions run so far, for benchmarks and the report. */
export interface NftStats { transactions: number; totalMs: number; lastMs: number }

const elemId = (p: PortElem): string => `${p.map} ${p.key}`;
const isExists = (e: unknown): boolean => /File exists/.test(String((e as Error)?.message));
const isMissing = (e: unknown): boolean => /No such file or directory/.test(String((e as Error)?.message));

export class NftFirewall implements Firewall {
  readonly layout = NFT_LAYOUT;
  readonly stats: NftStats = { transactions: 0, totalMs: 0, lastMs: 0 };
  private readonly nft: string;
  private readonly procSys: string;
  private readonly ipv6Forwarding: boolean;
  private readonly opts: NftOptions;
  /** Which families' non-lnetd forwarding the base chain drops (decided in init). */
  private drop: ForwardDrop = { ipv4: false, ipv6: false };
  // What this process installed: removal by id needs the bridge and subnets
  // (the map keys). After a restart without restore() the table is read instead.
  private readonly nets = new Map<string, NetRules>();
  private readonly ports = new Map<string, { elem: PortElem; networkId: string }>();
  /** The sysctls a network's rules changed in this process, with their values before: put back when it goes. */
  private readonly changed = new Map<string, Array<{ key: string; before: string }>>();

  constructor(opts: NftOptions = {}) {
    this.nft = opts.nft ?? 'nft';
    this.procSys = opts.procSys ?? '/proc/sys';
    this.ipv6Forwarding = opts.ipv6Forwarding ?? true;
    this.opts = opts;
  }

  /** One atomic transaction; the error names what we were doing and carries nft's message. */
  private async apply(lines: string[], what: string): Promise<void> {
    const t0 = performance.now();
    try {
      await run(this.nft, ['-f', '-'], script(lines));
    } catch (err) {
      throw wrap(`nft: ${what}`, err);
    } finally {
      this.stats.lastMs = performance.now() - t0;
      this.stats.transactions++;
      this.stats.totalMs += this.stats.lastMs;
    }
  }

  /** Write a sysctl when it differs, remembering for network id what it was;
   *  false when it does not exist (no IPv6, no such bridge). */
  private sysctl(key: string, value: string, id?: string): boolean {
    const path = join(this.procSys, ...key.split('/'));
    try {
      const before = readFileSync(path, 'utf8').trim();
      if (before !== value) {
        writeFileSync(path, value);
        if (id) this.changed.set(id, [...(this.changed.get(id) ?? []), { key, before }]);
      }
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw wrap(`sysctl ${key}=${value}`, err);
    }
  }

  /** Forwarding on (logged when lnetd changed it), and which families' other forwarding to drop. */
  private forwarding(): void {
    // Note for operators: with forwarding on, interfaces with accept_ra=1 stop
    // taking router advertisements; hosts on SLAAC set accept_ra=2 (README).
    const r = ensureForwarding({ procSys: this.procSys, ipv6: this.ipv6Forwarding, file: this.opts.forwardingFile, policy: this.opts.forwardDrop ?? 'auto' });
    this.drop = r.drop;
    if (r.changes.length) this.opts.onForwarding?.(r.changes, r.drop);
  }

  /** A table made by another lnetd that is still running is never rebuilt nor changed. */
  private async checkOwner(): Promise<void> {
    const me = this.opts.owner;
    if (!me) return;
    const text = await this.listingText();
    const owner = text === undefined ? undefined : parseOwner(text);
    if (!owner || owner.instance === me.instance) return;
    if (!(this.opts.isLive ?? isLiveLnetd)(owner.pid)) return;
    const e = new Error(`table inet lnetd belongs to another running lnetd (pid ${owner.pid}, instance ${owner.instance}): not touching it; stop that daemon first`) as NodeJS.ErrnoException;
    e.code = 'EOWNED';
    throw e;
  }

  /** Per-bridge and per-namespace settings the network's rules rely on. */
  private bridgeSysctls(n: NetRules): void {
    // Lets the host reach published ports on 127.0.0.1 (output DNAT to a bridge);
    // the guard chain keeps containers off the host's loopback. A missing bridge is
    // the driver's business: the setting is re-applied by restore().
    this.sysctl(`net/ipv4/conf/${n.bridge}/route_localnet`, '1', n.id);
    if (n.icc) return;
    // icc=false filters bridge→same-bridge traffic, which only reaches the inet
    // forward hook through br_netfilter (as with Docker).
    // Loading it is left to the operator (modprobe br_netfilter, or modules-load.d):
    // no process here, and no module loaded behind the host's back.
    this.requireBrNetfilter(n);
    this.sysctl('net/bridge/bridge-nf-call-iptables', '1', n.id);
    this.sysctl('net/bridge/bridge-nf-call-ip6tables', '1', n.id);
  }

  /** Checked before any rule goes in, so a network that can't work changes nothing. */
  private requireBrNetfilter(n: NetRules): void {
    if (n.icc || existsSync(join(this.procSys, 'net', 'bridge', 'bridge-nf-call-iptables'))) return;
    throw wrap(`network ${n.id}: icc=false`, new Error('needs the br_netfilter kernel module (modprobe br_netfilter)'));
  }

  async init(): Promise<void> {
    await this.checkOwner();
    this.forwarding();
    try {
      await this.apply([...declareScript(this.opts.owner), ...baseRulesScript(this.drop)], 'init table inet lnetd');
    } catch (err) {
      // An older, incompatible layout (a map of another type): start from an
      // empty current layout; the caller's restore() puts the networks back.
      if (!isExists(err)) throw err;
      await this.apply(restoreScript([], [], { owner: this.opts.owner, drop: this.drop }), 'replace incompatible table inet lnetd');
      this.nets.clear();
      this.ports.clear();
    }
  }

  async addNetwork(net: FwNetwork): Promise<void> {
    const n = checkNetwork(net);
    this.requireBrNetfilter(n);
    const prev = this.nets.get(n.id);
    const moved = prev && (prev.bridge !== n.bridge || prev.subnet4 !== n.subnet4 || prev.subnet6 !== n.subnet6);
    // A replaced network keyed differently must drop its old elements in the same transaction.
    const lines = moved && prev ? [...removeNetworkScript(prev, []), ...networkScript(n)] : networkScript(n);
    await this.apply(lines, `add network ${n.id} (bridge ${n.bridge})`);
    this.nets.set(n.id, n);
    this.bridgeSysctls(n);
  }

  async removeNetwork(id: string): Promise<void> {
    const tag = checkId(id).slice(0, 12);
    let n = this.nets.get(id);
    let ports = [...this.ports.values()].filter((p) => p.networkId === id).map((p) => p.elem);
    if (!n) {
      const found = await this.discover(tag);
      if (!found) return; // no table: nothing of ours is left
      n = found.net ?? { id, tag, bridge: '', masquerade: false, icc: true, internal: false };
      ports = [...ports, ...found.ports];
    }
    const lines = n.bridge ? removeNetworkScript(n, ports) : orphanChainsScript(tag);
    await this.tolerant(lines, `remove network ${id}`);
    this.nets.delete(id);
    for (const p of ports) this.ports.delete(elemId(p));
    this.putBack(id);
  }

  async addPortMaps(maps: FwPortMap[]): Promise<void> {
    if (maps.length === 0) return;
    const elems = maps.map(portElem);
    try {
      await this.apply(addPortsScript(elems), `publish ${maps.length} port(s)`);
    } catch (err) {
      if (!isExists(err)) throw err;
      const ports = maps.map((m) => `${m.hostIp || '*'}:${m.hostPort}/${m.proto}`).join(', ');
      throw new Conflict(`host port already published by another endpoint: one of ${ports}`, 'PORT_IN_USE');
    }
    elems.forEach((elem, i) => this.ports.set(elemId(elem), { elem, networkId: maps[i].networkId }));
  }

  async removePortMaps(maps: FwPortMap[]): Promise<void> {
    if (maps.length === 0) return;
    const elems = maps.map(portElem);
    try {
      await this.tolerant(removePortsScript(elems), `unpublish ${maps.length} port(s)`);
    } catch (err) {
      if (!isExists(err)) throw err;
      // Some host port now leads elsewhere (not ours any more): delete only the
      // elements that still map to our container.
      const mine = await this.stillMapped(elems);
      if (mine.length) await this.apply(mine.map((p) => `delete element ${TABLE} ${p.map} { ${p.key} }`), 'unpublish ports');
    }
    for (const e of elems) this.ports.delete(elemId(e));
  }

  /** A removed network's sysctls as they were before its rules (a failed
   *  create's undo, or a delete; a bridge that existed before lnetd keeps its
   *  own settings): per-bridge ones at once, the namespace-wide br_netfilter
   *  ones once no remaining network needs them (icc=false). */
  private putBack(id: string): void {
    const ch = this.changed.get(id);
    this.changed.delete(id);
    const stillNeeded = [...this.nets.values()].some((n) => !n.icc);
    for (const { key, before } of (ch ?? []).reverse()) {
      if (key.startsWith('net/bridge/') && stillNeeded) {
        // hand the original value to a network that still relies on the setting
        const heir = [...this.nets.values()].find((n) => !n.icc)!;
        this.changed.set(heir.id, [{ key, before }, ...(this.changed.get(heir.id) ?? []).filter((c) => c.key !== key)]);
        continue;
      }
      const path = join(this.procSys, ...key.split('/'));
      try {
        if (readFileSync(path, 'utf8').trim() !== before) writeFileSync(path, before);
      } catch { /* the bridge went with the network: nothing to put back */ }
    }
  }

  async restore(nets: FwNetwork[], maps: FwPortMap[]): Promise<void> {
    const rules = nets.map(checkNetwork);
    const elems = maps.map(portElem);
    this.forwarding();
    await this.apply(restoreScript(rules, elems, { owner: this.opts.owner, drop: this.drop }), `restore ${rules.length} network(s), ${elems.length} port(s)`);
    this.nets.clear();
    this.ports.clear();
    for (const n of rules) this.nets.set(n.id, n);
    elems.forEach((elem, i) => this.ports.set(elemId(elem), { elem, networkId: maps[i].networkId }));
    for (const n of rules) this.bridgeSysctls(n);
  }

  async destroy(): Promise<void> {
    await this.apply(destroyScript(), 'delete table inet lnetd');
    this.nets.clear();
    this.ports.clear();
  }

  /** A removal whose table is gone has nothing left to remove. */
  private async tolerant(lines: string[], what: string): Promise<void> {
    try {
      await this.apply(lines, what);
    } catch (err) {
      if (!isMissing(err) || (await this.listing()) !== undefined) throw err;
    }
  }

  /** Our table parsed, undefined when it does not exist. */
  private async listing(): Promise<Listing | undefined> {
    const text = await this.listingText();
    return text === undefined ? undefined : parseListing(text);
  }

  /** `nft list table inet lnetd` as text, undefined when the table does not exist. */
  private async listingText(): Promise<string | undefined> {
    try {
      // The command goes on stdin: nft reads all of it before it exits, so our
      // write never hits a closed pipe (a bare `nft list` may exit first: EPIPE).
      const { stdout } = await run(this.nft, ['-f', '-'], `list table ${TABLE}\n`);
      return stdout;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw wrap('nft: list table inet lnetd', err);
    }
  }

  /** Read a network's keys back from the kernel (after a restart without restore). */
  private async discover(tag: string): Promise<{ net?: NetRules; ports: PortElem[] } | undefined> {
    const l = await this.listing();
    if (!l) return undefined;
    const net = l.networks.get(tag);
    return { net, ports: net ? portsOfNetwork(net, l.ports) : [] };
  }

  private async stillMapped(elems: PortElem[]): Promise<PortElem[]> {
    const l = await this.listing();
    if (!l) return [];
    const now = new Set(l.ports.map((p) => `${elemId(p)} : ${p.value}`));
    return elems.filter((p) => now.has(`${elemId(p)} : ${p.value}`));
  }
}

/** Chains of a network whose elements are gone already: add-then-delete, missing is fine. */
function orphanChainsScript(tag: string): string[] {
  const names = Object.values(chains(tag));
  return [...names.map((c) => `add chain ${TABLE} ${c}`), ...names.flatMap((c) => [`flush chain ${TABLE} ${c}`, `delete chain ${TABLE} ${c}`])];
}
