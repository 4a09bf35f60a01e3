// Request bodies of the Docker surface: raw JSON in, the controller's typed
// input out, or a 400 naming the field. Keys match case-insensitively and
// unknown keys are ignored, as Go's encoding/json does for dockerd; a value of
// the wrong type is refused naming the field, like dockerd's decoder does.

import { isIP } from 'node:net';
import { DockerError } from './errors.js';

type Json = Record<string, unknown>;

export const NETWORK_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
/** Docker container names and ids: any length dockerd allows, bounded by a file name. */
export const CONTAINER_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,253}$/;
const MAC_RE = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;
const DNS_NAME_RE = /^[a-zA-Z0-9_]([a-zA-Z0-9_.-]{0,252})$/;

const bad = (message: string): never => { throw new DockerError(400, message); };

export function body(raw: unknown): Json {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) return bad('invalid JSON: the request body must be a JSON object');
  return raw as Json;
}

/** A field by name, matching keys case-insensitively (the exact spelling wins). */
function get(o: Json, name: string): unknown {
  if (name in o) return o[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) return o[k];
  return undefined;
}

function typeError(where: string, field: string, want: string, v: unknown): never {
  const got = Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v;
  return bad(`json: cannot unmarshal ${got} into Go struct field ${where}.${field} of type ${want}`);
}

function str(o: Json, where: string, field: string): string | undefined {
  const v = get(o, field);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') typeError(where, field, 'string', v);
  return v as string;
}

function bool(o: Json, where: string, field: string): boolean | undefined {
  const v = get(o, field);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') typeError(where, field, 'bool', v);
  return v as boolean;
}

function obj(o: Json, where: string, field: string): Json | undefined {
  const v = get(o, field);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) typeError(where, field, 'object', v);
  return v as Json;
}

function list(o: Json, where: string, field: string): unknown[] {
  const v = get(o, field);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) typeError(where, field, 'array', v);
  if ((v as unknown[]).length > 256) bad(`${field} has more than 256 entries`);
  return v as unknown[];
}

function stringMap(o: Json, where: string, field: string): Record<string, string> {
  const m = obj(o, where, field);
  const out: Record<string, string> = {};
  if (!m) return out;
  const keys = Object.keys(m);
  if (keys.length > 256) bad(`${field} has more than 256 entries`);
  for (const k of keys) {
    const v = m[k];
    if (typeof v !== 'string') typeError(where, `${field}.${k.slice(0, 64)}`, 'string', v);
    if (k.length > 256 || (v as string).length > 4096) bad(`${field}.${k.slice(0, 64)} is too long (keys up to 256, values up to 4096 bytes)`);
    out[k] = v as string;
  }
  return out;
}

export interface DockerIpam { subnet?: string; gateway?: string; ipRange?: string; aux: Record<string, string> }

export interface DockerCreate {
  name: string;
  driver: string;
  options: Record<string, string>;
  labels: Record<string, string>;
  ipam: DockerIpam[];
  enableIpv6?: boolean;
  internal: boolean;
  attachable: boolean;
}

function ipamEntries(o: Json): DockerIpam[] {
  const ipam = obj(o, 'CreateRequest', 'IPAM');
  if (!ipam) return [];
  const driver = str(ipam, 'IPAM', 'Driver');
  if (driver && driver !== 'default') bad(`IPAM driver ${JSON.stringify(driver.slice(0, 64))} is not supported: lnetd has the default IPAM driver only`);
  const opts = stringMap(ipam, 'IPAM', 'Options');
  if (Object.keys(opts).length) bad(`IPAM.Options ${Object.keys(opts)[0].slice(0, 64)} is not supported by lnetd's default IPAM driver`);
  return list(ipam, 'IPAM', 'Config').map((raw, i) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return typeError('IPAM', `Config[${i}]`, 'IPAMConfig', raw);
    const c = raw as Json;
    const cidr = (f: string) => {
      const v = str(c, 'IPAMConfig', f);
      if (v !== undefined && v.length > 64) bad(`IPAM.Config[${i}].${f} is longer than 64 bytes`);
      return v || undefined;
    };
    return { subnet: cidr('Subnet'), gateway: cidr('Gateway'), ipRange: cidr('IPRange'), aux: stringMap(c, 'IPAMConfig', 'AuxiliaryAddresses') };
  });
}

