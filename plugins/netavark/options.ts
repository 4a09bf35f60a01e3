// netavark's stdin (NetworkOptions) checked and typed before anything talks to
// lnetd: a bad field is an error naming it, and nothing has changed.

import { isIP, isIPv4 } from 'node:net';

export class OptionsError extends Error {}

export interface Subnet { subnet: string; gateway?: string }

export interface NetworkInfo {
  name: string;
  id: string;
  driver: string;
  bridge: string;            // network_interface: the bridge on the host
  subnets: Subnet[];
  ipv6: boolean;
  internal: boolean;
  dns: boolean;
  mtu?: string;
}

export interface PerNetwork {
  ifname: string;
  staticIps: string[];
  mac?: string;
  aliases: string[];
}

export interface PortMap { proto: 'tcp' | 'udp' | 'sctp'; hostIp: string; hostPort: number; containerPort: number; range: number }

export interface Options {
  containerId: string;
  containerName: string;
  ports: PortMap[];
  /** In podman's order (its JSON map is sorted by name): per network what the container asks, and the network. */
  networks: Array<{ name: string; opts: PerNetwork; info: NetworkInfo }>;
}

type Json = Record<string, unknown>;

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
const MAC_RE = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;
/** The kernel's limits on an interface name: 1-15 bytes, no '/', ':' or white space. */
const IFNAME_RE = /^[^/:\s]{1,15}$/;
/** netavark's bridge options that change behaviour and that lnetd does not do: refused, not ignored. */
const UNSUPPORTED_OPTIONS = ['vlan', 'isolate', 'metric', 'mode', 'parent'];

function obj(v: unknown, field: string): Json {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new OptionsError(`${field} must be a JSON object`);
  return v as Json;
}

function str(o: Json, key: string, field: string, opts: { required?: boolean; re?: RegExp; max?: number } = {}): string | undefined {
  const v = o[key];
  if (v === undefined || v === null || (v === '' && !opts.required)) {
    if (opts.required) throw new OptionsError(`${field} is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw new OptionsError(`${field} must be a string`);
  if (Buffer.byteLength(v) > (opts.max ?? 256)) throw new OptionsError(`${field} is longer than ${opts.max ?? 256} bytes`);
  if (opts.re && !opts.re.test(v)) throw new OptionsError(`${field} ${JSON.stringify(v.slice(0, 80))} is not valid`);
  return v;
}

function list(o: Json, key: string, field: string): unknown[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new OptionsError(`${field} must be an array`);
  if (v.length > 1024) throw new OptionsError(`${field} has more than 1024 elements`);
  return v;
}

function bool(o: Json, key: string, field: string): boolean {
  const v = o[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new OptionsError(`${field} must be true or false`);
  return v;
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new OptionsError(`${field} must be a whole number from ${min} to ${max}`);
  return v;
}

function cidr(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new OptionsError(`${field} must be a CIDR string`);
  const [ip, len, extra] = v.split('/');
  const fam = isIP(ip ?? '');
  if (extra !== undefined || fam === 0 || !/^\d{1,3}$/.test(len ?? '') || Number(len) > (fam === 4 ? 32 : 128)) throw new OptionsError(`${field} ${JSON.stringify(v.slice(0, 60))} is not a CIDR subnet`);
  return v;
}

function subnets(o: Json, field: string): Subnet[] {
  return list(o, 'subnets', `${field}.subnets`).map((raw, i) => {
    const s = obj(raw, `${field}.subnets[${i}]`);
    const subnet = cidr(s.subnet, `${field}.subnets[${i}].subnet`);
    const gateway = str(s, 'gateway', `${field}.subnets[${i}].gateway`, { max: 64 });
    if (gateway !== undefined && isIP(gateway) !== isIP(subnet.split('/')[0])) throw new OptionsError(`${field}.subnets[${i}].gateway must be an address of the subnet's family`);
    return { subnet, ...(gateway ? { gateway } : {}) };
  });
}

