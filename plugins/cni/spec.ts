// The CNI protocol as lnetd-cni speaks it (spec 1.1; results in the config's
// version, so 0.3.x-1.0.0 clients read them): the environment, the network
// configuration on stdin, error codes and the result's shape.

import { isIP } from 'node:net';

export const SPEC_VERSION = '1.1.0';
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];

/** The spec's well-known error codes (100+ would be ours). */
export const CODES = {
  INCOMPATIBLE_VERSION: 1,
  UNSUPPORTED_FIELD: 2,
  UNKNOWN_CONTAINER: 3,
  INVALID_ENV: 4,
  IO_FAILURE: 5,
  DECODE_FAILURE: 6,
  INVALID_CONFIG: 7,
  TRY_AGAIN_LATER: 11,
  NOT_AVAILABLE: 50,
} as const;

export class CniError extends Error {
  constructor(readonly code: number, message: string, readonly details = '') { super(message); }
}

export type Command = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'GC' | 'STATUS';
const COMMANDS: Command[] = ['ADD', 'DEL', 'CHECK', 'VERSION', 'GC', 'STATUS'];

export interface Env {
  command: Command;
  containerId: string;
  netns: string;
  ifname: string;
  args: Record<string, string>;   // CNI_ARGS, KEY=VALUE;...
  path: string[];                 // CNI_PATH
}

/** CNI_CONTAINERID: the spec allows letters, digits, "_", "." and "-" (any length). */
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** CNI_IFNAME: the kernel's rule (1-15 bytes, no "/", ":" or space, not "." or ".."). */
const IFNAME = /^[^/:\s]{1,15}$/;

export function parseEnv(env: NodeJS.ProcessEnv): Env {
  const command = env.CNI_COMMAND as Command;
  if (!COMMANDS.includes(command)) throw new CniError(CODES.INVALID_ENV, `CNI_COMMAND ${JSON.stringify(env.CNI_COMMAND ?? '')} is not one of ${COMMANDS.join(', ')}`);
  const out: Env = {
    command, containerId: env.CNI_CONTAINERID ?? '', netns: env.CNI_NETNS ?? '', ifname: env.CNI_IFNAME ?? '',
    args: parseArgs(env.CNI_ARGS ?? ''), path: (env.CNI_PATH ?? '').split(':').filter(Boolean),
  };
  const needs: Record<Command, Array<keyof Env>> = {
    ADD: ['containerId', 'netns', 'ifname'], CHECK: ['containerId', 'netns', 'ifname'], DEL: ['containerId', 'ifname'],
    VERSION: [], GC: [], STATUS: [],
  };
  const names: Partial<Record<keyof Env, string>> = { containerId: 'CNI_CONTAINERID', netns: 'CNI_NETNS', ifname: 'CNI_IFNAME' };
  for (const k of needs[command]) if (!out[k]) throw new CniError(CODES.INVALID_ENV, `${names[k]} is required for ${command}`);
  // VERSION, GC and STATUS take no attachment: libcni's validation sends VERSION with "dummy" values
  if (!needs[command].length) return out;
  if (out.containerId && !CONTAINER_ID.test(out.containerId)) throw new CniError(CODES.INVALID_ENV, `CNI_CONTAINERID ${JSON.stringify(out.containerId.slice(0, 80))} must be letters, digits, "_", "." or "-"`);
  if (out.ifname && (!IFNAME.test(out.ifname) || out.ifname === '.' || out.ifname === '..' || Buffer.byteLength(out.ifname) > 15)) {
    throw new CniError(CODES.INVALID_ENV, `CNI_IFNAME ${JSON.stringify(out.ifname.slice(0, 32))} is not a valid interface name`);
  }
  if (out.netns && !out.netns.startsWith('/')) throw new CniError(CODES.INVALID_ENV, `CNI_NETNS ${JSON.stringify(out.netns.slice(0, 80))} must be an absolute path`);
  return out;
}

