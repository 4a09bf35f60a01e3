// Published ports of an endpoint as firewall DNAT map entries. A binding on
// every host address ('') is published for each address family the endpoint
// has; 0.0.0.0 and :: only for their own family.

import { isIP } from 'node:net';
import type { EndpointRecord, NetworkRecord } from '../../store/records.js';
import type { FwPortMap } from '../linux/firewall.js';

const PROTO: Record<number, FwPortMap['proto']> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

const address = (cidr?: string): string | undefined => cidr?.split('/')[0];

export function portMaps(net: NetworkRecord, ep: EndpointRecord, bridge: string): FwPortMap[] {
  if (net.internal) return [];  // an internal network has no way in from the host's addresses
  const v4 = address(ep.ipv4);
  const v6 = net.enableIpv6 ? address(ep.ipv6) : undefined;
  const out: FwPortMap[] = [];
  for (const b of ep.portMapping) {
    const proto = PROTO[b.proto];
    if (!proto || !b.hostPort) continue;
    const fam = b.hostIp === '' ? 0 : b.hostIp === '0.0.0.0' ? 4 : b.hostIp === '::' ? 6 : isIP(b.hostIp);
    for (const [family, containerIp] of [[4, v4], [6, v6]] as const) {
      if (!containerIp || (fam !== 0 && fam !== family)) continue;
      out.push({ networkId: net.id, proto, hostIp: b.hostIp, hostPort: b.hostPort, containerIp, containerPort: b.port, bridge });
    }
  }
  return out;
}
