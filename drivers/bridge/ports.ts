// Published ports of an endpoint as firewall DNAT map entries. A binding on
// every host address ('') is published for each address family the endpoint
// has; 0.0.0.0 and :: only for their own family. The families published are
// also the ones whose host port lnetd reserves (daemon/controller/ports.ts).

import type { EndpointRecord, NetworkRecord } from '../../store/records.js';
import type { FwPortMap } from '../linux/firewall.js';
import { canonHostIp, hostScope } from '../ipam/ports.js';

const PROTO: Record<number, FwPortMap['proto']> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

const address = (cidr?: string): string | undefined => cidr?.split('/')[0];

/** The families a binding on hostIp is published for: those the host address
 *  covers and the endpoint has an address of; none on an internal network. */
export function publishedFamilies(net: Pick<NetworkRecord, 'internal' | 'enableIpv6'>, ep: Pick<EndpointRecord, 'ipv4' | 'ipv6'>, hostIp: string): Array<4 | 6> {
  if (net.internal) return [];  // an internal network has no way in from the host's addresses
  const covers = hostScope(canonHostIp(hostIp) ?? hostIp).families;
  const has = { 4: !!ep.ipv4, 6: net.enableIpv6 && !!ep.ipv6 };
  return covers.filter((f) => has[f]);
}

export function portMaps(net: NetworkRecord, ep: EndpointRecord, bridge: string): FwPortMap[] {
  const containerIps = { 4: address(ep.ipv4), 6: address(ep.ipv6) };
  const out: FwPortMap[] = [];
  for (const b of ep.portMapping) {
    const proto = PROTO[b.proto];
    if (!proto || !b.hostPort) continue;
    for (const family of publishedFamilies(net, ep, b.hostIp)) {
      out.push({ networkId: net.id, proto, hostIp: b.hostIp, hostPort: b.hostPort, containerIp: containerIps[family]!, containerPort: b.port, bridge });
    }
  }
  return out;
}