/** POST /networks/create. What dockerd can do and lnetd can't is refused by name, never ignored. */
export function parseCreate(raw: unknown): DockerCreate {
  const o = body(raw);
  const name = str(o, 'CreateRequest', 'Name') ?? '';
  if (!name) bad('network name must not be empty: give Name');
  if (!NETWORK_NAME_RE.test(name)) bad(`invalid network name ${JSON.stringify(name.slice(0, 80))}: use 1-64 letters, digits, "_", "." or "-", starting with a letter or digit`);
  const scope = str(o, 'CreateRequest', 'Scope') ?? '';
  if (scope !== '' && scope !== 'local') bad(`Scope ${JSON.stringify(scope.slice(0, 32))} is not supported: lnetd's networks are local`);
  if (bool(o, 'CreateRequest', 'Ingress')) bad('Ingress networks need swarm mode, which lnetd does not have');
  if (bool(o, 'CreateRequest', 'ConfigOnly')) bad('ConfigOnly networks are not supported by lnetd');
  const from = obj(o, 'CreateRequest', 'ConfigFrom');
  if (from && str(from, 'ConfigReference', 'Network')) bad('ConfigFrom is not supported by lnetd (it has no config-only networks)');
  if (bool(o, 'CreateRequest', 'EnableIPv4') === false) bad('EnableIPv4=false (IPv6-only networks) is not supported by lnetd');
  return {
    name,
    driver: str(o, 'CreateRequest', 'Driver') || 'bridge',
    options: stringMap(o, 'CreateRequest', 'Options'),
    labels: stringMap(o, 'CreateRequest', 'Labels'),
    ipam: ipamEntries(o),
    enableIpv6: bool(o, 'CreateRequest', 'EnableIPv6'),
    internal: bool(o, 'CreateRequest', 'Internal') ?? false,
    attachable: bool(o, 'CreateRequest', 'Attachable') ?? false,
  };
}

export interface DockerConnect {
  container: string;
  ipv4?: string;
  ipv6?: string;
  mac?: string;
  aliases: string[];
}

export function containerRef(v: string | undefined, field = 'Container'): string {
  if (!v) bad(`${field} is required: name the container to connect`);
  if (!CONTAINER_RE.test(v!)) bad(`invalid container name or id ${JSON.stringify(v!.slice(0, 80))} in ${field}: use letters, digits, "_", "." or "-", starting with a letter or digit`);
  return v!;
}

/** POST /networks/{id}/connect. */
export function parseConnect(raw: unknown): DockerConnect {
  const o = body(raw);
  const container = containerRef(str(o, 'ConnectRequest', 'Container'));
  const ec = obj(o, 'ConnectRequest', 'EndpointConfig') ?? {};
  const ipam = obj(ec, 'EndpointSettings', 'IPAMConfig') ?? {};
  const ipv4 = str(ipam, 'EndpointIPAMConfig', 'IPv4Address') || undefined;
  const ipv6 = str(ipam, 'EndpointIPAMConfig', 'IPv6Address') || undefined;
  if (ipv4 !== undefined && isIP(ipv4) !== 4) bad(`invalid IPv4 address: ${ipv4.slice(0, 64)}`);
  if (ipv6 !== undefined && isIP(ipv6) !== 6) bad(`invalid IPv6 address: ${ipv6.slice(0, 64)}`);
  if (list(ipam, 'EndpointIPAMConfig', 'LinkLocalIPs').length) bad('IPAMConfig.LinkLocalIPs is not supported by lnetd');
  if (list(ec, 'EndpointSettings', 'Links').length) bad('Links are legacy container links, which lnetd does not have');
  const opts = stringMap(ec, 'EndpointSettings', 'DriverOpts');
  if (Object.keys(opts).length) bad(`EndpointConfig.DriverOpts ${JSON.stringify(Object.keys(opts)[0].slice(0, 64))} is not supported by lnetd's drivers`);
  const gw = get(ec, 'GwPriority');
  if (gw !== undefined && gw !== null && gw !== 0) {
    if (typeof gw !== 'number') typeError('EndpointSettings', 'GwPriority', 'int', gw);
    bad('EndpointConfig.GwPriority is not supported by lnetd: the first network a container joins that has a route out gives its default route');
  }
  const mac = str(ec, 'EndpointSettings', 'MacAddress') || undefined;
  if (mac !== undefined && !MAC_RE.test(mac)) bad(`invalid MAC address: ${mac.slice(0, 64)}`);
  const aliases = list(ec, 'EndpointSettings', 'Aliases').map((a, i) => {
    if (typeof a !== 'string') return typeError('EndpointSettings', `Aliases[${i}]`, 'string', a);
    if (!DNS_NAME_RE.test(a)) bad(`invalid alias ${JSON.stringify(a.slice(0, 80))}: use a DNS name`);
    return a;
  });
  return { container, ipv4, ipv6, mac: mac?.toLowerCase(), aliases: [...new Set(aliases)] };
}

export function parseDisconnect(raw: unknown): { container: string; force: boolean } {
  const o = body(raw);
  return { container: containerRef(str(o, 'DisconnectRequest', 'Container')), force: bool(o, 'DisconnectRequest', 'Force') ?? false };
}
