// What each CNI command asks of lnetd. The plugin keeps no state: a CNI
// network is the lnetd network of the same name (made on the first ADD), and
// an attachment (container id, interface) is the endpoint named after it, so
// DEL, CHECK and GC find everything again from the daemon alone.

import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { ApiError, Unreachable, type Client } from '../lib/client.js';
import { configSubnets, delegate, delegateType, resultAddresses } from './ipam.js';
import { CniError, CODES, type Env, type NetConf, type Result } from './spec.js';

const q = encodeURIComponent;
const PROTO = { tcp: 6, udp: 17, sctp: 132 } as const;
/** Endpoints lnetd-cni made carry this prefix: GC touches no others. */
export const EP_PREFIX = 'cni-';

/** The endpoint name of an attachment: a hash, as CNI ids and names may be long. */
export function endpointName(containerId: string, ifname: string): string {
  return EP_PREFIX + createHash('sha256').update(`${containerId}\0${ifname}`).digest('hex').slice(0, 40);
}

/** lnetd's container id: the CNI id itself when lnetd takes it as is (containerd's `<ns>-<id>` does), else a hash. */
export function lnetdContainerId(id: string): string {
  return /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/.test(id) ? id : `cni-${createHash('sha256').update(id).digest('hex')}`;
}

interface Net { id: string; name: string; internal: boolean; options: Record<string, string>; ipam: { config: Array<{ subnet: string; gateway: string }> } }
interface Ep { id: string; name: string; container_id: string; interface_name: string; mac_address: string; sandbox_key: string; addresses?: string[]; ipv4_address: string; ipv6_address: string; route_metric?: number }

async function findNetwork(c: Client, name: string): Promise<Net | undefined> {
  return (await c.call<Net[]>('GET', `/networks?name=${q(name)}`))[0];
}

async function findEndpoint(c: Client, net: Net, name: string): Promise<Ep | undefined> {
  return (await c.call<Ep[]>('GET', `/networks/${q(net.id)}/endpoints?name=${q(name)}`))[0];
}

function createBody(conf: NetConf) {
  const subnets = configSubnets(conf);
  const v6 = subnets.some((s) => s.subnet.includes(':'));
  const options: Record<string, string> = {};
  if (conf.bridge) options['com.docker.network.bridge.name'] = conf.bridge;
  if (conf.mtu) options['com.docker.network.driver.mtu'] = String(conf.mtu);
  if (conf.ipMasq === false) options['com.docker.network.bridge.enable_ip_masquerade'] = 'false';
  return {
    name: conf.name, network_type: 'bridge', options,
    ...(subnets.length ? { ipam: { config: subnets } } : {}),
    ...(v6 ? { enable_ipv6: true } : {}),
    ...(subnets.length && !subnets.some((s) => !s.subnet.includes(':')) ? { enable_ipv4: false } : {}),
  };
}

/** The lnetd network for this CNI network, made on first use (a racing ADD that made it first wins). */
async function ensureNetwork(c: Client, conf: NetConf): Promise<Net> {
  for (let i = 0; i < 3; i++) {
    const have = await findNetwork(c, conf.name);
    if (have) return have;
    const r = await c.raw('POST', '/networks', createBody(conf));
    if (r.status === 200) return c.call<Net>('GET', `/networks/${q(r.body)}`);
    if (r.body?.code !== 'NAME_IN_USE') throw new ApiError(r.status, r.body?.code ?? '', `create lnetd network ${conf.name}: ${r.body?.message ?? r.text}`);
  }
  throw new CniError(CODES.TRY_AGAIN_LATER, `lnetd network ${conf.name} kept changing`);
}

/** Static addresses asked for: runtimeConfig.ips, else args.cni.ips, else CNI_ARGS IP (comma-separated). */
function staticIps(env: Env, conf: NetConf): string[] {
  if (conf.runtimeConfig.ips.length) return conf.runtimeConfig.ips;
  if (conf.args.ips.length) return conf.args.ips;
  return (env.args.IP ?? '').split(',').map((s) => s.split('/')[0]!).filter(Boolean);
}

const staticMac = (env: Env, conf: NetConf): string | undefined => conf.runtimeConfig.mac ?? conf.args.mac ?? (env.args.MAC ? env.args.MAC.toLowerCase() : undefined);

