// The network routes' logic, a few lines each: find what the client named the
// way dockerd does, call one controller operation, answer in dockerd's words.

import type { Controller } from '../../controller/controller.js';
import { LnetdError } from '../../../errors/index.js';
import type { EndpointRecord, NetworkRecord } from '../../../store/records.js';
import { DockerError } from './errors.js';
import * as f from './filters.js';
import { containerEndpoint, findNetwork, type View } from './query.js';
import type { DockerConnect, DockerCreate } from './parse.js';
import { parseTime } from './timestamp.js';
import { isPredefined, labelsOf } from './wire.js';

const LIST_FILTERS = ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type'] as const;
const PRUNE_FILTERS = ['label', 'label!', 'until'] as const;

const codeOf = (err: unknown): string | undefined => (err instanceof LnetdError ? err.code : undefined);

/** GET /networks: dockerd's filters over every network. */
export function listNetworks(v: View, filters: f.Filters): NetworkRecord[] {
  f.accept(filters, LIST_FILTERS);
  const danglingRaw = f.single(filters, 'dangling', 'got more than one value for filter key "dangling"');
  const dangling = danglingRaw === undefined ? undefined
    : f.boolValue(danglingRaw, 'invalid value for filter \'dangling\', must be "true" (or "1"), or "false" (or "0")');
  for (const t of filters.get('type') ?? []) if (t !== 'builtin' && t !== 'custom') throw new DockerError(400, `invalid filter: 'type'='${t.slice(0, 64)}'`);
  const types = filters.get('type');
  return v.networks().filter((n) => {
    if (!f.exact(filters, 'driver', n.type)) return false;
    if (!f.match(filters, 'name', n.name)) return false;
    if (!f.match(filters, 'id', n.id)) return false;
    if (!f.labels(filters, 'label', labelsOf(n))) return false;
    if (!f.exact(filters, 'scope', 'local')) return false;
    if (dangling !== undefined && dangling !== isDangling(v, n)) return false;
    if (types?.size && ![...types].some((t) => (t === 'builtin') === isPredefined(n.name))) return false;
    return true;
  });
}

/** Unused: no endpoints at all (a seed endpoint not joined still holds the network) and not predefined. */
const isDangling = (v: View, n: NetworkRecord): boolean => !isPredefined(n.name) && v.endpoints(n.id).length === 0;

export function inspectNetwork(v: View, term: string, query: Record<string, unknown>): { net: NetworkRecord; eps: EndpointRecord[] } {
  const verbose = query.verbose;
  if (verbose !== undefined && verbose !== '' && !['1', 't', 'T', 'true', 'TRUE', 'True', '0', 'f', 'F', 'false', 'FALSE', 'False'].includes(String(verbose))) {
    throw new DockerError(400, `invalid value for verbose: ${String(verbose).slice(0, 64)}`);
  }
  const scope = query.scope;
  const net = findNetwork(v, term);
  if (scope !== undefined && scope !== '' && scope !== 'local') throw new DockerError(404, `network ${term} not found`);
  return { net, eps: v.endpoints(net.id) };
}

export async function createDockerNetwork(c: Controller, v: View, req: DockerCreate): Promise<string> {
  if (isPredefined(req.name)) throw new DockerError(403, `operation is not permitted on predefined ${req.name} network `);
  if (req.driver === 'host' || req.driver === 'null') throw new DockerError(403, `only one instance of "${req.driver}" network is allowed`);
  if (!c.drivers.has(req.driver)) throw new DockerError(404, `could not find plugin ${req.driver.slice(0, 64)} in v1 plugin registry: plugin not found (lnetd's network drivers are ${[...c.drivers.keys()].join(', ')})`);
  if (v.networks().some((n) => n.name === req.name)) throw new DockerError(409, `network with name ${req.name} already exists`);
  const v6 = req.ipam.some((i) => (i.subnet ?? i.gateway ?? i.ipRange ?? '').includes(':'));
  if (v6 && !req.enableIpv6) throw new DockerError(400, 'an IPv6 subnet needs EnableIPv6 (docker network create --ipv6)');
  try {
    const rec = await c.createNetwork({
      name: req.name, networkType: req.driver, options: req.options, ipam: req.ipam,
      enableIpv6: req.enableIpv6, internal: req.internal || undefined, labels: req.labels, attachable: req.attachable,
    });
    return rec.id;
  } catch (err) {
    if (codeOf(err) === 'NAME_IN_USE' && /network name/.test((err as Error).message)) throw new DockerError(409, `network with name ${req.name} already exists`);
    throw err;
  }
}

