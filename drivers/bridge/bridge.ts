// The bridge driver: one Linux bridge per network holding the gateway
// addresses, one veth pair per joined endpoint (host side on the bridge, the
// other end created straight inside the sandbox), and the network's firewall
// rules. IPAM is the controller's: it fills the network's subnets and the
// endpoint's addresses and MAC before calling us.

import { BadRequest, Conflict } from '../../errors/index.js';
import type { EndpointRecord, NetworkRecord } from '../../store/records.js';
import type { Driver, DriverContext, DriverRecords, FirewallRules, JoinedState, JoinTarget, NetworkSettings, OwnedObject, RestoreOptions } from '../driver.js';
import type { FwNetwork } from '../linux/firewall.js';
import type { LinkInfo, SetupConfig } from '../linux/kernel.js';
import { parseBridgeOptions, validateNetwork, type BridgeOptions } from './options.js';
import { portMaps } from './ports.js';
import { context, teardown, Undo } from './steps.js';

/** What createNetwork returns, persisted as the record's `driver` state. */
export interface BridgeState {
  bridge: string;          // bridge interface name
  mtu: number;             // MTU of the bridge and every veth on it
  createdBridge: boolean;  // false when the bridge existed before: then it is not ours to delete
  mac?: string;            // the bridge's MAC, so a restore gives containers the same gateway MAC
}

export const DEFAULT_MTU = 1500;
export const defaultBridgeName = (netId: string): string => `lnet-${netId.slice(0, 8)}`;
export const hostVethName = (epId: string): string => `lv${epId.slice(0, 11)}`;
/** The names this driver gives (DESIGN "Kernel rules"): only links named so are ever ours to sweep. */
const OUR_BRIDGE = /^lnet-[0-9a-f]{8}$/;
const OUR_VETH = /^lv[0-9a-f]{11}$/;

/** Where LNETD_FAULT may kill the daemon inside this driver, in operation order. */
export const BRIDGE_FAULT_STEPS = [
  'createNetwork:after-bridge', 'createNetwork:after-addr', 'createNetwork:after-firewall',
  'deleteNetwork:after-firewall', 'deleteNetwork:after-bridge',
  'join:after-veth', 'join:after-setup', 'join:after-portmap',
  'leave:after-portmap', 'leave:after-veth',
] as const;

const prefixOf = (cidr: string): string => cidr.split('/')[1] ?? '';

/** The kernel refused the bridge another port (EXFULL): the network is full, not lnetd broken. */
function full(net: NetworkRecord, bridge: string): Conflict {
  return new Conflict(`network ${net.name} is full: its bridge ${bridge} has 1023 ports, the most a Linux bridge takes; leave a container first or use another network`, 'NETWORK_FULL');
}

/** Read persisted state, falling back to what a record without state implies
 *  (a create that crashed before its state was stored). */
export function bridgeState(net: NetworkRecord): BridgeState {
  const d = net.driver;
  const o = parseBridgeOptions(net.options);
  const bridge = typeof d.bridge === 'string' ? d.bridge : o.bridgeName ?? defaultBridgeName(net.id);
  const st: BridgeState = {
    bridge,
    mtu: typeof d.mtu === 'number' ? d.mtu : o.mtu ?? DEFAULT_MTU,
    // without a record of it, only a bridge with our own default name is ours
    createdBridge: typeof d.createdBridge === 'boolean' ? d.createdBridge : bridge === defaultBridgeName(net.id),
  };
  if (typeof d.mac === 'string') st.mac = d.mac;
  return st;
}

/** The endpoint's addresses inside the sandbox: the primary of each family, then the rest. */
export function endpointCidrs(net: NetworkRecord, ep: EndpointRecord): string[] {
  const v6 = (cidr: string) => cidr.includes(':');
  return [ep.ipv4, ep.ipv6, ...(ep.extraAddresses ?? [])].filter((a): a is string => !!a && (net.enableIpv6 || !v6(a)));
}

/** Gateway addresses of the bridge, with the subnet's prefix length. */
function gatewayCidrs(net: NetworkRecord): string[] {
  const out: string[] = [];
  if (net.ipv4) out.push(`${net.ipv4.gateway}/${prefixOf(net.ipv4.subnet)}`);
  if (net.enableIpv6 && net.ipv6) out.push(`${net.ipv6.gateway}/${prefixOf(net.ipv6.subnet)}`);
  return out;
}

