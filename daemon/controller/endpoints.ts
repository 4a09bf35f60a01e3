// Endpoint operations: create (addresses, MAC, host ports) and delete.

import { randomBytes } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { allocate, allocationCidr, macFromIpv4 } from '../../drivers/ipam/index.js';
import type { EndpointRecord, NetworkRecord, SubnetRecord } from '../../store/records.js';
import { RECORD_VERSION } from '../../store/records.js';
import type { BatchOp } from '../../store/store.js';
import { BadRequest, Conflict } from '../../errors/index.js';
import type { CreateEndpointInput } from './types.js';
import { newId, type Controller } from './controller.js';

export { EPHEMERAL_PORTS } from './ports.js';

export interface Addresses { ipv4?: string; ipv6?: string; extra: string[]; net: NetworkRecord }

/** Addresses for the endpoint and the network record with its cursors moved on. */
export function endpointAddresses(c: Controller, net: NetworkRecord, req: CreateEndpointInput): Addresses {
  const v6net = net.enableIpv6 ? net.ipv6 : undefined;
  if (!net.ipv4 && !v6net) {
    if (req.ipv4 || req.ipv6 || req.extraAddresses.length || req.portMapping.length) throw new BadRequest(`network ${net.name} (${net.type}) has no IPAM: ipv4_address, ipv6_address and port_mapping can't be used`, 'NOT_SUPPORTED');
    return { extra: [], net };
  }
  if (req.noAddress) return { extra: [], net };
  if (req.ipv4 && !net.ipv4) throw new BadRequest(`network ${net.name} has no IPv4 (enable_ipv4 false): ipv4_address can't be used`, 'NOT_SUPPORTED');
  if (req.ipv6 && !v6net) throw new BadRequest(`network ${net.name} has no IPv6: ipv6_address can't be used`, 'NOT_SUPPORTED');
  // the network's addresses plus this request's own, without copying the network's set
  const held = c.state.addressesByNetwork.get(net.id);
  const mine = new Set<string>();
  const inUse = { has: (a: string) => mine.has(a) || !!held?.has(a) || c.pending.hasAddress(net.id, a) };
  const take = (rec: SubnetRecord, want?: string) => {
    const a = allocate(rec, inUse, want);
    mine.add(a.address);
    return { cidr: allocationCidr(a), rec: a.cursor === undefined ? rec : { ...rec, cursor: a.cursor } };
  };
  const v4 = net.ipv4 ? take(net.ipv4, req.ipv4) : undefined;
  const v6 = v6net ? take(v6net, req.ipv6) : undefined;
  const extra = req.extraAddresses.map((a, i) => {
    const rec = isIPv4(a) ? net.ipv4 : v6net;
    if (!rec) throw new BadRequest(`ipv${isIPv4(a) ? 4 : 6}_addresses[${i}]: network ${net.name} has no IPv${isIPv4(a) ? 4 : 6}`, 'NOT_SUPPORTED');
    return take(rec, a).cidr;
  });
  return { ipv4: v4?.cidr, ipv6: v6?.cidr, extra, net: { ...net, ipv4: v4?.rec ?? net.ipv4, ipv6: v6?.rec ?? net.ipv6 } };
}

/** A random unicast, locally administered MAC (02:42:<IPv4> needs an IPv4 address). */
export const randomMac = (): string => {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
};

/** A MAC an interface can carry (unicast, not all zero), and not one another
 *  endpoint of the network already has: a bridge can't tell two apart. */
function checkMac(c: Controller, net: NetworkRecord, mac: string): void {
  const m = mac.toLowerCase();
  const first = parseInt(m.slice(0, 2), 16);
  if (m === '00:00:00:00:00:00') throw new BadRequest(`mac_address ${m} is all zeros: give a unicast address such as 02:42:ac:11:00:02`, 'INVALID_ADDRESS');
  if (first & 1) throw new BadRequest(`mac_address ${m} is a ${m === 'ff:ff:ff:ff:ff:ff' ? 'broadcast' : 'multicast'} address (the first octet is odd): an interface needs a unicast one`, 'INVALID_ADDRESS');
  const other = c.state.networkEndpoints(net.id).find((e) => e.mac?.toLowerCase() === m);
  if (other) throw new Conflict(`mac_address ${m} is already used by endpoint ${other.name} of network ${net.name}`, 'ADDRESS_IN_USE');
}

/** An endpoint name of the network, committed or picked by a create in flight. */
export function nameTaken(c: Controller, netId: string, name: string): boolean {
  return c.state.hasEndpointNamed(netId, name) || c.pending.hasName(netId, name);
}

/** The lock on a network's address allocation (sorts after the network's own key, which every holder takes first). */
export const ipamLock = (netId: string): string => `net:${netId}:ipam`;

/** An endpoint's name and addresses, picked from the network as it is now
 *  (the caller holds its allocation lock) and held in c.pending until
 *  `release`, so that picks after this one go around them before its commit;
 *  a MAC it brings is checked against the network's endpoints. `taken`
 *  words the surface's answer to a name in use. */
export function pickEndpoint(c: Controller, netId: string, req: CreateEndpointInput, taken: (net: NetworkRecord) => Error):
  { net0: NetworkRecord; a: Addresses; release: () => void } {
  const net0 = c.network(netId);
  if (nameTaken(c, netId, req.name)) throw taken(net0);
  if (req.mac) checkMac(c, net0, req.mac);
  const a = endpointAddresses(c, net0, req);
  const addrs = [a.ipv4, a.ipv6, ...a.extra].filter((x): x is string => !!x).map((x) => x.split('/')[0]!);
  return { net0, a, release: c.pending.hold(netId, req.name, addrs) };
}

