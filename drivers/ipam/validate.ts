// Checks one IPAM config entry of a network-create request and turns it into
// the canonical SubnetRecord the controller stores. Pure: no store, no kernel.

import { BadRequest } from '../../errors/index.js';
import type { SubnetRecord } from '../../store/records.js';
import { BITS, Cidr, Family, addrText, cidrText, contains, first, last, mustCidr, network, size } from './addr.js';

/** One entry of the request's ipam config, as it arrives (wire names, unchecked types). */
export interface IpamRequest {
  subnet?: unknown;
  gateway?: unknown;
  ip_range?: unknown;
  aux_addresses?: unknown;
}

/** Smallest subnets we accept: room for network, gateway, one endpoint (and the IPv4 broadcast). */
const MAX_PREFIX: Record<Family, number> = { 4: 30, 6: 126 };

/** '' and null mean "not given", as Docker clients send them. */
function given(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '';
}

/**
 * A network prefix: host bits are rejected, not silently cleared, because
 * `10.1.2.3/24` is as likely a typo for a gateway as for `10.1.2.0/24`
 * (Docker rejects it too). Other spellings (`FD00:0::/64`) are canonicalised.
 */
function mustNetwork(text: unknown, field: string, family: Family): Cidr {
  const c = mustCidr(text, field, family);
  if (typeof text === 'string' && !text.includes('/')) throw new BadRequest(`${field}: ${JSON.stringify(text)} needs a prefix length (e.g. /24)`, 'INVALID_SUBNET');
  if (network(c).base !== c.base) {
    throw new BadRequest(`${field}: ${cidrText(c)} has host bits set; the network is ${cidrText(network(c))}`, 'INVALID_SUBNET');
  }
  return c;
}

/** A plain address (no prefix) of the family. */
function mustAddress(text: unknown, field: string, family: Family): bigint {
  const c = mustCidr(text, field, family);
  if (typeof text === 'string' && text.includes('/')) throw new BadRequest(`${field}: ${JSON.stringify(text)} must be an address without a prefix length`, 'INVALID_ADDRESS');
  return c.base;
}

/** True for the addresses no host may use: the network address, and the IPv4 broadcast. */
export function isReserved(sub: Cidr, a: bigint): boolean {
  return a === first(sub) || (sub.family === 4 && a === last(sub));
}

function checkGateway(sub: Cidr, text: unknown): bigint {
  if (!given(text)) return first(sub) + 1n; // first host address, as Docker does
  const gw = mustAddress(text, 'gateway', sub.family);
  if (!contains(sub, { family: sub.family, base: gw, prefix: BITS[sub.family] })) {
    throw new BadRequest(`gateway: ${addrText(sub.family, gw)} is outside subnet ${cidrText(sub)}`, 'INVALID_ADDRESS');
  }
  if (isReserved(sub, gw)) {
    throw new BadRequest(`gateway: ${addrText(sub.family, gw)} is the ${gw === first(sub) ? 'network' : 'broadcast'} address of ${cidrText(sub)}`, 'INVALID_ADDRESS');
  }
  return gw;
}

function checkRange(sub: Cidr, text: unknown, gateway: bigint): string | undefined {
  if (!given(text)) return undefined;
  const r = mustNetwork(text, 'ip_range', sub.family);
  if (!contains(sub, r)) throw new BadRequest(`ip_range: ${cidrText(r)} is not inside subnet ${cidrText(sub)}`, 'INVALID_SUBNET');
  // a range whose every address is the network, broadcast or gateway address hands out nothing
  let usable = size(r);
  for (const a of new Set([first(sub), ...(sub.family === 4 ? [last(sub)] : []), gateway])) if (a >= first(r) && a <= last(r)) usable--;
  if (usable <= 0n) throw new BadRequest(`ip_range: ${cidrText(r)} holds no address an endpoint could get (only the network, broadcast or gateway address)`, 'INVALID_SUBNET');
  return cidrText(r);
}

function checkAux(sub: Cidr, aux: unknown, gateway: bigint): Record<string, string> {
  if (!given(aux)) return {};
  if (typeof aux !== 'object' || Array.isArray(aux)) throw new BadRequest('aux_addresses: must be an object of name → address', 'INVALID_IPAM');
  const out: Record<string, string> = {};
  for (const [label, text] of Object.entries(aux as Record<string, unknown>)) {
    const field = `aux_addresses.${label}`;
    const a = mustAddress(text, field, sub.family);
    if (!contains(sub, { family: sub.family, base: a, prefix: BITS[sub.family] })) {
      throw new BadRequest(`${field}: ${addrText(sub.family, a)} is outside subnet ${cidrText(sub)}`, 'INVALID_ADDRESS');
    }
    if (a === gateway) throw new BadRequest(`${field}: ${addrText(sub.family, a)} is the gateway`, 'INVALID_ADDRESS');
    if (isReserved(sub, a)) throw new BadRequest(`${field}: ${addrText(sub.family, a)} is the ${a === first(sub) ? 'network' : 'broadcast'} address of ${cidrText(sub)}`, 'INVALID_ADDRESS');
    out[label] = addrText(sub.family, a);
  }
  return out;
}

/**
 * Validate one family's IPAM request and return its canonical SubnetRecord
 * (no cursor yet; `pool` is the caller's to set when it picked the subnet).
 * Every failure is a BadRequest whose message starts with the field's wire name.
 */
export function validateIpamRequest(req: IpamRequest, family: Family): SubnetRecord {
  if (!given(req.subnet)) {
    const stray = (['gateway', 'ip_range', 'aux_addresses'] as const).find((k) => given(req[k]));
    throw new BadRequest(stray ? `${stray}: needs a subnet to belong to` : 'subnet: is required', 'INVALID_IPAM');
  }
  const sub = mustNetwork(req.subnet, 'subnet', family);
  if (sub.prefix > MAX_PREFIX[family]) {
    throw new BadRequest(`subnet: ${cidrText(sub)} is too small, IPv${family} subnets must be /${MAX_PREFIX[family]} or larger`, 'INVALID_SUBNET');
  }
  const gw = checkGateway(sub, req.gateway);
  const gateway = addrText(family, gw);
  const ipRange = checkRange(sub, req.ip_range, gw);
  const rec: SubnetRecord = { subnet: cidrText(sub), gateway, aux: checkAux(sub, req.aux_addresses, gw) };
  if (ipRange) rec.ipRange = ipRange;
  return rec;
}
