// Address arithmetic for IPAM. Parsing goes through `ip-address` (so every
// textual form it knows is accepted and canonicalised the same way); the
// arithmetic is on BigInt so IPv4 and IPv6 share one code path.

import { Address4, Address6 } from 'ip-address';
import { BadRequest } from '../../errors/index.js';

export type Family = 4 | 6;

/** A parsed prefix. `base` may carry host bits until `network()` drops them. */
export interface Cidr {
  family: Family;
  base: bigint;            // the address as written
  prefix: number;          // prefix length; 32/128 for a plain address
}

export const BITS: Record<Family, number> = { 4: 32, 6: 128 };

/** Parse an address (no prefix) of either family; undefined when it is not one. */
export function parseAddr(text: string): { family: Family; value: bigint } | undefined {
  // Zone ids (fe80::1%eth0) name an interface, not an address: never valid here.
  if (typeof text !== 'string' || text.includes('%') || text.includes('/')) return undefined;
  try {
    if (text.includes(':')) return { family: 6, value: new Address6(text).bigInt() };
    return { family: 4, value: new Address4(text).bigInt() };
  } catch {
    return undefined;
  }
}

/** Parse `addr/len` or a plain address (a host prefix); undefined when invalid. */
export function parseCidr(text: string): Cidr | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  const a = parseAddr(slash < 0 ? text : text.slice(0, slash));
  if (!a) return undefined;
  const bits = BITS[a.family];
  if (slash < 0) return { family: a.family, base: a.value, prefix: bits };
  const len = text.slice(slash + 1);
  // Only plain decimal: "08", "+8" or "8.0" are typos, not prefix lengths.
  if (!/^(0|[1-9]\d{0,2})$/.test(len) || Number(len) > bits) return undefined;
  return { family: a.family, base: a.value, prefix: Number(len) };
}

/** Number of addresses in a prefix. */
export function size(c: Cidr): bigint {
  return 1n << BigInt(BITS[c.family] - c.prefix);
}

/** First address of the prefix (host bits cleared). */
export function first(c: Cidr): bigint {
  return (c.base >> BigInt(BITS[c.family] - c.prefix)) << BigInt(BITS[c.family] - c.prefix);
}

/** Last address of the prefix (host bits set). */
export function last(c: Cidr): bigint {
  return first(c) + size(c) - 1n;
}

/** The network the prefix names, host bits dropped. */
export function network(c: Cidr): Cidr {
  return { family: c.family, base: first(c), prefix: c.prefix };
}

/** Canonical text of one address: dotted quad, or RFC 5952 compressed IPv6. */
export function addrText(family: Family, value: bigint): string {
  if (family === 4) {
    const n = Number(value);
    return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  return Address6.fromBigInt(value).correctForm();
}

/** Canonical text of a prefix as written (host bits kept). */
export function cidrText(c: Cidr): string {
  return `${addrText(c.family, c.base)}/${c.prefix}`;
}

/** Parse a CIDR or address given by a caller; BadRequest naming `field` when it isn't one. */
export function mustCidr(text: unknown, field: string, family?: Family): Cidr {
  const c = typeof text === 'string' ? parseCidr(text) : undefined;
  const code = /subnet|range|pool/i.test(field) ? 'INVALID_SUBNET' : 'INVALID_ADDRESS';
  if (!c) throw new BadRequest(`${field}: ${JSON.stringify(text)} is not an IP address or CIDR`, code);
  if (family && c.family !== family) {
    throw new BadRequest(`${field}: ${JSON.stringify(text)} is not an IPv${family} ${c.prefix === BITS[c.family] ? 'address' : 'subnet'}`, code);
  }
  return c;
}

function asCidr(x: string | Cidr): Cidr | undefined {
  return typeof x === 'string' ? parseCidr(x) : x;
}

/** True when the two prefixes (or addresses) share at least one address. Different families never overlap. */
export function overlaps(a: string | Cidr, b: string | Cidr): boolean {
  const x = asCidr(a);
  const y = asCidr(b);
  if (!x || !y || x.family !== y.family) return false;
  return first(x) <= last(y) && first(y) <= last(x);
}

/** True when every address of `inner` (an address or a prefix) lies inside `outer`. */
export function contains(outer: string | Cidr, inner: string | Cidr): boolean {
  const o = asCidr(outer);
  const i = asCidr(inner);
  if (!o || !i || o.family !== i.family) return false;
  return first(o) <= first(i) && last(i) <= last(o);
}

/**
 * Docker's MAC for an IPv4 endpoint: locally administered 02:42 followed by
 * the four address bytes, so the MAC is unique exactly when the address is.
 */
export function macFromIpv4(ip: string): string {
  const a = parseAddr(ip.split('/')[0]);
  if (!a || a.family !== 4) throw new BadRequest(`mac: ${JSON.stringify(ip)} is not an IPv4 address`, 'INVALID_ADDRESS');
  const hex = a.value.toString(16).padStart(8, '0');
  return `02:42:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}:${hex.slice(6, 8)}`;
}