function fwNetwork(net: NetworkRecord, bridge: string, o: BridgeOptions): FwNetwork {
  const fw: FwNetwork = { id: net.id, bridge, masquerade: o.masquerade, icc: o.icc, internal: net.internal };
  if (net.ipv4) fw.subnet4 = net.ipv4.subnet;
  if (net.enableIpv6 && net.ipv6) fw.subnet6 = net.ipv6.subnet;
  return fw;
}

export class BridgeDriver implements Driver {
  readonly type = 'bridge';
  readonly scope = 'local';
  readonly sandbox = 'own';
  /** createEndpoint/deleteEndpoint touch no kernel object (the veth lives from join to leave):
   *  no journal intent for them. Set true if they ever make something that outlives lnetd. */
  readonly endpointKernelWork = false;
  readonly faultSteps = BRIDGE_FAULT_STEPS;
  /** Bridge name -> network id: two networks must never share a bridge. */
  private readonly bridges = new Map<string, string>();

  constructor(private readonly ctx: DriverContext) {}

  /** A named step for crash tests: the daemon may be killed right here. */
  private step(name: string): void {
    this.ctx.fault?.(name);
  }

  /** lnetd's firewall table: made (or taken over) before any network is restored. */
  async init(): Promise<void> {
    await this.ctx.firewall.init();
  }

  async close(): Promise<void> {}

  validateNetwork(raw: Record<string, unknown>): NetworkSettings {
    return validateNetwork(raw);
  }

  private claim(bridge: string, netId: string): void {
    const owner = this.bridges.get(bridge);
    if (owner && owner !== netId) throw new Conflict(`bridge ${bridge} already belongs to network ${owner.slice(0, 12)}`, 'NAME_IN_USE');
    this.bridges.set(bridge, netId);
  }

  private release(bridge: string, netId: string): void {
    if (this.bridges.get(bridge) === netId) this.bridges.delete(bridge);
  }

  /** MTU of the interface the host's IPv4 default route leaves by, else 1500. */
  private async hostMtu(): Promise<number> {
    const k = this.ctx.kernel;
    const def = (await k.routes()).find((r) => r.family === 4 && r.dst === 'default' && r.index !== undefined);
    const dev = def && (await k.links()).find((l) => l.index === def.index);
    return dev?.mtu || DEFAULT_MTU;
  }

  async createNetwork(net: NetworkRecord): Promise<Record<string, unknown>> {
    const k = this.ctx.kernel;
    const o = parseBridgeOptions(net.options);
    const bridge = o.bridgeName ?? defaultBridgeName(net.id);
    this.claim(bridge, net.id);
    const undo = new Undo();
    undo.push(async () => this.release(bridge, net.id));
    try {
      const have = await k.link(bridge);
      // a name the request gave that another kind of interface holds is the caller's conflict, not our fault
      if (have && have.kind !== 'bridge') throw new Conflict(`interface ${bridge} exists and is not a bridge: choose another com.docker.network.bridge.name`, 'NAME_IN_USE');
      const existed = have !== undefined;
      const mtu = o.mtu ?? have?.mtu ?? (await this.hostMtu());
      // a bridge that was there before keeps its MTU unless one was asked for
      const br = await k.ensureBridge(bridge, existed ? (o.mtu ? { mtu } : {}) : { mtu, alias: this.ctx.mark });
      if (!existed) undo.push(() => k.deleteLink(bridge));
      this.step('createNetwork:after-bridge');
      await this.plumbNetwork(net, bridge, o, undo);
      this.step('createNetwork:after-firewall');
      const state: BridgeState = { bridge, mtu: br.mtu || mtu, createdBridge: !existed, mac: br.mac };
      return { ...state };
    } catch (err) {
      return undo.fail(context(`create bridge network ${net.name}`, err));
    }
  }

  /** Gateway addresses, forwarding, firewall rules: the idempotent part, shared with restore. */
  private async plumbNetwork(net: NetworkRecord, bridge: string, o: BridgeOptions, undo?: Undo, firewall = true): Promise<void> {
    const k = this.ctx.kernel;
    for (const cidr of gatewayCidrs(net)) {
      await k.addAddress(bridge, cidr);
      undo?.push(() => k.deleteAddress(bridge, cidr));
    }
    if (undo) this.step('createNetwork:after-addr');
    // an internal network routes nothing, so it needs no forwarding; a create
    // that fails puts back what it changed
    if (!net.internal) {
      const before = await k.readSysctl('net/ipv4/ip_forward');
      if (before !== '1') {
        await k.writeSysctl('net/ipv4/ip_forward', '1');
        undo?.push(() => k.writeSysctl('net/ipv4/ip_forward', before));
      }
    }
    if (!firewall) return;
    await this.ctx.firewall.addNetwork(fwNetwork(net, bridge, o));
    undo?.push(() => this.ctx.firewall.removeNetwork(net.id));
  }

