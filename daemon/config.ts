// Settings: embedded defaults < config file < environment < flags. Every one
// is parsed and checked here, before the daemon touches anything (no
// directory made, no mount, no kernel change), and an error names the
// setting the way the operator gave it: the flag, the environment variable or
// the config file's key. main.ts exits 2 on a ConfigError.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, isAbsolute, join } from 'node:path';
import { parseDefaultPools, type IpamPool } from '../drivers/ipam/pools.js';
import { LOG_FORMATS, type LogFormatSetting } from './log.js';

export type ForwardDrop = 'auto' | 'on' | 'off';

export interface Config {
  socket: string;
  /** The Docker Engine API's own socket (its paths overlap the seed API's): beside the seed socket unless named. */
  dockerSocket: string;
  dataDir: string;
  netnsDir: string;
  tcp?: { host: string; port: number };
  /** The Docker Engine API's own TCP port, with the seed API's rules (loopback only). */
  dockerTcp?: { host: string; port: number };
  logLevel: string;
  /** Log line format: auto (journal under systemd, text on a terminal, else json), text, json, journal. */
  logFormat: LogFormatSetting;
  configFile: string;
  /** Parsed pools (a spec string is still taken from callers that build a Config by hand). */
  defaultAddressPools?: IpamPool[] | string;
  defaultAddressPools6?: IpamPool[] | string;
  /** Namespaces made ahead on a pool thread (0: each made in line). */
  netnsPool?: number;
  /** How often a failed store is reopened. */
  storeReopenMs?: number;
  /** Where the per-network-namespace instance lock and forwarding notes live. */
  runDir: string;
  /** Drop forwarded traffic that is neither to nor from lnetd's bridges. */
  forwardDrop: ForwardDrop;
  /** The embedded resolver: on or off. */
  dns: 'on' | 'off';
  /** Port it binds on each gateway address (the gateway's port 53 is redirected there). */
  dnsPort: number;
  /** The host's resolv.conf: the upstreams it forwards to. */
  dnsResolvConf: string;
  /** Queries per second one container may send. */
  dnsRate: number;
  /** Directories hosts_path / resolv_conf_path may name (daemon/files/policy.ts has the defaults). */
  filesDirs?: string[];
  /** Events the log keeps (and GET /events?since= can reach back to). */
  eventsMax?: number;
  /** Shortest prefix a requested subnet may have, either family (default 8: a /2 would take over the host's routing). */
  minSubnetPrefix?: number;
}

type Parse = (value: unknown, where: string) => unknown;
interface Setting { key: keyof Config; flag: string; env: string; file: string; parse: Parse; help: string }

export const DEFAULTS = {
  socket: '/run/lnetd/lnetd.sock',
  dataDir: '/var/lib/lnetd',
  netnsDir: '/run/lnetd/netns',
  logLevel: 'info',
  logFormat: 'auto' as LogFormatSetting,
  configFile: '/etc/lnetd/config.json',
  runDir: '/run/lnetd',
  forwardDrop: 'auto' as ForwardDrop,
  dns: 'on' as const,
  dnsPort: 5053,
  dnsResolvConf: '/etc/resolv.conf',
  dnsRate: 2_000,
};

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const text = (v: unknown, where: string): string => {
  if (typeof v !== 'string') throw new ConfigError(`${where}: must be a string, got ${JSON.stringify(v)}`);
  return v;
};

const path: Parse = (v, where) => {
  const s = text(v, where);
  if (!isAbsolute(s) || s.includes('\0')) throw new ConfigError(`${where}: ${JSON.stringify(s)} must be an absolute path`);
  return s;
};

const oneOf = (values: string[]): Parse => (v, where) => {
  const s = text(v, where);
  if (!values.includes(s)) throw new ConfigError(`${where}: ${JSON.stringify(s)} is not one of ${values.join(', ')}`);
  return s;
};

const integer = (min: number, max: number): Parse => (v, where) => {
  const s = typeof v === 'number' ? String(v) : text(v, where);
  if (!/^\d{1,9}$/.test(s) || Number(s) < min || Number(s) > max) throw new ConfigError(`${where}: ${JSON.stringify(v)} must be a whole number from ${min} to ${max}`);
  return Number(s);
};

/** Default pools: lnetd's `base/len:size,…` text, or Docker daemon.json's
 *  `[{"base": "10.10.0.0/16", "size": 24}, …]` (in the file as JSON, in a flag
 *  or variable as JSON text); every pool of the family the setting is for. */
