// Default address pools: where a network's subnet comes from when the request
// names none. A pool is a base prefix cut into equal subnets of `size` bits;
// the first subnet that overlaps nothing in use wins (Docker's order).

import { BadRequest, Conflict, Internal } from '../../errors/index.js';
import { BITS, Cidr, Family, cidrText, first, last, mustCidr, network, parseCidr } from './addr.js';

export interface IpamPool {
  base: string;            // canonical network CIDR, e.g. 192.168.0.0/16
  size: number;            // prefix length of each subnet carved from it, e.g. 20
}

/** What `pickSubnet` hands back: the subnet and the pool it came from (SubnetRecord.pool). */
export interface PickedSubnet { subnet: string; pool: string }

/**
 * Docker's IPv4 defaults: 172.17–172.31 as one /16 each (172.16/16 is left
 * out as Docker does, it is common on corporate networks), then 192.168/16 in /20s.
 */
export const DEFAULT_POOLS_V4: readonly IpamPool[] = Object.freeze([
  ...Array.from({ length: 15 }, (_, i) => ({ base: `172.${17 + i}.0.0/16`, size: 16 })),
  { base: '192.168.0.0/16', size: 20 },
]);

/**
 * IPv6 default: one fixed ULA /48 cut in /64s. The global id 6c:6e65:7464 is
 * "lnetd" in ASCII rather than random (RFC 4193 asks for random); fixed so
 * that every lnetd host and every restart agrees, documented so operators who
 * need a random one pass their own with --default-pool.
 */
export const DEFAULT_POOLS_V6: readonly IpamPool[] = Object.freeze([{ base: 'fd6c:6e65:7464::/48', size: 64 }]);

/** Parse `base/len:size[,base/len:size…]` (e.g. `172.17.0.0/16:16,192.168.0.0/16:20`). */
export function parseDefaultPools(spec: string): IpamPool[] {
  if (typeof spec !== 'string' || spec.trim() === '') throw new BadRequest('default pools: the list is empty', 'INVALID_SUBNET');
  return spec.split(',').map((item, i) => parsePool(item.trim(), `default pools item ${i + 1}`));
}

function parsePool(item: string, field: string): IpamPool {
  const colon = item.lastIndexOf(':');
  const sizeText = item.slice(colon + 1);
  // An IPv6 base has colons of its own: the size is after the last one, after the '/'.
  if (colon < 0 || colon < item.indexOf('/') || !/^\d{1,3}$/.test(sizeText)) {
    throw new BadRequest(`${field}: ${JSON.stringify(item)} is not base/len:size`, 'INVALID_SUBNET');
  }
  const base = mustCidr(item.slice(0, colon), field);
  if (!item.slice(0, colon).includes('/')) throw new BadRequest(`${field}: ${JSON.stringify(item)} needs a prefix length on the base`, 'INVALID_SUBNET');
  if (network(base).base !== base.base) {
    throw new BadRequest(`${field}: base ${cidrText(base)} has host bits set; did you mean ${cidrText(network(base))}?`, 'INVALID_SUBNET');
  }
  const size = Number(sizeText);
  const max = BITS[base.family] - 2; // room for a gateway and one endpoint
  if (size < base.prefix || size > max) {
    throw new BadRequest(`${field}: size ${size} must be between the base's /${base.prefix} and /${max}`, 'INVALID_SUBNET');
  }
  return { base: cidrText(base), size };
}

interface Span { lo: bigint; hi: bigint }

/** Parse the `taken` list (CIDRs or plain addresses; default routes block nothing) into sorted, merged spans. */
function parseTaken(taken: readonly string[], family: Family): Span[] {
  const spans: Span[] = [];
  for (const t of taken) {
    if (t === 'default') continue;
    const c = parseCidr(t);
    // Our callers pass kernel routes and stored subnets: garbage here is our bug.
    if (!c) throw new Internal(`pick subnet: ${JSON.stringify(t)} in the in-use list is not an address or CIDR`);
    if (c.family === family && c.prefix > 0) spans.push({ lo: first(c), hi: last(c) });
  }
  spans.sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  const merged: Span[] = [];
  for (const s of spans) {
    const top = merged[merged.length - 1];
    if (top && s.lo <= top.hi + 1n) top.hi = s.hi > top.hi ? s.hi : top.hi;
    else merged.push({ ...s });
  }
  return merged;
}

/** First subnet of `pool` that overlaps no span; one pass over pool and spans together. */
function firstFree(pool: Cidr, size: number, busy: Span[]): bigint | undefined {
  const step = 1n << BigInt(BITS[pool.family] - size);
  const end = last(pool);
  let cand = first(pool);
  let i = 0;
  while (cand + step - 1n <= end) {
    while (i < busy.length && busy[i].hi < cand) i++;
    if (i === busy.length || busy[i].lo > cand + step - 1n) return cand;
    // Jump to the first aligned subnet after the span: a big route costs one step, not thousands.
    cand = ((busy[i].hi + 1n + step - 1n) / step) * step;
  }
  return undefined;
}

/**
 * The first subnet of the first pool (of the pools' family, all one family)
 * that overlaps none of `taken`: other networks' subnets, host addresses and
 * routes. Exhaustion is a 409 Conflict, not a 400: the request is well formed,
 * it collides with what exists, and removing a network makes it succeed.
 */
export function pickSubnet(pools: readonly IpamPool[], taken: readonly string[]): PickedSubnet {
  if (pools.length === 0) throw new Internal('pick subnet: no default pools configured');
  const parsed = pools.map((p) => ({ pool: p, base: mustCidr(p.base, 'default pool') }));
  const family = parsed[0].base.family;
  const busy = parseTaken(taken, family);
  for (const { pool, base } of parsed) {
    if (base.family !== family) continue;
    const got = firstFree(network(base), pool.size, busy);
    if (got !== undefined) return { subnet: cidrText({ family, base: got, prefix: pool.size }), pool: pool.base };
  }
  const tried = parsed.filter((p) => p.base.family === family).map((p) => `${p.pool.base}:${p.pool.size}`);
  throw new Conflict(`no free IPv${family} subnet left in the default pools (${tried.join(', ')}): every subnet overlaps a network or a host route`, 'POOL_EXHAUSTED');
}
