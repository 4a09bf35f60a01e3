// The bridge driver's options: Docker's keys, short aliases, and the pure
// validation that runs before any kernel work. Options are stored under their
// Docker key with normalised values ('true'/'false', a decimal MTU), so a
// record reads the same however the request spelled it.

import { BadRequest } from '../../errors/index.js';
import type { NetworkSettings } from '../driver.js';
import { normaliseOptions } from '../options.js';
import { BRIDGE_NAME_RULE, validBridgeName } from '../linux/ifname.js';

export const OPT_BRIDGE_NAME = 'com.docker.network.bridge.name';
export const OPT_MASQUERADE = 'com.docker.network.bridge.enable_ip_masquerade';
export const OPT_ICC = 'com.docker.network.bridge.enable_icc';
export const OPT_MTU = 'com.docker.network.driver.mtu';
export const OPT_ENABLE_IPV6 = 'com.docker.network.enable_ipv6';
export const OPT_INTERNAL = 'com.docker.network.internal';
/** lnetd's resolver on this network (default on); read by daemon/dns. */
export const OPT_ENABLE_DNS = 'com.docker.network.bridge.enable_dns';

/** Short spellings accepted in requests, stored under the Docker key. */
export const ALIASES: Readonly<Record<string, string>> = {
  bridge_name: OPT_BRIDGE_NAME,
  masquerade: OPT_MASQUERADE,
  icc: OPT_ICC,
  mtu: OPT_MTU,
  enable_ipv6: OPT_ENABLE_IPV6,
  internal: OPT_INTERNAL,
  dns_enabled: OPT_ENABLE_DNS,
};

const BOOLEAN_OPTS = [OPT_MASQUERADE, OPT_ICC, OPT_ENABLE_IPV6, OPT_INTERNAL, OPT_ENABLE_DNS];

export const MTU_MIN = 68;
export const MTU_MAX = 65535;

/** What the driver reads from a network's stored options. */
export interface BridgeOptions {
  bridgeName?: string;   // given name; default lnet-<net id 8>
  masquerade: boolean;
  icc: boolean;
  mtu?: number;          // given MTU; default that of the host's default-route interface
  enableIpv6: boolean;
  internal: boolean;
}

// Go's strconv.ParseBool, which Docker uses for these options.
const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

function bool(key: string, v: string): boolean {
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new BadRequest(`option ${key} must be true or false, not ${JSON.stringify(v.slice(0, 64))}`, 'INVALID_OPTION');
}

function mtu(v: string, key = OPT_MTU): number {
  const n = /^\d{1,6}$/.test(v.trim()) ? Number(v.trim()) : NaN;
  if (!(n >= MTU_MIN && n <= MTU_MAX)) {
    throw new BadRequest(`option ${key} must be a whole number from ${MTU_MIN} to ${MTU_MAX}, not ${JSON.stringify(v.slice(0, 64))}`, 'INVALID_OPTION');
  }
  return n;
}

function bridgeName(v: string, key = OPT_BRIDGE_NAME): string {
  // the firewall layer checks the same rule (nft-rules.ts): no name passes here and fails there
  if (!validBridgeName(v)) throw new BadRequest(`option ${key} must be ${BRIDGE_NAME_RULE}, not ${JSON.stringify(v.slice(0, 64))}`, 'INVALID_OPTION');
  return v;
}

/** Aliases to Docker keys, values checked and normalised; other keys kept as given. */
export function normaliseBridgeOptions(raw: Record<string, unknown>): Record<string, string> {
  // own properties only: `constructor`, `toString`, `__proto__` are option names like any other
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(normaliseOptions(raw))) {
    const key = Object.hasOwn(ALIASES, k) ? ALIASES[k]! : k;
    let value = v;
    if (BOOLEAN_OPTS.includes(key)) value = String(bool(k, v));
    else if (key === OPT_MTU) value = String(mtu(v, k));
    else if (key === OPT_BRIDGE_NAME) value = bridgeName(v, k);
    if (Object.hasOwn(out, key) && out[key] !== value) throw new BadRequest(`option ${k} contradicts ${key} given in the same request`, 'INVALID_OPTION');
    out[key] = value;
  }
  return Object.fromEntries(Object.entries(out));
}

/** Read normalised options (as stored on the record). */
export function parseBridgeOptions(opts: Record<string, string>): BridgeOptions {
  const flag = (key: string, dflt: boolean): boolean => (!Object.hasOwn(opts, key) ? dflt : bool(key, opts[key]!));
  const o: BridgeOptions = {
    masquerade: flag(OPT_MASQUERADE, true),
    icc: flag(OPT_ICC, true),
    enableIpv6: flag(OPT_ENABLE_IPV6, false),
    internal: flag(OPT_INTERNAL, false),
  };
  if (opts[OPT_BRIDGE_NAME] !== undefined) o.bridgeName = bridgeName(opts[OPT_BRIDGE_NAME]!);
  if (opts[OPT_MTU] !== undefined) o.mtu = mtu(opts[OPT_MTU]!);
  return o;
}

/** Pure: raw request options to settings, or BadRequest naming the option. */
export function validateNetwork(raw: Record<string, unknown>): NetworkSettings {
  const options = normaliseBridgeOptions(raw);
  const o = parseBridgeOptions(options);
  return { options, internal: o.internal, enableIpv6: o.enableIpv6, needsIpam: true };
}