const nameInUse = (name: string) => (net: NetworkRecord) => new Conflict(`endpoint name ${name} is already in use in network ${net.name}`, 'NAME_IN_USE');

export async function createEndpoint(c: Controller, netRef: string, req: CreateEndpointInput): Promise<EndpointRecord> {
  const netId = c.network(netRef).id;
  // The network shared (joins run beside), its allocation exclusive while the
  // name and addresses are picked. A plain create then holds them in
  // c.pending and lets the allocation go before its commit's fsync; one that
  // publishes ports or brings its own MAC keeps it through the commit.
  if (!req.portMapping.length && !req.mac) {
    return c.locks.with([], async () => {
      const { net0, a, release } = await c.locks.with([ipamLock(netId)], async () => pickEndpoint(c, netId, req, nameInUse(req.name)));
      try {
        // nothing published: no host ports to allocate
        return await createEndpointRecord(c, req, net0, a.net, { id: newId(), ipv4: a.ipv4, ipv6: a.ipv6, extra: a.extra, portMapping: [] });
      } finally {
        release();
      }
    }, [`net:${netId}`]);
  }
  const keys = [ipamLock(netId), ...(req.portMapping.length ? ['ports'] : [])];
  return c.locks.with(keys, async () => {
    const net0 = c.network(netId);
    if (nameTaken(c, netId, req.name)) throw nameInUse(req.name)(net0);
    if (req.mac) checkMac(c, net0, req.mac);
    const { ipv4, ipv6, extra, net } = endpointAddresses(c, net0, req);
    const id = newId();
    // held from here until the endpoint's record goes (or this create fails)
    const portMapping = c.hostPorts.allocate(id, net, { ipv4, ipv6 }, req.portMapping, req.reservePorts !== false);
    try {
      return await createEndpointRecord(c, req, net0, net, { id, ipv4, ipv6, extra, portMapping });
    } catch (err) {
      if (!c.state.endpoints.has(id)) c.hostPorts.release(id);
      throw err;
    }
  }, [`net:${netId}`]);
}

async function createEndpointRecord(c: Controller, req: CreateEndpointInput, net0: NetworkRecord, net: NetworkRecord,
  a: { id: string; ipv4?: string; ipv6?: string; extra: string[]; portMapping: EndpointRecord['portMapping'] }): Promise<EndpointRecord> {
    const { id, ipv4, ipv6, extra, portMapping } = a;
    const netId = net.id;
    const ep: EndpointRecord = {
      version: RECORD_VERSION,
      id,
      name: req.name,
      networkId: netId,
      created: new Date().toISOString(),
      exposedPorts: req.exposedPorts,
      portMapping,
      ipv4,
      ipv6,
      ...(extra.length ? { extraAddresses: extra } : {}),
      ...(req.noAddress ? { noAddress: true } : {}),
      ...(req.routeMetric !== undefined ? { routeMetric: req.routeMetric } : {}),
      ...(req.reservePorts === false && req.portMapping.length ? { reservePorts: false as const } : {}),
      mac: req.mac ?? (ipv4 ? macFromIpv4(ipv4.split('/')[0]) : net.type === 'bridge' ? randomMac() : undefined),
      service: req.service ?? false,
      ...(req.labels && Object.keys(req.labels).length ? { labels: req.labels } : {}),
      driver: {},
    };
    const driver = c.driver(net.type);
    // no intent when the driver makes nothing in the kernel here: the commit batch alone is the operation
    const clear = driver.endpointKernelWork === false ? undefined : await c.intent('createEndpoint', { endpoint: ep });
    c.fault('createEndpoint:after-intent');
    let state: Record<string, unknown>;
    try {
      state = await driver.createEndpoint(net, ep);
    } catch (err) {
      await c.clearIntent(clear);
      throw err;
    }
    c.fault('createEndpoint:after-driver');
    const done = { ...ep, driver: state };
    const ops: BatchOp[] = [{ type: 'put', kind: 'endpoints', key: done.id, value: done }, ...(clear ? [clear] : [])];
    if (net !== net0) ops.push({ type: 'put', kind: 'networks', key: net.id, value: net });
    try {
      await c.commit(ops);
    } catch (err) {
      await driver.deleteEndpoint(net, done).catch((e) => c.log.error({ err: e, endpoint: ep.name }, 'undo endpoint create'));
      await c.clearIntent(clear);
      throw err;
    }
    return done;
}

export async function deleteEndpoint(c: Controller, netRef: string, epRef: string): Promise<void> {
  const net0 = c.network(netRef);
  const epId = c.endpoint(net0, epRef).id;
  await c.locks.with([`ep:${epId}`], async () => {
    const net = c.network(net0.id);
    const ep = c.endpoint(net, epId);
    if (ep.container) throw new Conflict(`endpoint ${ep.name} is joined to container ${ep.container}: leave first`, 'ENDPOINT_IN_USE');
    const driver = c.driver(net.type);
    const clear = driver.endpointKernelWork === false ? undefined : await c.intent('deleteEndpoint', { endpoint: ep });
    c.fault('deleteEndpoint:after-intent');
    try {
      await driver.deleteEndpoint(net, ep);
    } catch (err) {
      // the endpoint stays, as the answer says: no later start may delete it
      await c.clearIntent(clear);
      throw err;
    }
    c.fault('deleteEndpoint:after-driver');
    await c.commit([{ type: 'del', kind: 'endpoints', key: ep.id }, ...(clear ? [clear] : [])]);
  }, [`net:${net0.id}`]);
}