function activeEndpoints(v: View, net: NetworkRecord): string {
  const eps = v.endpoints(net.id);
  return `error while removing network: network ${net.name} has active endpoints (${eps.map((e) => `name:${JSON.stringify(e.name)} id:${JSON.stringify(e.id.slice(0, 12))}`).join(', ')})`;
}

export async function removeNetwork(c: Controller, v: View, term: string): Promise<void> {
  const net = findNetwork(v, term);
  if (net.predefined || isPredefined(net.name)) throw new DockerError(403, `${net.name} is a pre-defined network and cannot be removed`);
  if (v.endpoints(net.id).length) throw new DockerError(403, activeEndpoints(v, net));
  try {
    await c.deleteNetwork(net.id);
  } catch (err) {
    if (codeOf(err) === 'NETWORK_IN_USE') throw new DockerError(403, activeEndpoints(v, net));
    if (codeOf(err) === 'NETWORK_NOT_FOUND') throw new DockerError(404, `network ${term} not found`);
    throw err;
  }
}

export async function pruneNetworks(c: Controller, v: View, filters: f.Filters): Promise<string[]> {
  f.accept(filters, PRUNE_FILTERS);
  const untilRaw = f.single(filters, 'until', 'more than one until filter specified');
  const until = untilRaw === undefined ? undefined : parseTime(untilRaw, 'until');
  const gone: string[] = [];
  for (const n of v.networks()) {
    if (!isDangling(v, n)) continue;
    if (until !== undefined && BigInt(Date.parse(n.created)) * 1_000_000n > until) continue;
    if (!f.labels(filters, 'label', labelsOf(n))) continue;
    if (filters.get('label!')?.size && f.labels(filters, 'label!', labelsOf(n))) continue;
    try {
      await c.deleteNetwork(n.id);
      gone.push(n.name);
    } catch (err) {
      // one that gained an endpoint or went meanwhile is not unused any more: skip it, as dockerd does
      if (codeOf(err) !== 'NETWORK_IN_USE' && codeOf(err) !== 'NETWORK_NOT_FOUND') throw err;
    }
  }
  return gone;
}

const HOST_CONFLICT = 'container cannot be disconnected from host network or connected to host network';
const NONE_CONFLICT = 'container cannot be connected to multiple networks with one of the networks in private (none) mode';

export async function connectContainer(c: Controller, v: View, term: string, req: DockerConnect): Promise<void> {
  const net = findNetwork(v, term);
  if (net.type === 'host') throw new DockerError(400, HOST_CONFLICT);
  const ids = v.containerNetworks(req.container);
  const mine = ids.size ? v.networks().filter((n) => ids.has(n.id)) : [];
  if (mine.some((n) => n.id === net.id)) throw new DockerError(403, `endpoint with name ${req.container} already exists in network ${net.name}`);
  if (mine.length && (net.type === 'null' || mine.some((n) => n.type === 'null'))) throw new DockerError(400, NONE_CONFLICT);
  try {
    await c.connect(net.id, { containerId: req.container, name: req.container, ipv4: req.ipv4, ipv6: req.ipv6, mac: req.mac, aliases: req.aliases });
  } catch (err) {
    const code = codeOf(err);
    if (code === 'NAME_IN_USE' || code === 'ALREADY_JOINED') {
      const msg = (err as Error).message;
      // a sandbox the seed API made in the host's namespace, or a sandbox key taken: the controller's words say which
      if (/already (exists|connected)/.test(msg)) throw new DockerError(403, `endpoint with name ${req.container} already exists in network ${net.name}`);
    }
    throw err;
  }
}

export async function disconnectContainer(c: Controller, v: View, term: string, container: string): Promise<void> {
  const net = findNetwork(v, term);
  if (net.type === 'host') throw new DockerError(400, HOST_CONFLICT);
  const ep = containerEndpoint(v, net, container);
  if (!ep) throw new DockerError(404, `container ${container} is not connected to network ${net.name}`);
  await c.disconnect(net.id, ep.container!);
}