function endpointBody(name: string, addrs: string[], mac: string | undefined, conf: NetConf) {
  const v4 = addrs.filter((a) => isIPv4(a));
  const v6 = addrs.filter((a) => !isIPv4(a));
  const ports = conf.runtimeConfig.portMappings;
  return {
    name,
    ...(v4.length ? { ipv4_addresses: v4 } : {}),
    ...(v6.length ? { ipv6_addresses: v6 } : {}),
    ...(mac ? { mac_address: mac } : {}),
    exposed_ports: [...new Map(ports.map((p) => [`${p.protocol}/${p.containerPort}`, { proto: PROTO[p.protocol], port: p.containerPort }])).values()],
    port_mapping: ports.map((p) => ({ proto: PROTO[p.protocol], port: p.containerPort, host_ip: p.hostIP, host_port: p.hostPort })),
    // As with CNI's portmap plugin, the runtime holds the host ports (podman binds
    // them after ADD and hands them to conmon): a socket of lnetd's would make that fail.
    ...(ports.length ? { reserve_ports: false } : {}),
  };
}

/** The runtime's namespace, opened here (our mount namespace is the runtime's) and handed over as our fd. */
function openNetns(path: string): { fd: number; ino: number } {
  try {
    const fd = openSync(path, 'r');
    return { fd, ino: fstatSync(fd).ino };
  } catch (e) {
    throw new CniError(CODES.INVALID_ENV, `CNI_NETNS ${path} can't be opened: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function result(net: Net, ep: Ep, env: Env, conf: NetConf): Result {
  const addrs = ep.addresses ?? [ep.ipv4_address, ep.ipv6_address].filter(Boolean);
  const gw = (cidr: string) => net.ipam.config.find((s) => s.subnet.includes(':') === cidr.includes(':'))?.gateway;
  const ips = addrs.map((address) => ({ address, ...(gw(address) ? { gateway: gw(address)! } : {}), interface: 0 }));
  const routes = net.internal ? [] : [...new Set(addrs.map((a) => (a.includes(':') ? '::/0' : '0.0.0.0/0')))].map((dst) => {
    const g = gw(dst);
    return { dst, ...(g ? { gw: g } : {}), ...(ep.route_metric !== undefined ? { priority: ep.route_metric } : {}) };
  }).filter((r) => r.gw);
  return {
    interfaces: [{ name: env.ifname, mac: ep.mac_address, sandbox: env.netns }],
    ips, routes, dns: conf.runtimeConfig.dns ?? conf.dns ?? {},
  };
}

export async function add(c: Client, env: Env, conf: NetConf, stdin: string): Promise<Result> {
  const { fd, ino } = openNetns(env.netns);
  const cid = lnetdContainerId(env.containerId);
  const name = endpointName(env.containerId, env.ifname);
  let delegated = false;
  try {
    const net = await ensureNetwork(c, conf);
    const old = await findEndpoint(c, net, name);
    // the same ADD again (a runtime retrying) answers what the first made
    if (old && old.container_id === cid && old.interface_name === env.ifname) return result(net, old, env, conf);
    if (old) await removeEndpoint(c, net, old);
    let addrs = staticIps(env, conf);
    if (delegateType(conf)) {
      addrs = resultAddresses(delegate(env, conf, 'ADD', stdin));
      delegated = true;
    }
    const epId = await c.call<string>('POST', `/networks/${q(net.id)}/endpoints`, endpointBody(name, addrs, staticMac(env, conf), conf));
    try {
      await c.call('POST', `/networks/${q(net.id)}/endpoints/${q(epId)}/containers`, {
        container_id: cid, sandbox_key: `/proc/${process.pid}/fd/${fd}`, netns_inode: ino, interface_name: env.ifname,
      });
    } catch (err) {
      // undo: an ADD that failed leaves nothing (the runtime may never call DEL)
      await c.raw('DELETE', `/networks/${q(net.id)}/endpoints/${q(epId)}`).catch(() => undefined);
      throw err;
    }
    return result(net, await c.call<Ep>('GET', `/networks/${q(net.id)}/endpoints/${q(epId)}`), env, conf);
  } catch (err) {
    if (delegated) { try { delegate(env, conf, 'DEL', stdin); } catch { /* best effort */ } }
    throw err;
  } finally {
    closeSync(fd);
  }
}

/** Leave (when joined) and delete; what is already gone is success. */
async function removeEndpoint(c: Client, net: Net, ep: Ep): Promise<void> {
  if (ep.container_id) {
    const r = await c.raw('DELETE', `/networks/${q(net.id)}/endpoints/${q(ep.id)}/containers/${q(ep.container_id)}`);
    if (r.status >= 300 && r.status !== 404) throw new ApiError(r.status, r.body?.code ?? '', `leave: ${r.body?.message ?? r.text}`);
  }
  const r = await c.raw('DELETE', `/networks/${q(net.id)}/endpoints/${q(ep.id)}`);
  if (r.status >= 300 && r.status !== 404) throw new ApiError(r.status, r.body?.code ?? '', `delete endpoint: ${r.body?.message ?? r.text}`);
}

/** DEL: everything of the attachment goes; a missing network, endpoint or namespace is success. */
export async function del(c: Client, env: Env, conf: NetConf, stdin: string): Promise<void> {
  const net = await findNetwork(c, conf.name);
  const ep = net && (await findEndpoint(c, net, endpointName(env.containerId, env.ifname)));
  if (net && ep) await removeEndpoint(c, net, ep);
  if (delegateType(conf)) delegate(env, conf, 'DEL', stdin);
}

/** CHECK: the attachment is there as ADD made it (joined, the interface name, prevResult's addresses). */
export async function check(c: Client, env: Env, conf: NetConf, stdin: string): Promise<void> {
  const net = await findNetwork(c, conf.name);
  if (!net) throw new CniError(CODES.UNKNOWN_CONTAINER, `network ${conf.name} does not exist in lnetd`);
  const ep = await findEndpoint(c, net, endpointName(env.containerId, env.ifname));
  if (!ep || ep.container_id !== lnetdContainerId(env.containerId)) throw new CniError(CODES.UNKNOWN_CONTAINER, `container ${env.containerId} has no ${env.ifname} on network ${conf.name}`);
  if (ep.interface_name !== env.ifname) throw new CniError(CODES.UNKNOWN_CONTAINER, `container ${env.containerId}'s interface is ${ep.interface_name}, not ${env.ifname}`);
  const { fd } = openNetns(env.netns);
  closeSync(fd);
  const want = resultAddresses(conf.prevResult).sort();
  const have = (ep.addresses ?? []).map((a) => a.split('/')[0]!).sort();
  if (conf.prevResult && want.join() !== have.join()) throw new CniError(CODES.INVALID_CONFIG, `prevResult has addresses ${want.join(', ') || 'none'}, lnetd has ${have.join(', ') || 'none'}`);
  if (delegateType(conf)) delegate(env, conf, 'CHECK', stdin);
}

/** GC: every attachment lnetd-cni made on this network that the runtime no longer lists goes. */
export async function gc(c: Client, env: Env, conf: NetConf, stdin: string): Promise<void> {
  const net = await findNetwork(c, conf.name);
  if (!net) return;
  const keep = new Set((conf.validAttachments ?? []).map((a) => endpointName(a.containerID, a.ifname)));
  const eps = await c.call<Ep[]>('GET', `/networks/${q(net.id)}/endpoints`);
  const failed: string[] = [];
  for (const ep of eps.filter((e) => e.name.startsWith(EP_PREFIX) && !keep.has(e.name))) {
    await removeEndpoint(c, net, ep).catch((e: Error) => failed.push(`${ep.name}: ${e.message}`));
  }
  if (delegateType(conf)) { try { delegate(env, conf, 'GC', stdin); } catch { /* an IPAM plugin without GC */ } }
  if (failed.length) throw new CniError(CODES.IO_FAILURE, `GC could not remove ${failed.length} attachment(s)`, failed.join('; '));
}

/** STATUS: the daemon answers. */
export async function status(c: Client): Promise<void> {
  const r = await c.raw('GET', '/_ping');
  if (r.status !== 200) throw new Unreachable(`lnetd answered /_ping with ${r.status}`);
}
