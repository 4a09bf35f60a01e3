// The lnetd side of one podman network: find or create the lnetd network for
// it, and the container's endpoint on it. Requests only; no state is kept here.

import { closeSync, fstatSync, openSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { ApiError, type Client } from '../lib/client.js';
import type { NetworkInfo, PerNetwork, PortMap } from './options.js';

/** Marks a network lnetd-netavark created, with the podman network id: only those are deleted when their last container goes. */
export const OPT_PODMAN_ID = 'io.lnetd.netavark.network_id';
export const OPT_BRIDGE_NAME = 'com.docker.network.bridge.name';

export interface LnetdNetwork {
  id: string;
  name: string;
  options: Record<string, string>;
  ipam: { config: Array<{ subnet: string; gateway: string }> };
  endpoints: Array<{ id: string; name: string }>;
}

export interface LnetdEndpoint {
  id: string;
  name: string;
  port_mapping: unknown[];
  ipv4_address: string;
  ipv6_address: string;
  mac_address: string;
  container_id: string;
  sandbox_key: string;
}

const q = encodeURIComponent;
const isV4 = (cidr: string) => isIPv4(cidr.split('/')[0]);

/** Subnets compared as the daemon stores them: network address and prefix. */
function sameSubnets(net: LnetdNetwork, info: NetworkInfo): boolean {
  const have = net.ipam.config.map((c) => c.subnet).sort();
  const want = info.subnets.map((s) => canonical(s.subnet)).sort();
  return have.length === want.length && have.every((s, i) => s === want[i]);
}

/** a.b.c.d/n with the host bits cleared (IPv6 is compared as given, lower-cased). */
export function canonical(cidr: string): string {
  const [ip, len] = cidr.split('/');
  if (!isIPv4(ip)) return cidr.toLowerCase();
  const n = Number(len);
  const v = ip.split('.').reduce((a, b) => (a << 8) + Number(b), 0) >>> 0;
  const masked = n === 0 ? 0 : (v & (~0 << (32 - n))) >>> 0;
  return `${[24, 16, 8, 0].map((s) => (masked >>> s) & 255).join('.')}/${n}`;
}

export async function findNetwork(c: Client, name: string): Promise<LnetdNetwork | undefined> {
  const list = await c.call<LnetdNetwork[]>('GET', `/networks?name=${q(name)}`);
  return list[0];
}

function createBody(info: NetworkInfo) {
  return {
    name: info.name,
    network_type: 'bridge',
    options: { [OPT_BRIDGE_NAME]: info.bridge, [OPT_PODMAN_ID]: info.id || info.name, ...(info.mtu ? { 'com.docker.network.driver.mtu': info.mtu } : {}) },
    ipam: { config: info.subnets.map((s) => ({ subnet: s.subnet, ...(s.gateway ? { gateway: s.gateway } : {}) })) },
    enable_ipv6: info.ipv6 || info.subnets.some((s) => !isV4(s.subnet)),
    internal: info.internal,
  };
}

/** The lnetd network for a podman network, made the first time it is seen. `created` when this call made it. */
export async function ensureNetwork(c: Client, info: NetworkInfo): Promise<{ net: LnetdNetwork; created: boolean }> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const have = await findNetwork(c, info.name);
    if (have) {
      const ours = have.options[OPT_PODMAN_ID];
      if (ours !== undefined && ours !== (info.id || info.name) && have.endpoints.length === 0) {
        // podman removed and re-made a network of this name: the old lnetd one is ours and empty
        await deleteNetworkIfEmpty(c, have);
        continue;
      }
      if (!sameSubnets(have, info) || (have.options[OPT_BRIDGE_NAME] ?? '') !== info.bridge) {
        throw new Error(`lnetd network ${info.name} exists with other subnets or another bridge (${have.ipam.config.map((s) => s.subnet).join(', ') || 'none'}, bridge ${have.options[OPT_BRIDGE_NAME] ?? 'default'}) than podman's (${info.subnets.map((s) => s.subnet).join(', ')}, bridge ${info.bridge})`);
      }
      return { net: have, created: false };
    }
    try {
      const id = await c.call<string>('POST', '/networks', createBody(info));
      return { net: await c.call<LnetdNetwork>('GET', `/networks/${q(id)}`), created: true };
    } catch (err) {
      // another setup made it meanwhile: use theirs
      if (err instanceof ApiError && err.code === 'NAME_IN_USE') continue;
      throw err;
    }
  }
  throw new Error(`lnetd network ${info.name} kept changing while it was being set up`);
}

/** Delete a network lnetd-netavark made, once no endpoint is left on it (409: someone joined meanwhile, it stays). */
export async function deleteNetworkIfEmpty(c: Client, net: LnetdNetwork): Promise<void> {
  if (net.options[OPT_PODMAN_ID] === undefined) return;
  const now = await c.raw('GET', `/networks/${q(net.id)}`);
  if (now.status === 404) return;
  if (now.status !== 200 || (now.body as LnetdNetwork).endpoints.length > 0) return;
  const r = await c.raw('DELETE', `/networks/${q(net.id)}`);
  if (r.status >= 300 && r.status !== 404 && r.status !== 409) throw new ApiError(r.status, r.body?.code ?? '', `delete lnetd network ${net.name}: ${r.body?.message ?? r.text}`);
}

