// The resolver's record table: which names answer with which addresses, on
// which network, and who is asking. It holds only joined endpoints of
// networks with DNS on, indexed three ways: (network, name) → endpoints for
// lookups, address → endpoint to know the asker (subnets of lnetd's networks
// do not overlap, so a source address names one endpoint) and for PTR, and
// container → its endpoints in join order (the networks it may see).
// Pure and synchronous: the feed changes it in the same step as the commit.

export interface DnsNetwork {
  id: string;
  name: string;
  enabled: boolean;          // DNS on for this network (the per-network option)
  internal: boolean;         // no forwarding outside for containers only on internal networks
  gateway4?: string;         // where the resolver listens for this network
  subnets: string[];         // CIDRs: PTR inside them is ours (NXDOMAIN when unassigned)
}

export interface DnsEndpoint {
  id: string;
  networkId: string;
  containerId: string;
  names: string[];           // lower case, no trailing dot; the first one is the PTR target
  v4?: string;
  v6?: string;
}

export interface Asker {
  containerId: string;
  /** The container's networks with DNS on, in join order. */
  networks: DnsNetwork[];
  /** Domain names lnetd answers under for this asker (domain_name of containers it shares a network with). */
  domains: Set<string>;
  /** Forwarding allowed: at least one of its networks is not internal. */
  forward: boolean;
  /** The join's own `dns` servers (override the host's upstreams for this container). */
  upstreams: string[];
}

export interface DnsContainer { endpoints: string[]; domain?: string; dns: string[] }

export interface Found { v4: string[]; v6: string[] }

/** Names as the table keys them: lower case, no trailing dot. */
export const normName = (n: string): string => (n.endsWith('.') ? n.slice(0, -1) : n).toLowerCase();

export class DnsTable {
  readonly networks = new Map<string, DnsNetwork>();
  private readonly eps = new Map<string, DnsEndpoint>();
  private readonly byName = new Map<string, Map<string, Set<string>>>();
  private readonly byAddr = new Map<string, string>();
  /** network → its endpoint ids */
  private readonly byNet = new Map<string, Set<string>>();
  /** container → endpoint ids in join order, and its domain name. */
  private readonly containers = new Map<string, DnsContainer>();
  /** Bumped on every change: answers cached against it stay right. */
  version = 0;
  private readonly askers = new Map<string, Asker | undefined>();
  /** network → the domain names of its containers, built once per version (every asker of a network shares it). */
  private readonly domainsByNet = new Map<string, Set<string>>();

  private bump(): void {
    this.version++;
    if (this.askers.size) this.askers.clear();
    if (this.domainsByNet.size) this.domainsByNet.clear();
  }

  setNetwork(n: DnsNetwork): void {
    this.bump();
    this.networks.set(n.id, n);
    if (!this.byName.has(n.id)) this.byName.set(n.id, new Map());
  }

  dropNetwork(id: string): void {
    this.bump();
    for (const epId of [...(this.byNet.get(id) ?? [])]) this.dropEndpoint(epId);
    this.byNet.delete(id);
    this.networks.delete(id);
    this.byName.delete(id);
  }

  endpoint(id: string): DnsEndpoint | undefined {
    return this.eps.get(id);
  }

  setEndpoint(e: DnsEndpoint): void {
    this.dropEndpoint(e.id);
    this.bump();
    this.eps.set(e.id, e);
    let names = this.byName.get(e.networkId);
    if (!names) this.byName.set(e.networkId, (names = new Map()));
    for (const n of e.names) {
      let set = names.get(n);
      if (!set) names.set(n, (set = new Set()));
      set.add(e.id);
    }
    for (const a of [e.v4, e.v6]) if (a) this.byAddr.set(a, e.id);
    let mine = this.byNet.get(e.networkId);
    if (!mine) this.byNet.set(e.networkId, (mine = new Set()));
    mine.add(e.id);
  }

  dropEndpoint(id: string): void {
    const e = this.eps.get(id);
    if (!e) return;
    this.bump();
    this.eps.delete(id);
    const names = this.byName.get(e.networkId);
    for (const n of e.names) {
      const set = names?.get(n);
      set?.delete(id);
      if (set && set.size === 0) names!.delete(n);
    }
    for (const a of [e.v4, e.v6]) if (a && this.byAddr.get(a) === id) this.byAddr.delete(a);
    const mine = this.byNet.get(e.networkId);
    mine?.delete(id);
    if (mine && mine.size === 0) this.byNet.delete(e.networkId);
  }

  setContainer(containerId: string, c: DnsContainer | undefined): void {
    this.bump();
    if (!c || c.endpoints.length === 0) this.containers.delete(containerId);
    else this.containers.set(containerId, { ...c, domain: c.domain ? normName(c.domain) : undefined });
  }

  /** Who sent a query from this address, or undefined for a stranger (never answered). */
  asker(addr: string): Asker | undefined {
    if (this.askers.has(addr)) return this.askers.get(addr);
    const a = this.findAsker(addr);
    if (this.askers.size > 65_536) this.askers.clear();
    this.askers.set(addr, a);
    return a;
  }

  private findAsker(addr: string): Asker | undefined {
    const epId = this.byAddr.get(addr);
    const e = epId && this.eps.get(epId);
    if (!e) return undefined;
    const ctr = this.containers.get(e.containerId);
    const ids = ctr?.endpoints ?? [e.id];
    const networks: DnsNetwork[] = [];
    for (const id of ids) {
      const n = this.networks.get(this.eps.get(id)?.networkId ?? '');
      if (n?.enabled && !networks.includes(n)) networks.push(n);
    }
    const domains = new Set<string>();
    for (const n of networks) for (const d of this.networkDomains(n.id)) domains.add(d);
    return { containerId: e.containerId, networks, domains, forward: networks.some((n) => !n.internal), upstreams: ctr?.dns ?? [] };
  }

  /** The domain names of a network's containers: one pass over that network's endpoints (not every
   *  endpoint of every network) per change of the table, shared by all its askers. */
  private networkDomains(netId: string): Set<string> {
    let out = this.domainsByNet.get(netId);
    if (out) return out;
    out = new Set<string>();
    for (const id of this.byNet.get(netId) ?? []) {
      const d = this.containers.get(this.eps.get(id)?.containerId ?? '')?.domain;
      if (d) out.add(d);
    }
    this.domainsByNet.set(netId, out);
    return out;
  }

  /** A name on the asker's networks: the first network (in join order) that has it answers. */
  lookup(asker: Asker, name: string): Found | undefined {
    for (const n of asker.networks) {
      const ids = this.byName.get(n.id)?.get(name);
      if (!ids || ids.size === 0) continue;
      const out: Found = { v4: [], v6: [] };
      for (const id of ids) {
        const e = this.eps.get(id)!;
        if (e.v4) out.v4.push(e.v4);
        if (e.v6) out.v6.push(e.v6);
      }
      return out;
    }
    return undefined;
  }

  /** The name for an address, when its endpoint shares a network with the asker. */
  ptr(asker: Asker, addr: string): string | undefined {
    const e = this.eps.get(this.byAddr.get(addr) ?? '');
    if (!e || !asker.networks.some((n) => n.id === e.networkId)) return undefined;
    return e.names[0];
  }

  get size(): number {
    return this.eps.size;
  }
}
