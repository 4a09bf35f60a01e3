// The wire format: controller records to dockerd's JSON, field for field
// (api/types/network: Network, EndpointResource, IPAMConfig), in dockerd's
// order. A container joined through the seed API shows in `Containers` like
// one connected through this surface: one set of objects.

import type { EndpointRecord, NetworkRecord, SubnetRecord } from '../../../store/records.js';

export const PREDEFINED_NAMES = ['bridge', 'host', 'none'];
export const isPredefined = (name: string): boolean => PREDEFINED_NAMES.includes(name);

/** Created: RFC 3339 with fractional seconds, as Go marshals a time (trailing zeros dropped). */
export function created(iso: string): string {
  return iso.replace(/\.(\d*?)0+Z$/, (_, d: string) => (d ? `.${d}Z` : 'Z'));
}

function ipamConfig(s: SubnetRecord) {
  return {
    Subnet: s.subnet,
    ...(s.ipRange ? { IPRange: s.ipRange } : {}),
    Gateway: s.gateway,
    ...(Object.keys(s.aux).length ? { AuxiliaryAddresses: s.aux } : {}),
  };
}


/** Containers: keyed by container id, or "ep-<endpoint id>" for an endpoint no container has joined. */
export function containers(eps: EndpointRecord[]) {
  const out: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }> = {};
  for (const e of eps) {
    out[e.container ?? `ep-${e.id}`] = { Name: e.name.replace(/^\//, ''), EndpointID: e.id, MacAddress: e.mac ?? '', IPv4Address: e.ipv4 ?? '', IPv6Address: e.ipv6 ?? '' };
  }
  return out;
}

export const labelsOf = (n: NetworkRecord): Record<string, string> => n.labels ?? {};
const attachableOf = (n: NetworkRecord): boolean => n.attachable ?? false;

/** dockerd's network object; `eps` fills Containers (a listing passes none: API ≥ 1.28 lists without them). */
export function network(n: NetworkRecord, eps: EndpointRecord[] | undefined) {
  const subnets = [n.ipv4, n.ipv6].filter((s): s is SubnetRecord => !!s);
  return {
    Name: n.name,
    Id: n.id,
    Created: created(n.created),
    Scope: 'local',
    Driver: n.type,
    EnableIPv4: !!n.ipv4,
    EnableIPv6: n.enableIpv6,
    IPAM: { Driver: 'default', Options: n.predefined ? null : {}, Config: subnets.length ? subnets.map(ipamConfig) : n.predefined ? null : [] },
    Internal: n.internal,
    Attachable: attachableOf(n),
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: eps ? containers(eps) : {},
    Options: n.options,
    Labels: labelsOf(n),
  };
}