/** The endpoint's name in lnetd: the container's name (as Docker does), else its id when the name doesn't fit lnetd's rules. */
export function endpointName(containerName: string, containerId: string): string {
  return /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/.test(containerName) ? containerName : containerId.slice(0, 64);
}

export async function findEndpoint(c: Client, netId: string, name: string): Promise<LnetdEndpoint | undefined> {
  const list = await c.call<LnetdEndpoint[]>('GET', `/networks/${q(netId)}/endpoints?name=${q(name)}`);
  return list[0];
}

/** netavark's mappings in lnetd's seed format; lnetd maps a range of N one to one, as netavark does. */
export function portBindings(ports: PortMap[]) {
  const protoNum = { tcp: 6, udp: 17, sctp: 132 } as const;
  return ports.map((p) => ({
    proto: protoNum[p.proto], port: p.containerPort, host_ip: p.hostIp, host_port: p.hostPort, host_port_end: 0, ...(p.range > 1 ? { range: p.range } : {}),
  }));
}

/** Static addresses by family; each must lie in one of the network's subnets. */
export function staticAddresses(info: NetworkInfo, opts: PerNetwork): { ipv4?: string; ipv6?: string } {
  const out: { ipv4?: string; ipv6?: string } = {};
  for (const ip of opts.staticIps) {
    const key = isIPv4(ip) ? 'ipv4' : 'ipv6';
    if (out[key]) throw new Error(`networks.${info.name}.static_ips: lnetd takes one ${key === 'ipv4' ? 'IPv4' : 'IPv6'} address per network, got ${out[key]} and ${ip}`);
    out[key] = ip;
  }
  return out;
}

export async function createEndpoint(c: Client, net: LnetdNetwork, name: string, info: NetworkInfo, opts: PerNetwork, ports: PortMap[]): Promise<LnetdEndpoint> {
  const { ipv4, ipv6 } = staticAddresses(info, opts);
  const id = await c.call<string>('POST', `/networks/${q(net.id)}/endpoints`, {
    name,
    ...(ipv4 ? { ipv4_address: ipv4 } : {}),
    ...(ipv6 ? { ipv6_address: ipv6 } : {}),
    ...(opts.mac ? { mac_address: opts.mac } : {}),
    port_mapping: portBindings(ports),
    // podman binds the published ports itself after setup and hands them to
    // conmon (its reservation); a socket of lnetd's would make that bind fail
    ...(ports.length ? { reserve_ports: false } : {}),
  });
  return c.call<LnetdEndpoint>('GET', `/networks/${q(net.id)}/endpoints/${q(id)}`);
}

/** Paths the daemon opens as a runtime's namespace; any other is handed over as this process's open fd. */
const DAEMON_NETNS_PATHS = /^\/(var\/)?run\/netns\/[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

/** Join the endpoint into podman's namespace, with the interface name podman asked for. The namespace's
 *  inode goes along, so the daemon joins exactly the namespace this process saw (not a path re-used since). */
export async function joinInto(c: Client, netId: string, epId: string, containerId: string, netns: string, ifname: string): Promise<void> {
  let fd: number;
  try {
    fd = openSync(netns, 'r');
  } catch (e) {
    throw new Error(`invalid namespace path ${netns}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const ino = fstatSync(fd).ino;
    const key = DAEMON_NETNS_PATHS.test(netns) ? netns : `/proc/${process.pid}/fd/${fd}`;
    await c.call('POST', `/networks/${q(netId)}/endpoints/${q(epId)}/containers`, {
      container_id: containerId, sandbox_key: key, netns_inode: ino, interface_name: ifname,
    });
  } finally {
    closeSync(fd);
  }
}

/** Leave (when joined to this container) and delete the endpoint; a 404 on either is success. */
export async function removeEndpoint(c: Client, netId: string, ep: LnetdEndpoint, containerId: string): Promise<void> {
  if (ep.container_id === containerId) {
    const r = await c.raw('DELETE', `/networks/${q(netId)}/endpoints/${q(ep.id)}/containers/${q(containerId)}`);
    if (r.status >= 300 && r.status !== 404) throw new ApiError(r.status, r.body?.code ?? '', `leave ${ep.name}: ${r.body?.message ?? r.text}`);
  }
  const r = await c.raw('DELETE', `/networks/${q(netId)}/endpoints/${q(ep.id)}`);
  if (r.status >= 300 && r.status !== 404) throw new ApiError(r.status, r.body?.code ?? '', `delete endpoint ${ep.name}: ${r.body?.message ?? r.text}`);
}
