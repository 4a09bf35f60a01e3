// From records to the resolver's table. The feed is told which networks,
// endpoints and containers a commit touched and re-reads exactly those from
// the controller's queries, so it works the same whether it is driven by the
// commit path or by the event stream.

import { addrText, parseAddr } from '../../drivers/ipam/addr.js';
import { OPT_ENABLE_DNS } from '../../drivers/bridge/options.js';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from '../../store/records.js';
import type { DnsEndpoint, DnsNetwork } from './table.js';
import type { Resolver } from './resolver.js';

/** Per-network switch: the bridge option `com.docker.network.bridge.enable_dns` (short: `dns_enabled`, netavark's word). */
export { OPT_ENABLE_DNS };

/** What the feed reads: the controller's queries. */
export interface FeedSource {
  networks(): Iterable<NetworkRecord>;
  network(id: string): NetworkRecord | undefined;
  endpoint(id: string): EndpointRecord | undefined;
  networkEndpoints(id: string): EndpointRecord[];
  sandbox(containerId: string): SandboxRecord | undefined;
}

/** What one commit touched. */
export interface Touched { networks: string[]; endpoints: string[]; containers: string[] }

const canon = (cidr?: string): string | undefined => {
  const a = cidr?.split('/')[0];
  const p = a ? parseAddr(a) : undefined;
  return p ? addrText(p.family, p.value) : undefined;
};

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;
/** A name a DNS query can carry: labels of 1-63 bytes, 253 in all. */
export const dnsName = (n: string): boolean => n.length > 0 && n.length <= 253 && n.split('.').every((l) => LABEL.test(l));

export function dnsEnabled(n: NetworkRecord): boolean {
  return n.type === 'bridge' && !!n.ipv4 && n.options[OPT_ENABLE_DNS] !== 'false';
}

export function dnsNetwork(n: NetworkRecord): DnsNetwork {
  return {
    id: n.id, name: n.name, enabled: dnsEnabled(n), internal: n.internal, gateway4: n.ipv4?.gateway,
    subnets: [n.ipv4?.subnet, n.enableIpv6 ? n.ipv6?.subnet : undefined].filter((s): s is string => !!s),
  };
}

/** Every name a joined endpoint answers to; the first is what its addresses' PTR names. */
export function endpointNames(ep: EndpointRecord, sb: SandboxRecord): string[] {
  const aliases = (ep as { aliases?: unknown }).aliases;
  const base = [
    sb.hostName,
    ep.name.replace(/^\//, ''),
    ...(Array.isArray(aliases) ? aliases.filter((a): a is string => typeof a === 'string') : []),
    sb.containerId,
    sb.containerId.slice(0, 12),
  ].filter((n): n is string => !!n).map((n) => n.toLowerCase());
  const domain = sb.domainName?.toLowerCase().replace(/\.$/, '');
  const names = domain ? [...base.map((n) => `${n}.${domain}`), ...base] : base;
  return [...new Set(names)].filter(dnsName);
}

export function dnsEndpoint(ep: EndpointRecord, sb: SandboxRecord | undefined): DnsEndpoint | undefined {
  if (!ep.container || !sb || sb.isDefault) return undefined;
  const v4 = canon(ep.ipv4);
  const v6 = canon(ep.ipv6);
  if (!v4 && !v6) return undefined;
  return { id: ep.id, networkId: ep.networkId, containerId: ep.container, names: endpointNames(ep, sb), v4, v6 };
}

export class Feed {
  constructor(private readonly resolver: Resolver, private readonly src: FeedSource) {}

  /** Everything from scratch (start-up). */
  loadAll(): void {
    const ids = [...this.src.networks()].map((n) => n.id);
    const eps = ids.flatMap((id) => this.src.networkEndpoints(id).map((e) => e.id));
    const ctrs = new Set(eps.map((id) => this.src.endpoint(id)?.container).filter((c): c is string => !!c));
    this.apply({ networks: ids, endpoints: eps, containers: [...ctrs] });
  }

  /** Re-read what a commit touched; synchronous, so the table changes in the commit's step. */
  apply(t: Touched): void {
    const table = this.resolver.table;
    let listeners = false;
    for (const id of t.networks) {
      const n = this.src.network(id);
      const before = table.networks.get(id);
      if (!n) {
        if (before) { table.dropNetwork(id); listeners = true; }
        continue;
      }
      const dn = dnsNetwork(n);
      if (!before || before.gateway4 !== dn.gateway4 || before.enabled !== dn.enabled) listeners = true;
      table.setNetwork(dn);
    }
    const eps = new Set(t.endpoints);
    for (const cid of t.containers) {
      const sb = this.src.sandbox(cid);
      table.setContainer(cid, sb && !sb.isDefault ? { endpoints: sb.endpoints, domain: sb.domainName, dns: sb.dns } : undefined);
      for (const id of sb?.endpoints ?? []) eps.add(id);
    }
    for (const id of eps) {
      const ep = this.src.endpoint(id);
      const entry = ep && dnsEndpoint(ep, ep.container ? this.src.sandbox(ep.container) : undefined);
      if (entry) table.setEndpoint(entry);
      else table.dropEndpoint(id);
    }
    if (listeners) void this.resolver.syncListeners();
  }
}