function parseArgs(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of raw.split(';')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CniError(CODES.INVALID_ENV, `CNI_ARGS entry ${JSON.stringify(pair.slice(0, 80))} is not KEY=VALUE`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

export interface PortMapping { hostPort: number; containerPort: number; protocol: 'tcp' | 'udp' | 'sctp'; hostIP: string }
export interface Dns { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] }

export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  socket?: string;
  bridge?: string;
  mtu?: number;
  ipMasq?: boolean;
  ipam?: Record<string, any>;
  dns?: Dns;
  runtimeConfig: { portMappings: PortMapping[]; ips: string[]; mac?: string; dns?: Dns };
  args: { ips: string[]; mac?: string };
  prevResult?: any;
  validAttachments?: Array<{ containerID: string; ifname: string }>;
  raw: Record<string, any>;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
const MAC = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;

const isObj = (v: unknown): v is Record<string, any> => v !== null && typeof v === 'object' && !Array.isArray(v);

function ips(v: unknown, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new CniError(CODES.INVALID_CONFIG, `${field} must be a list of addresses`);
  return v.map((a, i) => {
    const ip = typeof a === 'string' ? a.split('/')[0]! : '';
    if (!isIP(ip)) throw new CniError(CODES.INVALID_CONFIG, `${field}[${i}] ${JSON.stringify(a)} is not an IP address`);
    return ip;
  });
}

function mac(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' || !MAC.test(v)) throw new CniError(CODES.INVALID_CONFIG, `${field} ${JSON.stringify(v)} is not a MAC address`);
  return v.toLowerCase();
}

function portMappings(v: unknown): PortMapping[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new CniError(CODES.INVALID_CONFIG, 'runtimeConfig.portMappings must be a list');
  return v.map((p, i) => {
    const f = `runtimeConfig.portMappings[${i}]`;
    if (!isObj(p)) throw new CniError(CODES.INVALID_CONFIG, `${f} must be an object`);
    const port = (x: unknown, k: string) => {
      if (!Number.isInteger(x) || (x as number) < 1 || (x as number) > 65535) throw new CniError(CODES.INVALID_CONFIG, `${f}.${k} must be a port (1-65535)`);
      return x as number;
    };
    const protocol = String(p.protocol ?? 'tcp').toLowerCase();
    if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') throw new CniError(CODES.INVALID_CONFIG, `${f}.protocol must be tcp, udp or sctp`);
    const hostIP = p.hostIP ?? '';
    if (typeof hostIP !== 'string' || (hostIP !== '' && !isIP(hostIP))) throw new CniError(CODES.INVALID_CONFIG, `${f}.hostIP must be an IP address`);
    return { hostPort: port(p.hostPort, 'hostPort'), containerPort: port(p.containerPort, 'containerPort'), protocol, hostIP };
  });
}

function dns(v: unknown, field: string): Dns | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw new CniError(CODES.INVALID_CONFIG, `${field} must be an object`);
  const list = (x: unknown, k: string): string[] | undefined => {
    if (x === undefined || x === null) return undefined;
    if (!Array.isArray(x) || x.some((s) => typeof s !== 'string')) throw new CniError(CODES.INVALID_CONFIG, `${field}.${k} must be a list of strings`);
    return x;
  };
  const out: Dns = {};
  const ns = list(v.nameservers, 'nameservers');
  if (ns) out.nameservers = ns;
  if (typeof v.domain === 'string' && v.domain) out.domain = v.domain;
  const search = list(v.search, 'search');
  if (search) out.search = search;
  const options = list(v.options, 'options');
  if (options) out.options = options;
  return out;
}

