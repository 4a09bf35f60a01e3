// What each change did, in the log: one info line per event of a committed
// batch (network create/delete, endpoint create/delete, container
// join/leave), with the details the event leaves out (subnets, gateways and
// bridge of a network; addresses, MAC and ports of an endpoint; sandbox key,
// interface and host-side veth of a join). Called from the one commit path
// (Controller.commit) with the index as it stood before the batch, so every
// writer, operations, journal recovery and reconcile alike, is logged and none
// can forget to.

import type { EndpointRecord, NetworkRecord, PortBinding, SandboxRecord } from '../store/records.js';
import type { BatchOp } from '../store/store.js';
import { hostVethName } from '../drivers/bridge/bridge.js';
import type { LnetdEvent } from './controller/event-types.js';
import type { State } from './controller/state.js';

export interface ChangeLogger { info(o: object, msg?: string): void; error(o: object, msg?: string): void; isLevelEnabled?(level: string): boolean }

const PROTO: Record<number, string> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };
const short = (id: string): string => id.slice(0, 12);

export function portText(p: PortBinding): string {
  const host = p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp || '*';
  const range = p.hostPortEnd && p.hostPortEnd !== p.hostPort ? `-${p.hostPortEnd}` : '';
  return `${host}:${p.hostPort}${range}->${p.port}/${PROTO[p.proto] ?? p.proto}`;
}

function networkFields(n: NetworkRecord | undefined): Record<string, unknown> {
  if (!n) return {};
  const bridge = (n.driver as { bridge?: unknown }).bridge;
  return {
    subnets: [n.ipv4?.subnet, n.ipv6?.subnet].filter(Boolean),
    gateways: [n.ipv4?.gateway, n.ipv6?.gateway].filter(Boolean),
    ...(typeof bridge === 'string' ? { bridge } : {}),
    ...(n.internal ? { internal: true } : {}),
  };
}

function endpointFields(e: EndpointRecord | undefined): Record<string, unknown> {
  if (!e) return {};
  return {
    addresses: [e.ipv4, e.ipv6, ...(e.extraAddresses ?? [])].filter(Boolean),
    ...(e.mac ? { mac: e.mac } : {}),
    ...(e.portMapping.length ? { ports: e.portMapping.map(portText) } : {}),
    ...(e.exposedPorts.length ? { exposed: e.exposedPorts.map((p) => `${p.port}/${PROTO[p.proto] ?? p.proto}`) } : {}),
    ...(e.aliases?.length ? { aliases: e.aliases } : {}),
    ...(e.service ? { service: true } : {}),
  };
}

const list = (v: unknown): string => (Array.isArray(v) && v.length ? v.join(',') : 'none');

/** One log record per event: the fields and a sentence saying what changed. */
export function describeChanges(state: State, events: readonly LnetdEvent[], ops: readonly BatchOp[]): Array<{ fields: Record<string, unknown>; msg: string }> {
  const puts = new Map<string, unknown>();
  for (const op of ops) if (op.type === 'put') puts.set(`${op.kind}/${op.key}`, op.value);
  // a delete's network is the one in the index, a create's the one the batch puts
  const net = (id: string) => (puts.get(`networks/${id}`) as NetworkRecord | undefined) ?? state.networks.get(id);
  // after the batch for creates and joins, before it for deletes and leaves
  const epAfter = (id: string) => (puts.get(`endpoints/${id}`) as EndpointRecord | undefined) ?? state.endpoints.get(id);
  const epBefore = (id: string) => state.endpoints.get(id) ?? epAfter(id);
  const sandbox = (id: string) => (puts.get(`sandboxes/${id}`) as SandboxRecord | undefined) ?? state.sandboxes.get(id);
  const out: Array<{ fields: Record<string, unknown>; msg: string }> = [];
  for (const e of events) {
    const base = { change: `${e.type}.${e.action}`, seq: e.seq, network: e.network.name, network_id: short(e.network.id), driver: e.network.driver };
    if (e.type === 'network') {
      const f: Record<string, unknown> = { ...base, ...networkFields(net(e.network.id)) };
      const bridge = f.bridge ? ` bridge ${String(f.bridge)}` : '';
      out.push({ fields: f, msg: `network ${e.network.name} ${e.action === 'create' ? 'created' : 'deleted'}: ${e.network.driver}, subnets ${list(f.subnets)}${bridge}` });
      continue;
    }
    const rec = e.action === 'create' || e.action === 'join' ? epAfter(e.endpoint.id) : epBefore(e.endpoint.id);
    const epf = endpointFields(rec);
    const ep = { endpoint: e.endpoint.name, endpoint_id: short(e.endpoint.id), ...epf };
    if (e.type === 'endpoint') {
      const ports = epf.ports ? `, ports ${list(epf.ports)}` : '';
      out.push({ fields: { ...base, ...ep }, msg: `endpoint ${e.endpoint.name} ${e.action === 'create' ? 'created on' : 'deleted from'} ${e.network.name}: addresses ${list(epf.addresses)}${ports}` });
      continue;
    }
    const veth = e.network.driver === 'bridge' ? { host_veth: hostVethName(e.endpoint.id) } : {};
    const sb = sandbox(e.container.id);
    const f = {
      ...base, ...ep, container: e.container.id, sandbox_key: e.container.sandboxKey, interface: e.container.ifname, ...veth,
      ...(e.container.hostName ? { host_name: e.container.hostName } : {}),
      ...(sb && sb.owned === false ? { runtime_netns: true } : {}),
    };
    const dir = e.action === 'join' ? 'joined' : 'left';
    out.push({ fields: f, msg: `container ${short(e.container.id)} ${dir} ${e.network.name} (endpoint ${e.endpoint.name}): ${e.container.ifname || 'no interface'} in ${e.container.sandboxKey}, addresses ${list(epf.addresses)}` });
  }
  return out;
}

/** Log a committed batch's changes; never throws (the batch is already durable). */
export function logChanges(log: ChangeLogger, state: State, events: readonly LnetdEvent[], ops: readonly BatchOp[]): void {
  if (!events.length) return;
  // below info nothing is built: this runs in every operation's commit
  if (log.isLevelEnabled && !log.isLevelEnabled('info')) return;
  try {
    for (const c of describeChanges(state, events, ops)) log.info(c.fields, c.msg);
  } catch (err) {
    log.error({ err }, 'could not log a committed change');
  }
}