const pools = (family: 4 | 6): Parse => (v, where) => {
  let list: unknown = v;
  if (typeof v === 'string' && v.trim().startsWith('[')) {
    try { list = JSON.parse(v); } catch (err) { throw new ConfigError(`${where}: not valid JSON: ${(err as Error).message}`); }
  }
  let out: IpamPool[];
  try {
    if (typeof list === 'string') out = parseDefaultPools(list);
    else if (Array.isArray(list) && list.length > 0) {
      out = list.map((p, i) => {
        const o = p as { base?: unknown; size?: unknown };
        if (!o || typeof o !== 'object' || typeof o.base !== 'string' || typeof o.size !== 'number' || Object.keys(o).some((k) => k !== 'base' && k !== 'size')) {
          throw new ConfigError(`${where}: item ${i + 1} must be {"base": "CIDR", "size": N}, got ${JSON.stringify(p)}`);
        }
        return parseDefaultPools(`${o.base}:${o.size}`)[0];
      });
    } else throw new ConfigError(`${where}: must be base/len:size,… or a non-empty list of {"base", "size"}`);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${where}: ${(err as Error).message.replace(/^default pools:?\s*/, '')}`);
  }
  for (const p of out) {
    const fam = p.base.includes(':') ? 6 : 4;
    if (fam !== family) throw new ConfigError(`${where}: ${p.base} is an IPv${fam} pool; this setting takes IPv${family} pools${family === 4 ? ' (IPv6 ones go in the -v6 setting)' : ''}`);
  }
  return out;
};

/** A comma-separated list of absolute directories; "none" allows none. */
const dirs: Parse = (v, where) => {
  const s = text(v, where);
  if (s === 'none') return [];
  const out = s.split(',').map((d) => d.trim()).filter(Boolean);
  for (const d of out) if (!isAbsolute(d) || d.includes('\0') || d.split('/').includes('..')) throw new ConfigError(`${where}: ${JSON.stringify(d)} must be an absolute directory path`);
  return out;
};

const SETTINGS: Setting[] = [
  { key: 'socket', flag: 'socket', env: 'LNETD_SOCKET', file: 'socket', parse: path, help: 'PATH' },
  { key: 'dockerSocket', flag: 'docker-socket', env: 'LNETD_DOCKER_SOCKET', file: 'docker_socket', parse: path, help: 'PATH' },
  { key: 'dataDir', flag: 'data-dir', env: 'LNETD_DATA_DIR', file: 'data_dir', parse: path, help: 'DIR' },
  { key: 'netnsDir', flag: 'netns-dir', env: 'LNETD_NETNS_DIR', file: 'netns_dir', parse: path, help: 'DIR' },
  { key: 'tcp', flag: 'tcp', env: 'LNETD_TCP', file: 'tcp', parse: (v, w) => parseTcp(text(v, w), w), help: 'HOST:PORT' },
  { key: 'dockerTcp', flag: 'docker-tcp', env: 'LNETD_DOCKER_TCP', file: 'docker_tcp', parse: (v, w) => parseTcp(text(v, w), w), help: 'HOST:PORT' },
  { key: 'logLevel', flag: 'log-level', env: 'LNETD_LOG_LEVEL', file: 'log_level', parse: oneOf(LEVELS), help: 'LEVEL' },
  { key: 'logFormat', flag: 'log-format', env: 'LNETD_LOG_FORMAT', file: 'log_format', parse: oneOf([...LOG_FORMATS]), help: LOG_FORMATS.join('|') },
  { key: 'defaultAddressPools', flag: 'default-address-pools', env: 'LNETD_DEFAULT_ADDRESS_POOLS', file: 'default_address_pools', parse: pools(4), help: 'CIDR:SIZE,...' },
  { key: 'defaultAddressPools6', flag: 'default-address-pools-v6', env: 'LNETD_DEFAULT_ADDRESS_POOLS_V6', file: 'default_address_pools_v6', parse: pools(6), help: 'CIDR:SIZE,...' },
  { key: 'netnsPool', flag: 'netns-pool', env: 'LNETD_NETNS_POOL', file: 'netns_pool', parse: integer(0, 64), help: 'N' },
  { key: 'storeReopenMs', flag: 'store-reopen-ms', env: 'LNETD_STORE_REOPEN_MS', file: 'store_reopen_ms', parse: integer(50, 3_600_000), help: 'MS' },
  { key: 'runDir', flag: 'run-dir', env: 'LNETD_RUN_DIR', file: 'run_dir', parse: path, help: 'DIR' },
  { key: 'filesDirs', flag: 'files-dirs', env: 'LNETD_FILES_DIRS', file: 'files_dirs', parse: dirs, help: 'DIR,...|none' },
  { key: 'forwardDrop', flag: 'forward-drop', env: 'LNETD_FORWARD_DROP', file: 'forward_drop', parse: oneOf(['auto', 'on', 'off']), help: 'auto|on|off' },
  { key: 'dns', flag: 'dns', env: 'LNETD_DNS', file: 'dns', parse: oneOf(['on', 'off']), help: 'on|off' },
  { key: 'dnsPort', flag: 'dns-port', env: 'LNETD_DNS_PORT', file: 'dns_port', parse: integer(1, 65535), help: 'PORT' },
  { key: 'dnsResolvConf', flag: 'dns-resolv-conf', env: 'LNETD_DNS_RESOLV_CONF', file: 'dns_resolv_conf', parse: path, help: 'FILE' },
  { key: 'dnsRate', flag: 'dns-rate', env: 'LNETD_DNS_RATE', file: 'dns_rate', parse: integer(1, 1_000_000), help: 'QPS' },
  { key: 'minSubnetPrefix', flag: 'min-subnet-prefix', env: 'LNETD_MIN_SUBNET_PREFIX', file: 'min_subnet_prefix', parse: integer(1, 32), help: 'N' },
  { key: 'eventsMax', flag: 'events-max', env: 'LNETD_EVENTS_MAX', file: 'events_max', parse: integer(100, 9_999_999), help: 'N' },
];

export const USAGE = `usage: lnetd [--config FILE] ${SETTINGS.map((s) => `[--${s.flag} ${s.help}]`).join(' ')}
Each flag has an environment variable (${SETTINGS.map((s) => s.env).join(', ')}, LNETD_CONFIG)
and a config-file key (${SETTINGS.map((s) => s.file).join(', ')}). Flags win over the
environment, the environment over the file.`;

function parseFlags(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new ConfigError(`unexpected argument ${a}\n${USAGE}`);
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new ConfigError(`--${name} needs a value`);
    out.set(name, value);
  }
  return out;
}

function readFile(file: string, explicit: boolean): Record<string, unknown> {
  let body: string;
  try {
    body = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return {};
    throw new ConfigError(`config file ${file}: ${(err as Error).message}`);
  }
  try {
    const v = JSON.parse(body);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('must hold a JSON object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`config file ${file}: ${(err as Error).message}`);
  }
}

export function parseTcp(value: string, where = 'tcp'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  if (!m) throw new ConfigError(`${where}: ${value}: use HOST:PORT, e.g. 127.0.0.1:2375`);
  const host = m[1] ?? m[2];
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new ConfigError(`${where}: ${value}: port must be 1-65535`);
  const loopback = host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
  if (!loopback) throw new ConfigError(`${where}: ${value}: only a loopback address (127.0.0.1, ::1, localhost) is allowed until lnetd has authentication`);
  return { host, port };
}

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  const flags = parseFlags(argv);
  for (const name of flags.keys()) {
    if (name !== 'config' && !SETTINGS.some((s) => s.flag === name)) throw new ConfigError(`unknown flag --${name}\n${USAGE}`);
  }
  const configFile = flags.get('config') ?? env.LNETD_CONFIG ?? DEFAULTS.configFile;
  if (!isAbsolute(configFile)) throw new ConfigError(`${flags.has('config') ? '--config' : 'LNETD_CONFIG'}: ${JSON.stringify(configFile)} must be an absolute path`);
  const file = readFile(configFile, flags.has('config') || env.LNETD_CONFIG !== undefined);
  for (const k of Object.keys(file)) {
    if (!SETTINGS.some((s) => s.file === k)) throw new ConfigError(`config file ${configFile}: unknown key ${k}`);
  }
  const cfg: Record<string, unknown> = { ...DEFAULTS, configFile };
  for (const s of SETTINGS) {
    const candidates: Array<[unknown, string]> = [[flags.get(s.flag), `--${s.flag}`], [env[s.env], s.env], [file[s.file], `config file ${configFile}: ${s.file}`]];
    const found = candidates.find(([v]) => v !== undefined && v !== '');
    if (found) cfg[s.key] = s.parse(found[0], found[1]);
  }
  // unless named, the Docker API's socket sits beside the seed API's: /run/lnetd/docker.sock by default
  cfg.dockerSocket ??= join(dirname(cfg.socket as string), 'docker.sock');
  if (cfg.dockerSocket === cfg.socket) throw new ConfigError(`docker socket ${String(cfg.socket)} is the seed API's socket; the Docker API needs a socket of its own`);
  const [t1, t2] = [cfg.tcp as Config['tcp'], cfg.dockerTcp as Config['tcp']];
  if (t1 && t2 && t1.port === t2.port) throw new ConfigError(`docker tcp: port ${t2.port} is the seed API's; the Docker API needs a port of its own`);
  return cfg as unknown as Config;
}