/** The network configuration on stdin, checked (VERSION reads only cniVersion). */
export function parseConf(text: string, command: Command): NetConf {
  let raw: unknown;
  try { raw = JSON.parse(text); } catch (e) { throw new CniError(CODES.DECODE_FAILURE, 'the network configuration on stdin is not JSON', (e as Error).message); }
  if (!isObj(raw)) throw new CniError(CODES.DECODE_FAILURE, 'the network configuration on stdin must be a JSON object');
  const cniVersion = typeof raw.cniVersion === 'string' ? raw.cniVersion : '';
  if (!SUPPORTED_VERSIONS.includes(cniVersion)) {
    throw new CniError(CODES.INCOMPATIBLE_VERSION, `cniVersion ${JSON.stringify(raw.cniVersion ?? null)} is not supported`, `supported: ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  const conf: NetConf = {
    cniVersion, name: String(raw.name ?? ''), type: String(raw.type ?? ''), raw,
    runtimeConfig: { portMappings: [], ips: [] }, args: { ips: [] },
  };
  if (command === 'VERSION') return conf;
  if (!NAME.test(conf.name)) throw new CniError(CODES.INVALID_CONFIG, `network name ${JSON.stringify(raw.name ?? null)} must be 1-64 letters, digits, "_", "." or "-"`);
  if (raw.socket !== undefined) {
    if (typeof raw.socket !== 'string' || !raw.socket.startsWith('/')) throw new CniError(CODES.INVALID_CONFIG, 'socket must be an absolute path');
    conf.socket = raw.socket;
  }
  if (raw.bridge !== undefined) {
    if (typeof raw.bridge !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/.test(raw.bridge)) throw new CniError(CODES.INVALID_CONFIG, 'bridge must be an interface name (1-15 bytes)');
    conf.bridge = raw.bridge;
  }
  if (raw.mtu !== undefined) {
    if (!Number.isInteger(raw.mtu) || raw.mtu < 68 || raw.mtu > 65535) throw new CniError(CODES.INVALID_CONFIG, 'mtu must be an integer from 68 to 65535');
    conf.mtu = raw.mtu;
  }
  if (raw.ipMasq !== undefined) conf.ipMasq = raw.ipMasq === true;
  if (raw.ipam !== undefined && raw.ipam !== null) {
    if (!isObj(raw.ipam)) throw new CniError(CODES.INVALID_CONFIG, 'ipam must be an object');
    if (Object.keys(raw.ipam).length) conf.ipam = raw.ipam;
  }
  conf.dns = dns(raw.dns, 'dns');
  const rc = raw.runtimeConfig;
  if (rc !== undefined && rc !== null) {
    if (!isObj(rc)) throw new CniError(CODES.INVALID_CONFIG, 'runtimeConfig must be an object');
    conf.runtimeConfig = { portMappings: portMappings(rc.portMappings), ips: ips(rc.ips, 'runtimeConfig.ips'), mac: mac(rc.mac, 'runtimeConfig.mac'), dns: dns(rc.dns, 'runtimeConfig.dns') };
  }
  const args = isObj(raw.args) && isObj(raw.args.cni) ? raw.args.cni : undefined;
  if (args) conf.args = { ips: ips(args.ips, 'args.cni.ips'), mac: mac(args.mac, 'args.cni.mac') };
  if (raw.prevResult !== undefined) conf.prevResult = raw.prevResult;
  const valid = raw['cni.dev/valid-attachments'] ?? raw['cni.dev/attachments'];
  if (command === 'GC' && valid !== undefined) {
    if (!Array.isArray(valid) || valid.some((a) => !isObj(a) || typeof a.containerID !== 'string' || typeof a.ifname !== 'string')) {
      throw new CniError(CODES.INVALID_CONFIG, 'cni.dev/valid-attachments must be a list of {containerID, ifname}');
    }
    conf.validAttachments = valid;
  }
  return conf;
}

export interface ResultIp { address: string; gateway?: string; interface: number }
export interface Result {
  interfaces: Array<{ name: string; mac: string; sandbox?: string }>;
  ips: ResultIp[];
  routes: Array<{ dst: string; gw?: string; priority?: number }>;
  dns: Dns;
}

/** The result as the config's version writes it: 0.3.x/0.4.0 ips carry "version", 1.1.0 routes may carry priority. */
export function formatResult(version: string, r: Result): Record<string, unknown> {
  const old = version.startsWith('0.');
  const routes = r.routes.map((rt) => (version === '1.1.0' || rt.priority === undefined ? rt : { dst: rt.dst, ...(rt.gw ? { gw: rt.gw } : {}) }));
  const ips = r.ips.map((ip) => (old ? { version: ip.address.includes(':') ? '6' : '4', ...ip } : ip));
  return { cniVersion: version, interfaces: r.interfaces, ips, routes, dns: r.dns };
}

export function formatError(version: string, err: CniError): Record<string, unknown> {
  return { cniVersion: version, code: err.code, msg: err.message, ...(err.details ? { details: err.details } : {}) };
}