function networkInfo(raw: unknown, name: string): NetworkInfo {
  const field = `network_info.${name}`;
  const o = obj(raw, field);
  const driver = str(o, 'driver', `${field}.driver`, { required: true, max: 64 })!;
  if (driver !== 'bridge') throw new OptionsError(`${field}.driver ${JSON.stringify(driver)} is not supported: lnetd-netavark runs bridge networks only`);
  const bridge = str(o, 'network_interface', `${field}.network_interface`, { required: true, re: IFNAME_RE })!;
  const nets = subnets(o, field);
  if (nets.length === 0) throw new OptionsError(`${field}.subnets is empty: lnetd-netavark needs a subnet (networks without IPAM are not supported)`);
  if (nets.filter((s) => isIPv4(s.subnet.split('/')[0])).length > 1 || nets.filter((s) => !isIPv4(s.subnet.split('/')[0])).length > 1) {
    throw new OptionsError(`${field}.subnets: lnetd takes at most one IPv4 and one IPv6 subnet per network`);
  }
  const options = o.options === undefined || o.options === null ? {} : obj(o.options, `${field}.options`);
  for (const k of UNSUPPORTED_OPTIONS) {
    if (options[k] !== undefined && options[k] !== '' && options[k] !== 'false') throw new OptionsError(`${field}.options.${k} is not supported by lnetd`);
  }
  const mtu = options.mtu === undefined || options.mtu === '' ? undefined : String(options.mtu);
  return {
    name: str(o, 'name', `${field}.name`, { re: NAME_RE }) ?? name,
    id: str(o, 'id', `${field}.id`, { re: /^[0-9a-f]{1,64}$/ }) ?? '',
    driver, bridge, subnets: nets,
    ipv6: bool(o, 'ipv6_enabled', `${field}.ipv6_enabled`),
    internal: bool(o, 'internal', `${field}.internal`),
    dns: bool(o, 'dns_enabled', `${field}.dns_enabled`),
    ...(mtu ? { mtu } : {}),
  };
}

function perNetwork(raw: unknown, name: string): PerNetwork {
  const field = `networks.${name}`;
  const o = obj(raw, field);
  const staticIps = list(o, 'static_ips', `${field}.static_ips`).map((ip, i) => {
    if (typeof ip !== 'string' || isIP(ip) === 0) throw new OptionsError(`${field}.static_ips[${i}] must be an IP address`);
    return ip;
  });
  const aliases = list(o, 'aliases', `${field}.aliases`).map((a, i) => {
    if (typeof a !== 'string' || a.length > 253) throw new OptionsError(`${field}.aliases[${i}] must be a name`);
    return a;
  });
  const mac = str(o, 'static_mac', `${field}.static_mac`, { re: MAC_RE });
  return { ifname: str(o, 'interface_name', `${field}.interface_name`, { required: true, re: IFNAME_RE })!, staticIps, ...(mac ? { mac: mac.toLowerCase() } : {}), aliases };
}

const PROTOS = new Set(['tcp', 'udp', 'sctp']);

/** One entry per protocol: netavark's "tcp,udp" maps the same ports for both. */
function portMappings(o: Json): PortMap[] {
  return list(o, 'port_mappings', 'port_mappings').flatMap((raw, i) => {
    const f = `port_mappings[${i}]`;
    const p = obj(raw, f);
    const containerPort = int(p.container_port, `${f}.container_port`, 1, 65535);
    const hostPort = int(p.host_port ?? 0, `${f}.host_port`, 0, 65535);
    const range = int(p.range === undefined || p.range === null || p.range === 0 ? 1 : p.range, `${f}.range`, 1, 65535);
    if (containerPort + range - 1 > 65535 || (hostPort !== 0 && hostPort + range - 1 > 65535)) throw new OptionsError(`${f}: port + range must stay below 65536`);
    if (hostPort === 0 && range > 1) throw new OptionsError(`${f}: a range needs a host_port`);
    const hostIp = str(p, 'host_ip', `${f}.host_ip`, { max: 64 }) ?? '';
    if (hostIp !== '' && isIP(hostIp) === 0) throw new OptionsError(`${f}.host_ip must be an IP address or ""`);
    const protos = (str(p, 'protocol', `${f}.protocol`, { max: 32 }) ?? 'tcp').split(',').map((s) => s.trim().toLowerCase());
    for (const proto of protos) if (!PROTOS.has(proto)) throw new OptionsError(`${f}.protocol ${JSON.stringify(proto)} must be tcp, udp or sctp`);
    return [...new Set(protos)].map((proto) => ({ proto: proto as PortMap['proto'], hostIp, hostPort, containerPort, range }));
  });
}

export function parseOptions(text: string): Options {
  let raw: unknown;
  try { raw = JSON.parse(text); } catch (e) { throw new OptionsError(`failed to load network options: ${(e as Error).message}`); }
  const o = obj(raw, 'network options');
  const containerId = str(o, 'container_id', 'container_id', { required: true, re: /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/ })!;
  const containerName = str(o, 'container_name', 'container_name', { max: 253 }) ?? containerId;
  const nets = obj(o.networks ?? {}, 'networks');
  const infos = obj(o.network_info ?? {}, 'network_info');
  const names = Object.keys(nets);
  for (const n of names) if (!NAME_RE.test(n)) throw new OptionsError(`network name ${JSON.stringify(n.slice(0, 80))} is not valid`);
  for (const n of Object.keys(infos)) if (!(n in nets)) throw new OptionsError(`network_info.${n} has no entry in networks`);
  return {
    containerId,
    containerName,
    ports: portMappings(o),
    networks: names.map((name) => {
      if (!(name in infos)) throw new OptionsError(`networks.${name} has no entry in network_info`);
      return { name, opts: perNetwork(nets[name], name), info: networkInfo(infos[name], name) };
    }),
  };
}
