// Request validation: raw JSON in, typed requests out, or a BadRequest that
// names the field. Nothing here touches the controller, store or kernel, so a
// rejected request can't have changed anything.

import { BadRequest } from '../../../errors/index.js';
import { canonHostIp } from '../../../drivers/ipam/ports.js';
import { MAX_PORT_BINDINGS } from '../../controller/ports.js';
import type { PortBindingInput, PortSpec } from '../../controller/types.js';

export const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
/** Endpoint and service names may carry Docker's leading slash ("/lonely_pasteur"). */
export const ENDPOINT_NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
/** Container ids end up in a path (the sandbox key): no slashes, no dot-dot. */
export const CONTAINER_ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
export const PROTOS: Record<number, 'tcp' | 'udp' | 'sctp'> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

type Json = Record<string, unknown>;

export function asObject(body: unknown, what = 'request body'): Json {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new BadRequest(`${what} must be a JSON object`, 'INVALID_BODY');
  return body as Json;
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}

export function str(o: Json, field: string, opts: { required?: boolean; max?: number; re?: RegExp; hint?: string } = {}): string | undefined {
  const v = o[field];
  if (!present(v) || (v === '' && !opts.required)) {
    if (opts.required) throw new BadRequest(`${field} is required`, 'MISSING_FIELD');
    return undefined;
  }
  if (typeof v !== 'string') throw new BadRequest(`${field} must be a string`, 'INVALID_FIELD');
  if (opts.max !== undefined && Buffer.byteLength(v) > opts.max) throw new BadRequest(`${field} must be at most ${opts.max} bytes`, 'INVALID_FIELD');
  if (opts.re && !opts.re.test(v)) throw new BadRequest(`${field} ${JSON.stringify(v.slice(0, 80))} is not valid${opts.hint ? `: ${opts.hint}` : ''}`, 'INVALID_FIELD');
  return v;
}

export function bool(o: Json, field: string): boolean | undefined {
  const v = o[field];
  if (!present(v)) return undefined;
  if (typeof v !== 'boolean') throw new BadRequest(`${field} must be true or false`, 'INVALID_FIELD');
  return v;
}

export function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new BadRequest(`${field} must be an integer from ${min} to ${max}`, 'INVALID_PORT');
  return v;
}

export function arr(o: Json, field: string): unknown[] {
  const v = o[field];
  if (!present(v)) return [];
  if (!Array.isArray(v)) throw new BadRequest(`${field} must be an array`, 'INVALID_FIELD');
  if (v.length > 4096) throw new BadRequest(`${field} has more than 4096 elements`, 'INVALID_FIELD');
  return v;
}

/** A string map (options, aux addresses). Numbers and booleans are kept as text. */
export function stringMap(o: Json, field: string): Record<string, string> {
  const v = o[field];
  if (!present(v)) return {};
  const m = asObject(v, field);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(m)) {
    if (k.length > 256) throw new BadRequest(`${field} has a key longer than 256 bytes`, 'INVALID_FIELD');
    if (typeof val === 'string') out[k] = val;
    else if (typeof val === 'number' || typeof val === 'boolean') out[k] = String(val);
    else throw new BadRequest(`${field}.${k} must be a string, number or boolean`, 'INVALID_FIELD');
    if (out[k].length > 4096) throw new BadRequest(`${field}.${k} is longer than 4096 bytes`, 'INVALID_FIELD');
  }
  return out;
}

export function proto(v: unknown, field: string): number {
  if (typeof v !== 'number' || !(v in PROTOS)) throw new BadRequest(`${field} must be 6 (tcp), 17 (udp) or 132 (sctp)`, 'INVALID_PORT');
  return v;
}

export function exposedPorts(o: Json): PortSpec[] {
  return arr(o, 'exposed_ports').map((raw, i) => {
    const p = asObject(raw, `exposed_ports[${i}]`);
    return { proto: proto(p.proto ?? p.Proto, `exposed_ports[${i}].proto`), port: int(p.port ?? p.Port, `exposed_ports[${i}].port`, 1, 65535) };
  });
}


/** port_mapping in the seed's snake_case or libnetwork's PortBinding names;
 *  `range: N` (netavark's) maps N consecutive container ports one to one onto
 *  N consecutive host ports, and stands for N bindings; a request stands for
 *  at most MAX_PORT_BINDINGS. host_ip is kept in its canonical form (::1 for
 *  0:0:0:0:0:0:0:1, 127.0.0.1 for ::ffff:127.0.0.1). */
export function portMapping(o: Json): PortBindingInput[] {
  const raws = arr(o, 'port_mapping');
  let total = 0;
  const out = raws.flatMap((raw, i) => {
    const p = asObject(raw, `port_mapping[${i}]`);
    const f = `port_mapping[${i}]`;
    const pick = (a: string, b: string) => (p[a] !== undefined ? p[a] : p[b]);
    const hostIpRaw = pick('host_ip', 'HostIP') ?? '';
    const hostIp = typeof hostIpRaw === 'string' ? canonHostIp(hostIpRaw) : undefined;
    if (hostIp === undefined) throw new BadRequest(`${f}.host_ip must be an IP address (no zone) or ""`, 'INVALID_ADDRESS');
    const hostPort = int(pick('host_port', 'HostPort') ?? 0, `${f}.host_port`, 0, 65535);
    const hostPortEnd = int(pick('host_port_end', 'HostPortEnd') ?? 0, `${f}.host_port_end`, 0, 65535);
    if (hostPortEnd !== 0 && (hostPort === 0 || hostPortEnd < hostPort)) throw new BadRequest(`${f}.host_port_end must be 0 or at least host_port (and host_port not 0)`, 'INVALID_PORT');
    const one = { proto: proto(pick('proto', 'Proto'), `${f}.proto`), port: int(pick('port', 'Port'), `${f}.port`, 1, 65535), hostIp, hostPort, hostPortEnd, field: f };
    const range = p.range === undefined || p.range === null ? 1 : int(p.range, `${f}.range`, 1, 65535);
    total += range;
    if (total > MAX_PORT_BINDINGS) throw new BadRequest(`port_mapping stands for more than ${MAX_PORT_BINDINGS} bindings (at ${f}; a range counts each of its ports): split the endpoint's ports, or publish fewer`, 'INVALID_PORT');
    if (range === 1) return [one];
    if (hostPort === 0 || hostPortEnd !== 0) throw new BadRequest(`${f}.range needs a host_port and no host_port_end: the ranges map one to one`, 'INVALID_PORT');
    if (one.port + range - 1 > 65535 || hostPort + range - 1 > 65535) throw new BadRequest(`${f}.range runs past port 65535`, 'INVALID_PORT');
    return Array.from({ length: range }, (_, k) => ({ ...one, port: one.port + k, hostPort: hostPort + k }));
  });
  return out;
}
