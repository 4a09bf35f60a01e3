// Address allocation inside one SubnetRecord. Round robin from the record's
// cursor, so an address just released is not handed to the next container
// while peers may still hold the old MAC/ARP entry for it.

import { BadRequest, Conflict, Internal } from '../../errors/index.js';
import type { SubnetRecord } from '../../store/records.js';
import { BITS, Cidr, addrText, first, last, parseAddr, parseCidr } from './addr.js';
import { isReserved } from './validate.js';

export interface Allocation {
  address: string;         // canonical address, no prefix
  prefixLen: number;       // the subnet's prefix length (the endpoint's CIDR is address/prefixLen)
  cursor?: string;         // new SubnetRecord.cursor; a requested address leaves it where it was
}

interface Space {
  sub: Cidr;
  lo: bigint;              // first address allocation may hand out (ip_range or subnet)
  hi: bigint;              // last one
  fixed: Set<bigint>;      // gateway and aux addresses: never handed out
}

function space(rec: SubnetRecord): Space {
  const sub = parseCidr(rec.subnet);
  const range = parseCidr(rec.ipRange ?? rec.subnet);
  const gw = parseAddr(rec.gateway);
  // Records were validated on the way in: a bad one here is corruption, our fault.
  if (!sub || !range || !gw) throw new Internal(`allocate: stored subnet record ${JSON.stringify(rec)} does not parse`);
  const fixed = new Set<bigint>([gw.value]);
  for (const a of Object.values(rec.aux ?? {})) {
    const p = parseAddr(a);
    if (p) fixed.add(p.value);
  }
  return { sub, lo: first(range), hi: last(range), fixed };
}

/** Addresses taken: only membership is asked, so a caller can layer its own on a shared set without copying it. */
export interface InUse { has(addr: string): boolean }

/** inUse holds canonical addresses, with or without the subnet's prefix length (endpoint CIDRs). */
function busy(s: Space, inUse: InUse, a: bigint): boolean {
  if (s.fixed.has(a) || isReserved(s.sub, a)) return true;
  const text = addrText(s.sub.family, a);
  return inUse.has(text) || inUse.has(`${text}/${s.sub.prefix}`);
}

function wanted(rec: SubnetRecord, s: Space, inUse: InUse, want: string): Allocation {
  const c = parseCidr(want);
  const fam = s.sub.family;
  if (!c || c.family !== fam || (c.prefix !== BITS[fam] && c.prefix !== s.sub.prefix)) {
    throw new BadRequest(`address: ${JSON.stringify(want)} is not an IPv${fam} address for subnet ${rec.subnet}`, 'INVALID_ADDRESS');
  }
  const a = c.base;
  const text = addrText(fam, a);
  // Like Docker, a requested address may sit anywhere in the subnet, not only
  // in ip_range: the range only steers automatic allocation.
  if (a < first(s.sub) || a > last(s.sub)) throw new BadRequest(`address: ${text} is outside subnet ${rec.subnet}`, 'INVALID_ADDRESS');
  if (isReserved(s.sub, a)) throw new BadRequest(`address: ${text} is the ${a === first(s.sub) ? 'network' : 'broadcast'} address of ${rec.subnet}`, 'INVALID_ADDRESS');
  if (busy(s, inUse, a)) {
    const what = a === parseAddr(rec.gateway)?.value ? 'the gateway' : s.fixed.has(a) ? 'a reserved aux address' : 'in use';
    throw new Conflict(`address: ${text} in ${rec.subnet} is ${what}`, 'ADDRESS_IN_USE');
  }
  return { address: text, prefixLen: s.sub.prefix, cursor: rec.cursor };
}

/**
 * Hand out the next free address after `rec.cursor` (wrapping), inside
 * ip_range when set, skipping the network address, the IPv4 broadcast, the
 * gateway, aux addresses and `inUse`; or exactly `want`, which must be free.
 * Cost is the number of busy addresses stepped over, not the subnet's size.
 */
export function allocate(rec: SubnetRecord, inUse: InUse, want?: string): Allocation {
  const s = space(rec);
  if (want !== undefined && want !== '') return wanted(rec, s, inUse, want);
  const cur = rec.cursor ? parseAddr(rec.cursor) : undefined;
  let a = cur && cur.family === s.sub.family && cur.value >= s.lo && cur.value < s.hi ? cur.value + 1n : s.lo;
  for (let n = s.hi - s.lo + 1n; n > 0n; n--) {
    if (!busy(s, inUse, a)) {
      const address = addrText(s.sub.family, a);
      return { address, prefixLen: s.sub.prefix, cursor: address };
    }
    a = a === s.hi ? s.lo : a + 1n;
  }
  const where = rec.ipRange ? `ip range ${rec.ipRange} of subnet ${rec.subnet}` : `subnet ${rec.subnet}`;
  throw new Conflict(`no free address left in ${where}`, 'POOL_EXHAUSTED');
}

/** The endpoint CIDR of an allocation, as EndpointRecord.ipv4/ipv6 stores it. */
export function allocationCidr(a: Allocation): string {
  return `${a.address}/${a.prefixLen}`;
}
