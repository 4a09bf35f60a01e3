// What a container's resolv.conf says. On a network with DNS on it points at
// lnetd's resolver (the gateway of the first such network it joined), with
// `options ndots:0` as Docker writes it, so a dotted name is asked as given
// before any search domain; the join's `dns` servers then become the
// resolver's upstreams for that container. Elsewhere it lists the join's
// `dns` or the host's own servers (those on the host's loopback only for a
// container in the host's namespace, where they answer).

import type { EndpointRecord, NetworkRecord, SandboxRecord } from '../../store/records.js';
import { dnsEnabled } from './feed.js';
import type { ResolvConf } from './upstream.js';

export interface ResolvPlan {
  comment?: string;
  nameservers: string[];
  search: string[];
  options: string[];
}

const loopback = (a: string) => a.startsWith('127.') || a === '::1';

export function resolvPlan(sb: SandboxRecord, joined: EndpointRecord[], network: (id: string) => NetworkRecord | undefined, host: ResolvConf, dnsOn: boolean): ResolvPlan {
  const search = sb.dnsSearch?.length ? sb.dnsSearch : sb.domainName ? [sb.domainName] : host.search;
  const own = sb.dnsOptions?.length ? sb.dnsOptions : host.options;
  const first = dnsOn && !sb.isDefault ? joined.map((e) => network(e.networkId)).find((n) => n && dnsEnabled(n)) : undefined;
  if (first?.ipv4) {
    const ups = sb.dns.length ? sb.dns : host.nameservers;
    return {
      comment: `lnetd resolver on ${first.name}; other names forwarded to ${first.internal ? 'nobody (internal network)' : ups.join(' ') || 'nobody (no upstream)'}`,
      nameservers: [first.ipv4.gateway],
      search,
      options: own.some((o) => o.startsWith('ndots:')) ? own : ['ndots:0', ...own],
    };
  }
  const servers = sb.dns.length ? sb.dns : host.nameservers.filter((a) => sb.isDefault || !loopback(a));
  return { nameservers: servers, search, options: own };
}
