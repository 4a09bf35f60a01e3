// setup and teardown as netavark does them, on lnetd: one endpoint per
// (container, network), joined into podman's namespace with the interface name
// podman picked. podman calls no teardown after a failed setup, so a setup
// that fails undoes what it did; a teardown never stops at its first failure.

import { statSync } from 'node:fs';
import { ApiError, type Client } from '../lib/client.js';
import {
  createEndpoint, deleteNetworkIfEmpty, endpointName, ensureNetwork, findEndpoint, findNetwork, joinInto, removeEndpoint,
  type LnetdEndpoint, type LnetdNetwork,
} from './lnetd.js';
import type { NetworkInfo, Options, PerNetwork, PortMap } from './options.js';

export interface StatusBlock {
  dns_search_domains: string[];
  dns_server_ips: string[];
  interfaces: Record<string, { mac_address: string; subnets: Array<{ ipnet: string; gateway?: string }> }>;
}

const isV4 = (a: string) => !a.includes(':');

export function statusBlock(ep: LnetdEndpoint, net: LnetdNetwork, info: NetworkInfo, ifname: string): StatusBlock {
  const gw = (v4: boolean) => net.ipam.config.find((s) => isV4(s.subnet) === v4)?.gateway;
  const subnets = [ep.ipv4_address, ep.ipv6_address].filter((a) => a).map((ipnet) => {
    const gateway = info.internal ? undefined : gw(isV4(ipnet));
    return { ipnet, ...(gateway ? { gateway } : {}) };
  });
  return { dns_search_domains: [], dns_server_ips: [], interfaces: { [ifname]: { mac_address: ep.mac_address, subnets } } };
}

/** podman re-sends every port mapping of the container on `network connect`: a container whose ports are
 *  already published (on a network it joined before, or earlier in this call) publishes them no second time. */
async function portsPublished(c: Client, containerId: string): Promise<boolean> {
  const all = await c.call<LnetdEndpoint[]>('GET', '/services');
  return all.some((e) => e.container_id === containerId && e.port_mapping.length > 0);
}

type Undo = Array<{ what: string; run: () => Promise<void> }>;

async function setupOne(c: Client, netns: string, o: Options, name: string, opts: PerNetwork, info: NetworkInfo, ports: PortMap[], undo: Undo): Promise<StatusBlock> {
  const { net, created } = await ensureNetwork(c, info);
  if (created) undo.push({ what: `delete network ${name}`, run: () => deleteNetworkIfEmpty(c, net) });
  const epName = endpointName(o.containerName, o.containerId);
  const old = await findEndpoint(c, net.id, epName);
  if (old && old.container_id && old.container_id !== o.containerId) {
    throw new Error(`lnetd endpoint ${epName} on network ${name} is joined to container ${old.container_id.slice(0, 12)}`);
  }
  // a leftover of this container (a setup before a crash, an earlier namespace): replace it
  if (old) await removeEndpoint(c, net.id, old, o.containerId);
  const ep = await createEndpoint(c, net, epName, info, opts, ports);
  undo.push({ what: `remove endpoint ${epName} on ${name}`, run: () => removeEndpoint(c, net.id, { ...ep, container_id: o.containerId }, o.containerId) });
  await joinInto(c, net.id, ep.id, o.containerId, netns, opts.ifname);
  return statusBlock(ep, net, info, opts.ifname);
}

export async function setup(c: Client, netns: string, o: Options): Promise<Record<string, StatusBlock>> {
  try {
    statSync(netns);
  } catch (e) {
    throw new Error(`invalid namespace path ${netns}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const out: Record<string, StatusBlock> = {};
  const undo: Undo = [];
  let published = o.ports.length === 0 || (await portsPublished(c, o.containerId));
  try {
    for (const { name, opts, info } of o.networks) {
      for (let attempt = 1; ; attempt++) {
        try {
          out[name] = await setupOne(c, netns, o, name, opts, info, published ? [] : o.ports, undo);
          break;
        } catch (err) {
          // the last teardown on this network deleted it between our look-up and our endpoint: make it again
          if (attempt < 3 && err instanceof ApiError && err.status === 404 && err.code === 'NETWORK_NOT_FOUND') continue;
          throw err;
        }
      }
      published = true;
    }
    return out;
  } catch (err) {
    const left: string[] = [];
    for (const u of undo.reverse()) await u.run().catch((e) => left.push(`${u.what}: ${(e as Error).message}`));
    const msg = (err as Error).message;
    throw new Error(left.length ? `${msg} (rolling back also failed: ${left.join('; ')})` : msg);
  }
}

export async function teardown(c: Client, o: Options): Promise<void> {
  const errors: string[] = [];
  for (const { name } of o.networks) {
    try {
      const net = await findNetwork(c, name);
      if (!net) continue;
      const epName = endpointName(o.containerName, o.containerId);
      const ep = await findEndpoint(c, net.id, epName);
      if (ep && (ep.container_id === o.containerId || ep.container_id === '')) await removeEndpoint(c, net.id, ep, o.containerId);
      await deleteNetworkIfEmpty(c, net);
    } catch (err) {
      errors.push(`network ${name}: ${(err as Error).message}`);
    }
  }
  if (errors.length) throw new Error(`teardown: ${errors.join('; ')}`);
}
