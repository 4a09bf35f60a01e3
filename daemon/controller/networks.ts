// Network operations: create, delete, and the predefined none/host/bridge.

import type { NetworkRecord } from '../../store/records.js';
import { RECORD_VERSION } from '../../store/records.js';
import { BadRequest, Conflict, Forbidden } from '../../errors/index.js';
import type { CreateNetworkInput } from './types.js';
import { newId, type Controller } from './controller.js';
import { networkSubnets } from './ipam.js';

export const DEFAULT_DRIVER = 'bridge';
export const PREDEFINED: Array<{ name: string; type: string }> = [
  { name: 'none', type: 'null' },
  { name: 'host', type: 'host' },
  { name: 'bridge', type: 'bridge' },
];

/** Build the record: driver options checked, subnets chosen. No kernel change yet. */
async function plan(c: Controller, req: CreateNetworkInput, predefined: boolean): Promise<NetworkRecord> {
  const type = req.networkType || DEFAULT_DRIVER;
  const driver = c.driver(type);
  const settings = driver.validateNetwork(req.options);
  const enableIpv6 = req.enableIpv6 ?? settings.enableIpv6;
  const internal = req.internal ?? settings.internal;
  if (!settings.needsIpam && (req.ipam.length || enableIpv6 || req.enableIpv4 === false)) {
    throw new BadRequest(`network_type ${type} takes no ipam configuration, no IPv6 and no enable_ipv4`, 'NOT_SUPPORTED');
  }
  if (req.enableIpv4 === false && !enableIpv6) throw new BadRequest('enable_ipv4 false needs enable_ipv6: a network needs at least one address family', 'INVALID_IPAM');
  const subnets = settings.needsIpam ? await networkSubnets(c, req.ipam, enableIpv6, req.enableIpv4 !== false) : {};
  return {
    version: RECORD_VERSION,
    id: newId(),
    name: req.name,
    type,
    created: new Date().toISOString(),
    predefined,
    internal,
    enableIpv6,
    options: settings.options,
    ...subnets,
    ...(req.labels && Object.keys(req.labels).length ? { labels: req.labels } : {}),
    ...(req.attachable ? { attachable: true } : {}),
    driver: {},
  };
}

export async function createNetwork(c: Controller, req: CreateNetworkInput, predefined = false): Promise<NetworkRecord> {
  return c.locks.with(['networks'], async () => {
    if (c.state.networkByName.has(req.name)) throw new Conflict(`network name ${req.name} is already in use`, 'NAME_IN_USE');
    const rec = await plan(c, req, predefined);
    const driver = c.driver(rec.type);
    const clear = await c.intent('createNetwork', { network: rec });
    c.fault('createNetwork:after-intent');
    let state: Record<string, unknown>;
    try {
      state = await driver.createNetwork(rec);
    } catch (err) {
      await c.clearIntent(clear);
      throw err;
    }
    c.fault('createNetwork:after-driver');
    const done: NetworkRecord = { ...rec, driver: state };
    try {
      await c.commit([{ type: 'put', kind: 'networks', key: done.id, value: done }, clear]);
    } catch (err) {
      await driver.deleteNetwork(done).catch((e) => c.log.error({ err: e }, 'undo network create'));
      await c.clearIntent(clear);
      throw err;
    }
    return done;
  });
}

export async function deleteNetwork(c: Controller, ref: string): Promise<void> {
  const id = c.network(ref).id;
  await c.locks.with(['networks', `net:${id}`], async () => {
    const net = c.network(id);
    if (net.predefined) throw new Forbidden(`network ${net.name} is predefined and can't be deleted`);
    const eps = c.state.networkEndpoints(net.id);
    if (eps.length) throw new Conflict(`network ${net.name} has ${eps.length} endpoint(s): delete them first (${eps.slice(0, 3).map((e) => e.name).join(', ')})`, 'NETWORK_IN_USE');
    const clear = await c.intent('deleteNetwork', { network: net });
    c.fault('deleteNetwork:after-intent');
    const driver = c.driver(net.type);
    try {
      await driver.deleteNetwork(net);
    } catch (err) {
      // The delete failed, so the network stays: put back what the driver took
      // down and drop the intent, or the next start would finish a delete the
      // caller was told failed, under endpoints made meanwhile.
      await driver.restore?.(net, []).catch((e) => c.log.error({ err: e, network: net.name }, 'undo network delete'));
      await c.clearIntent(clear);
      throw err;
    }
    c.fault('deleteNetwork:after-driver');
    await c.commit([{ type: 'del', kind: 'networks', key: net.id }, clear]);
  });
}

/** none, host and bridge exist from the first start; their ids never change after. */
export async function ensurePredefined(c: Controller): Promise<void> {
  for (const p of PREDEFINED) {
    if (c.state.networkByName.has(p.name)) continue;
    if (!c.drivers.has(p.type)) continue;
    await createNetwork(c, { name: p.name, networkType: p.type, options: {}, ipam: [] }, true);
  }
}