  async deleteNetwork(net: NetworkRecord): Promise<void> {
    const k = this.ctx.kernel;
    const st = bridgeState(net);
    await teardown(`delete bridge network ${net.name}`, [
      async () => { await this.ctx.firewall.removeNetwork(net.id); this.step('deleteNetwork:after-firewall'); },
      // a bridge we did not make stays; only our gateway addresses leave it
      st.createdBridge
        ? () => k.deleteLink(st.bridge)
        : () => teardown(`remove gateway addresses from ${st.bridge}`, gatewayCidrs(net).map((c) => () => k.deleteAddress(st.bridge, c))),
      async () => this.step('deleteNetwork:after-bridge'),
    ]);
    this.release(st.bridge, net.id);
  }

  async createEndpoint(_net: NetworkRecord, _ep: EndpointRecord): Promise<Record<string, unknown>> {
    // Nothing to store: the host end's name is derived from the endpoint id
    // (hostVethName), and the veth itself is made at join.
    return {};
  }

  async deleteEndpoint(_net: NetworkRecord, _ep: EndpointRecord): Promise<void> {
    // The veth exists only while joined: leave deletes it, or the sandbox's
    // deletion reaps it in the background (touching it here would make the
    // delete synchronous again). Start-up reconcile removes any a crash left.
  }

  async join(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget): Promise<void> {
    if (target.isDefault) {
      // the sandbox would be the host's own namespace, where eth<N> may be a real interface
      throw new BadRequest(`bridge network ${net.name} can't be joined in the host's namespace (use_default_sandbox)`, 'NOT_SUPPORTED');
    }
    const k = this.ctx.kernel;
    const st = bridgeState(net);
    const veth = hostVethName(ep.id);
    const undo = new Undo();
    try {
      const addresses = endpointCidrs(net, ep);
      const routes = target.gatewayProvider && !net.internal ? this.defaultRoutes(net, ep.routeMetric) : [];
      // the pair, then its sandbox end up with addresses and routes: one round of kernel requests
      await this.createVeth(net, veth, st, ep, target, { addresses, routes, ipv6: net.enableIpv6 });
      // addresses and routes inside the sandbox go with the veth
      undo.push(() => k.deleteLink(veth));
      this.step('join:after-veth');
      this.step('join:after-setup');
      const maps = portMaps(net, ep, st.bridge);
      if (maps.length) {
        await this.ctx.firewall.addPortMaps(maps);
        undo.push(() => this.ctx.firewall.removePortMaps(maps));
      }
      this.step('join:after-portmap');
    } catch (err) {
      await undo.fail(context(`join endpoint ${ep.name} to network ${net.name}`, err));
    }
  }

  /** A host end left by a sandbox the kernel is still reaping is deleted, then we retry once. */
  private async createVeth(net: NetworkRecord, veth: string, st: BridgeState, ep: EndpointRecord, target: JoinTarget, setup: SetupConfig): Promise<void> {
    const spec = { name: veth, master: st.bridge, mtu: st.mtu, hairpin: true, alias: this.ctx.mark, peer: { name: target.ifname, ns: target.key, mac: ep.mac } };
    try {
      await this.ctx.kernel.createVeth(spec, setup);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EXFULL') throw full(net, st.bridge);
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      await this.ctx.kernel.deleteLink(veth);
      try {
        await this.ctx.kernel.createVeth(spec, setup);
      } catch (again) {
        // not our leftover: the name is taken inside the runtime's namespace
        if ((again as NodeJS.ErrnoException).code === 'EXFULL') throw full(net, st.bridge);
        if ((again as NodeJS.ErrnoException).code === 'EEXIST') throw new Conflict(`interface ${target.ifname} already exists in the sandbox of container ${target.containerId}`, 'NAME_IN_USE');
        throw again;
      }
    }
  }

  joined(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget): JoinedState {
    const addresses = endpointCidrs(net, ep);
    return {
      interfaces: [{ name: target.ifname, addresses, mac: ep.mac }],
      routes: target.gatewayProvider && !net.internal ? this.defaultRoutes(net, ep.routeMetric) : [],
    };
  }

