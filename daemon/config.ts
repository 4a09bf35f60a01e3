// Settings: embedded defaults < config file < environment < flags, all
// validated before anything starts, each error naming the setting.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';

export interface Config {
  socket: string;
  dataDir: string;
  netnsDir: string;
  tcp?: { host: string; port: number };
  logLevel: string;
  configFile: string;
  defaultAddressPools?: string;
  defaultAddressPools6?: string;
}

interface Setting { key: keyof Config; flag: string; env: string; file: string }

const SETTINGS: Setting[] = [
  { key: 'socket', flag: 'socket', env: 'LNETD_SOCKET', file: 'socket' },
  { key: 'dataDir', flag: 'data-dir', env: 'LNETD_DATA_DIR', file: 'data_dir' },
  { key: 'netnsDir', flag: 'netns-dir', env: 'LNETD_NETNS_DIR', file: 'netns_dir' },
  { key: 'tcp', flag: 'tcp', env: 'LNETD_TCP', file: 'tcp' },
  { key: 'logLevel', flag: 'log-level', env: 'LNETD_LOG_LEVEL', file: 'log_level' },
  { key: 'defaultAddressPools', flag: 'default-address-pools', env: 'LNETD_DEFAULT_ADDRESS_POOLS', file: 'default_address_pools' },
  { key: 'defaultAddressPools6', flag: 'default-address-pools-v6', env: 'LNETD_DEFAULT_ADDRESS_POOLS_V6', file: 'default_address_pools_v6' },
];

export const DEFAULTS = {
  socket: '/run/lnetd/lnetd.sock',
  dataDir: '/var/lib/lnetd',
  netnsDir: '/run/lnetd/netns',
  logLevel: 'info',
  configFile: '/etc/lnetd/config.json',
};

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const USAGE = `usage: lnetd [--config FILE] [--socket PATH] [--data-dir DIR] [--netns-dir DIR]
             [--tcp HOST:PORT] [--log-level LEVEL] [--default-address-pools CIDR:SIZE,...]
             [--default-address-pools-v6 CIDR:SIZE,...]
Each flag has an environment variable (LNETD_SOCKET, LNETD_DATA_DIR, LNETD_NETNS_DIR,
LNETD_TCP, LNETD_LOG_LEVEL, LNETD_DEFAULT_ADDRESS_POOLS, LNETD_CONFIG) and a config-file key
(socket, data_dir, netns_dir, tcp, log_level, default_address_pools). Flags win over the
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

function readFile(path: string, explicit: boolean): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return {};
    throw new ConfigError(`config file ${path}: ${(err as Error).message}`);
  }
  try {
    const v = JSON.parse(text);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('must hold a JSON object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`config file ${path}: ${(err as Error).message}`);
  }
}

export function parseTcp(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  if (!m) throw new ConfigError(`tcp ${value}: use HOST:PORT, e.g. 127.0.0.1:2375`);
  const host = m[1] ?? m[2];
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new ConfigError(`tcp ${value}: port must be 1-65535`);
  const loopback = host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
  if (!loopback) throw new ConfigError(`tcp ${value}: only a loopback address (127.0.0.1, ::1, localhost) is allowed until lnetd has authentication`);
  return { host, port };
}

function check(key: keyof Config, value: string, source: string): void {
  const where = `${key} (${source})`;
  if (['socket', 'dataDir', 'netnsDir'].includes(key) && (!isAbsolute(value) || value.includes('\0'))) throw new ConfigError(`${where}: ${value} must be an absolute path`);
  if (key === 'logLevel' && !LEVELS.includes(value)) throw new ConfigError(`${where}: ${value} is not one of ${LEVELS.join(', ')}`);
}

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  const flags = parseFlags(argv);
  for (const name of flags.keys()) {
    if (name !== 'config' && !SETTINGS.some((s) => s.flag === name)) throw new ConfigError(`unknown flag --${name}\n${USAGE}`);
  }
  const configFile = flags.get('config') ?? env.LNETD_CONFIG ?? DEFAULTS.configFile;
  const file = readFile(configFile, flags.has('config') || env.LNETD_CONFIG !== undefined);
  const cfg: Record<string, unknown> = { ...DEFAULTS, configFile };
  for (const s of SETTINGS) {
    const fromFile = file[s.file];
    const candidates: Array<[unknown, string]> = [[flags.get(s.flag), `--${s.flag}`], [env[s.env], s.env], [fromFile, `${configFile}: ${s.file}`]];
    const found = candidates.find(([v]) => v !== undefined && v !== '');
    if (!found) continue;
    const [value, source] = found;
    if (typeof value !== 'string') throw new ConfigError(`${s.key} (${source}) must be a string`);
    check(s.key, value, source);
    cfg[s.key] = s.key === 'tcp' ? parseTcp(value) : value;
  }
  for (const k of Object.keys(file)) {
    if (!SETTINGS.some((s) => s.file === k)) throw new ConfigError(`config file ${configFile}: unknown key ${k}`);
  }
  return cfg as unknown as Config;
}
