// The controller's side of IPAM: which subnets a new network gets, and which
// address a new endpoint gets. The pure rules live in drivers/ipam; here we
// gather what they need (other networks, host addresses and routes).

import type { IpamPool } from '../../drivers/ipam/index.js';
import { allocate, allocationCidr, overlaps, pickSubnet, validateIpamRequest } from '../../drivers/ipam/index.js';
import type { NetworkRecord, SubnetRecord } from '../../store/records.js';
import { BadRequest, Conflict } from '../../errors/index.js';
import type { IpamInput } from './types.js';
import type { Controller } from './controller.js';

export interface IpamConfig {
  pools4: readonly IpamPool[];
  pools6: readonly IpamPool[];
  /** Shortest prefix a requested subnet may have (default 8): a /2 takes a quarter of the address space. */
  minPrefix?: number;
}

export const DEFAULT_MIN_PREFIX = 8;

const familyOf = (r: IpamInput): 4 | 6 => ((r.subnet ?? r.gateway ?? r.ipRange ?? '').includes(':') ? 6 : 4);

/** The host's own addresses and routes in the daemon's namespace (the default route aside),
 *  minus what lnetd's networks explain (their bridges' gateway addresses and connected routes). */
async function hostNets(c: Controller): Promise<Array<{ cidr: string; what: string }>> {
  const ours = new Set<string>();
  for (const n of c.state.networks.values()) for (const s of [n.ipv4, n.ipv6]) if (s) ours.add(s.subnet);
  const out: Array<{ cidr: string; what: string }> = [];
  for (const a of await c.kernel.addresses()) out.push({ cidr: a.cidr, what: `the host's address ${a.cidr}` });
  for (const r of await c.kernel.routes()) if (r.dst !== 'default') out.push({ cidr: r.dst, what: `the host's route to ${r.dst}` });
  return out.filter((h) => ![...ours].some((o) => overlaps(o, h.cidr) && h.cidr.endsWith(`/${o.split('/')[1]}`)));
}

/** Subnets other networks hold, plus the host's own addresses and routes. */
async function taken(c: Controller): Promise<string[]> {
  const out: string[] = [];
  for (const n of c.state.networks.values()) {
    if (n.ipv4) out.push(n.ipv4.subnet);
    if (n.ipv6) out.push(n.ipv6.subnet);
  }
  for (const h of await hostNets(c)) out.push(h.cidr);
  return out;
}

function fromRequest(c: Controller, req: IpamInput, family: 4 | 6, others: NetworkRecord[], host: Array<{ cidr: string; what: string }>): SubnetRecord {
  const rec = validateIpamRequest({ subnet: req.subnet, gateway: req.gateway, ip_range: req.ipRange, aux_addresses: req.aux }, family);
  const min = c.ipam.minPrefix ?? DEFAULT_MIN_PREFIX;
  if (Number(rec.subnet.split('/')[1]) < min) throw new BadRequest(`subnet: ${rec.subnet} is larger than lnetd allows: the prefix must be /${min} or longer (it would take over the host's routing)`, 'INVALID_SUBNET');
  const clash = others.find((n) => [n.ipv4, n.ipv6].some((s) => s && overlaps(s.subnet, rec.subnet)));
  if (clash) throw new Conflict(`subnet ${rec.subnet} overlaps network ${clash.name}`, 'POOL_OVERLAP');
  const gwBits = family === 4 ? 32 : 128;
  const gwHost = host.find((h) => overlaps(h.cidr.split('/')[0] + `/${gwBits}`, `${rec.gateway}/${gwBits}`));
  if (gwHost) throw new BadRequest(`gateway: ${rec.gateway} is ${gwHost.what}`, 'INVALID_ADDRESS');
  const onHost = host.find((h) => overlaps(h.cidr, rec.subnet));
  if (onHost) throw new Conflict(`subnet ${rec.subnet} overlaps ${onHost.what}: a network there would take the host's traffic`, 'POOL_OVERLAP');
  return rec;
}

/** IPv4 (and IPv6 when enabled) subnets for a new network: as requested, else from the default pools. */
export async function networkSubnets(c: Controller, reqs: IpamInput[], enableIpv6: boolean, enableIpv4 = true): Promise<{ ipv4?: SubnetRecord; ipv6?: SubnetRecord }> {
  const v4req = reqs.filter((r) => familyOf(r) === 4);
  const v6req = reqs.filter((r) => familyOf(r) === 6);
  if (v4req.length > 1 || v6req.length > 1) throw new BadRequest('ipam takes at most one IPv4 and one IPv6 subnet', 'INVALID_IPAM');
  if (v6req.length && !enableIpv6) throw new BadRequest('an IPv6 ipam entry needs enable_ipv6 (or option com.docker.network.enable_ipv6)', 'INVALID_IPAM');
  if (v4req.length && !enableIpv4) throw new BadRequest('an IPv4 ipam entry contradicts enable_ipv4 false', 'INVALID_IPAM');
  const others = [...c.state.networks.values()];
  const host = v4req.some((r) => r.subnet) || v6req.some((r) => r.subnet) ? await hostNets(c) : [];
  const needPick = (enableIpv4 && !v4req[0]?.subnet) || (enableIpv6 && !v6req[0]?.subnet);
  const busy = needPick ? await taken(c) : [];
  const subnet = (req: IpamInput | undefined, family: 4 | 6, pools: readonly IpamPool[]): SubnetRecord => {
    if (req?.subnet) return fromRequest(c, req, family, others, host);
    const picked = pickSubnet(pools, busy);
    busy.push(picked.subnet);
    const rec = validateIpamRequest({ subnet: picked.subnet, gateway: req?.gateway, ip_range: req?.ipRange, aux_addresses: req?.aux }, family);
    return { ...rec, pool: picked.pool };
  };
  const ipv4 = enableIpv4 ? subnet(v4req[0], 4, c.ipam.pools4) : undefined;
  const ipv6 = enableIpv6 ? subnet(v6req[0], 6, c.ipam.pools6) : undefined;
  return { ipv4, ipv6 };
}

/** An address for a new endpoint; returns its CIDR and the subnet record with the cursor moved on. */
export function allocateAddress(c: Controller, net: NetworkRecord, rec: SubnetRecord, want?: string): { cidr: string; rec: SubnetRecord } {
  const inUse = c.state.addressesByNetwork.get(net.id) ?? new Set<string>();
  const a = allocate(rec, inUse, want);
  return { cidr: allocationCidr(a), rec: a.cursor === undefined ? rec : { ...rec, cursor: a.cursor } };
}