  givesDefaultRoute(net: NetworkRecord): boolean {
    return !net.internal && (!!net.ipv4 || (net.enableIpv6 && !!net.ipv6));
  }

  /** The sandbox's default route now goes through this network's gateway(s). */
  async takeDefaultRoute(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget): Promise<void> {
    for (const r of this.defaultRoutes(net, ep.routeMetric)) await this.ctx.kernel.addRoute(r, target.key);
  }

  /** Bridges and host-side veths named like ours. */
  async owned(links?: readonly LinkInfo[]): Promise<OwnedObject[]> {
    const out: OwnedObject[] = [];
    for (const l of links ?? await this.ctx.kernel.links()) {
      if ((l.kind === 'bridge' && OUR_BRIDGE.test(l.name)) || (l.kind === 'veth' && OUR_VETH.test(l.name))) out.push({ kind: 'link', name: l.name, linkKind: l.kind });
    }
    return out;
  }

  /** Each network's bridge, each joined endpoint's host veth, and what unreadable records could name. */
  implied(r: DriverRecords): OwnedObject[] {
    const bridge = (name: string): OwnedObject => ({ kind: 'link', name, linkKind: 'bridge' });
    const veth = (name: string): OwnedObject => ({ kind: 'link', name, linkKind: 'veth' });
    return [
      ...r.networks.flatMap((n) => [bridge(defaultBridgeName(n.id)), bridge(bridgeState(n).bridge)]),
      ...r.unreadable.networks.map((id) => bridge(defaultBridgeName(id))),
      ...r.endpoints.filter((e) => e.container).map((e) => veth(hostVethName(e.id))),
      ...r.unreadable.endpoints.map((id) => veth(hostVethName(id))),
    ];
  }

  async removeOwned(obj: OwnedObject): Promise<void> {
    await this.ctx.kernel.deleteLink(obj.name);
  }

  private defaultRoutes(net: NetworkRecord, metric?: number): Array<{ dst: string; gateway: string; metric?: number }> {
    const out: Array<{ dst: string; gateway: string; metric?: number }> = [];
    if (net.ipv4) out.push({ dst: 'default', gateway: net.ipv4.gateway, metric });
    if (net.enableIpv6 && net.ipv6) out.push({ dst: 'default', gateway: net.ipv6.gateway, metric });
    return out;
  }

  async leave(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget): Promise<void> {
    const st = bridgeState(net);
    const maps = portMaps(net, ep, st.bridge);
    await teardown(`leave endpoint ${ep.name} of network ${net.name}`, [
      async () => { if (maps.length) await this.ctx.firewall.removePortMaps(maps); this.step('leave:after-portmap'); },
      // the host side lives in our namespace, so this works when the sandbox is gone
      async () => {
        // A sandbox about to be deleted takes the pair with it when the kernel
        // reaps the namespace, far cheaper than a delete in line. Its host end
        // goes down first: if a process still holds the namespace, the
        // namespace (and the pair) outlive our mount, and the container must
        // be cut off now, not when that process exits.
        if (target.sandboxGoing) await this.ctx.kernel.setLinkDown(hostVethName(ep.id));
        else await this.ctx.kernel.deleteLink(hostVethName(ep.id));
        this.step('leave:after-veth');
      },
    ]);
  }

  async restore(net: NetworkRecord, eps: EndpointRecord[], opts: RestoreOptions = {}): Promise<void> {
    const st = bridgeState(net);
    this.claim(st.bridge, net.id);
    const want: { mtu?: number; mac?: string; alias?: string } = { mtu: st.mtu };
    if (st.mac) want.mac = st.mac;
    // a bridge lnetd made carries its mark (also one made before marks existed)
    if (st.createdBridge && this.ctx.mark) want.alias = this.ctx.mark;
    await this.ctx.kernel.ensureBridge(st.bridge, want);
    await this.plumbNetwork(net, st.bridge, parseBridgeOptions(net.options), undefined, opts.firewall !== false);
    if (opts.firewall === false) return;
    const maps = eps.filter((e) => e.container).flatMap((e) => portMaps(net, e, st.bridge));
    if (maps.length) await this.ctx.firewall.addPortMaps(maps);
  }

  firewallRules(net: NetworkRecord, eps: EndpointRecord[]): FirewallRules {
    const st = bridgeState(net);
    const ports = eps.filter((e) => e.container).flatMap((e) => portMaps(net, e, st.bridge));
    return { network: fwNetwork(net, st.bridge, parseBridgeOptions(net.options)), ports };
  }
}
