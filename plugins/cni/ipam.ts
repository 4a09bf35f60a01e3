// IPAM for lnetd-cni. No `ipam` (or `"type": "lnetd"`): lnetd allocates. Any
// other type is a delegated IPAM plugin, run from CNI_PATH exactly as the spec
// says (same environment and stdin), and its addresses go to lnetd as static
// ones. Either way `ipam.subnet` / `ipam.ranges` shape the lnetd network.

import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { CniError, CODES, type Env, type NetConf } from './spec.js';

export interface Subnet { subnet: string; gateway?: string }

/** The subnets the config names: ipam.subnet/gateway, or ipam.ranges (host-local's shape). */
export function configSubnets(conf: NetConf): Subnet[] {
  const ipam = conf.ipam;
  if (!ipam) return [];
  const out: Subnet[] = [];
  const add = (s: unknown, gw: unknown, field: string) => {
    if (typeof s !== 'string' || !s.includes('/') || !isIP(s.split('/')[0]!)) throw new CniError(CODES.INVALID_CONFIG, `${field} must be a CIDR`);
    if (gw !== undefined && (typeof gw !== 'string' || !isIP(gw))) throw new CniError(CODES.INVALID_CONFIG, `${field}: gateway must be an IP address`);
    out.push({ subnet: s, ...(gw ? { gateway: gw as string } : {}) });
  };
  if (ipam.subnet !== undefined) add(ipam.subnet, ipam.gateway, 'ipam.subnet');
  if (ipam.ranges !== undefined) {
    if (!Array.isArray(ipam.ranges)) throw new CniError(CODES.INVALID_CONFIG, 'ipam.ranges must be a list of range sets');
    ipam.ranges.forEach((set: unknown, i: number) => {
      const first = Array.isArray(set) ? set[0] : undefined;
      if (!first || typeof first !== 'object') throw new CniError(CODES.INVALID_CONFIG, `ipam.ranges[${i}] must be a non-empty list`);
      add((first as any).subnet, (first as any).gateway, `ipam.ranges[${i}][0].subnet`);
    });
  }
  const fams = out.map((s) => (s.subnet.includes(':') ? 6 : 4));
  if (fams.filter((f) => f === 4).length > 1 || fams.filter((f) => f === 6).length > 1) {
    throw new CniError(CODES.INVALID_CONFIG, 'lnetd networks take at most one IPv4 and one IPv6 subnet');
  }
  return out;
}

/** The delegated IPAM plugin's type, or undefined when lnetd allocates. */
export function delegateType(conf: NetConf): string | undefined {
  const t = conf.ipam?.type;
  if (t === undefined || t === 'lnetd') return undefined;
  if (typeof t !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(t)) throw new CniError(CODES.INVALID_CONFIG, 'ipam.type must be a plugin name');
  return t;
}

function findPlugin(env: Env, type: string): string {
  for (const dir of env.path) {
    const p = join(dir, type);
    try { accessSync(p, constants.X_OK); return p; } catch { /* next */ }
  }
  throw new CniError(CODES.INVALID_CONFIG, `ipam plugin ${type} not found in CNI_PATH (${env.path.join(':') || 'empty'})`);
}

/** Run the IPAM plugin for command; its parsed stdout (ADD) or nothing. Its error is passed on as it came. */
export function delegate(env: Env, conf: NetConf, command: 'ADD' | 'DEL' | 'CHECK' | 'GC', stdinText: string): any {
  const type = delegateType(conf)!;
  const r = spawnSync(findPlugin(env, type), [], {
    input: stdinText, encoding: 'utf8', timeout: 10_000,
    env: { ...process.env, CNI_COMMAND: command },
  });
  if (r.error) throw new CniError(CODES.IO_FAILURE, `ipam plugin ${type}: ${r.error.message}`);
  let out: any;
  try { out = r.stdout ? JSON.parse(r.stdout) : undefined; } catch { out = undefined; }
  if (r.status !== 0) {
    throw new CniError(typeof out?.code === 'number' ? out.code : CODES.IO_FAILURE, `ipam plugin ${type}: ${out?.msg ?? (r.stderr.trim() || `exit ${r.status}`)}`, out?.details ?? '');
  }
  return out;
}

/** Addresses (no prefix) of an IPAM result. */
export function resultAddresses(res: any): string[] {
  const list = Array.isArray(res?.ips) ? res.ips : [];
  return list.map((ip: any) => String(ip?.address ?? '').split('/')[0]).filter((a: string) => isIP(a));
}
