// Docker's connect and disconnect as controller operations of their own:
// connect = create an endpoint + join the container, disconnect = leave +
// delete that endpoint, each with ONE journal intent, one undo path and one
// commit batch. A crash anywhere inside leaves either nothing (connect undone)
// or nothing of the endpoint (disconnect finished), never an endpoint without
// its container or a container half plugged.

import type { JoinTarget } from '../../drivers/driver.js';
import { macFromIpv4 } from '../../drivers/ipam/index.js';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from '../../store/records.js';
import { RECORD_VERSION } from '../../store/records.js';
import type { BatchOp } from '../../store/store.js';
import { BadRequest, Conflict, NotFound } from '../../errors/index.js';
import { newId, type Controller } from './controller.js';
import { type Addresses, ipamLock, pickEndpoint, randomMac } from './endpoints.js';
import { handOverGateway, interfaceName, providesGateway, sandboxFor } from './join.js';
import { keyLock, sandboxKey } from './sandbox-key.js';
import type { ConnectInput, ConnectResult, CreateEndpointInput, JoinInput } from './types.js';

export async function connect(c: Controller, netRef: string, req: ConnectInput): Promise<ConnectResult> {
  const netId = c.network(netRef).id;
  // The container and its sandbox key exclusive (reserving a key is atomic
  // across networks, as a join's), the network shared: connects and joins on
  // one network run side by side. The name and addresses are picked holding
  // the network's allocation lock and then held in c.pending, as a plain
  // create's are, so connects share their commits' syncs instead of taking
  // turns through the kernel work and the fsync. A MAC the caller gives is
  // checked against the network's endpoints: then the allocation stays
  // exclusive through the commit, as for a create with one.
  const keys = [`ctr:${req.containerId}`, keyLock(sandboxKey(c.netnsDir, req.containerId))];
  const existingKey = c.state.sandboxes.get(req.containerId)?.key;
  if (existingKey) keys.push(keyLock(existingKey));
  if (req.mac) keys.push(ipamLock(netId));
  return c.locks.with(keys, async () => {
    const here = c.network(netId);
    if (containerEndpoint(c, netId, req.containerId)) throw new Conflict(`container ${req.containerId} is already connected to network ${here.name}`, 'ALREADY_JOINED');
    const joinReq: JoinInput = { containerId: req.containerId, dns: [], extraHosts: [], useDefaultSandbox: false };
    const { sb: sb0, fresh } = await sandboxFor(c, here, joinReq);
    if (sb0.isDefault) throw new BadRequest(`container ${req.containerId} is in the host's namespace: it can't be connected to network ${here.name}`, 'NOT_SUPPORTED');
    const epReq: CreateEndpointInput = { name: req.name, exposedPorts: [], portMapping: [], ipv4: req.ipv4, ipv6: req.ipv6, extraAddresses: [], noAddress: false, mac: req.mac };
    const pick = () => pickEndpoint(c, netId, epReq, (n) => new Conflict(`endpoint with name ${req.name} already exists in network ${n.name}`, 'NAME_IN_USE'));
    const picked = req.mac ? pick() : await c.locks.with([ipamLock(netId)], async () => pick());
    try {
      return await connectPicked(c, netId, req, picked.net0, picked.a, sb0, fresh, joinReq);
    } finally {
      picked.release();
    }
  }, [`net:${netId}`]);
}

async function connectPicked(c: Controller, netId: string, req: ConnectInput, net0: NetworkRecord, a: Addresses,
  sb0: SandboxRecord, fresh: boolean, joinReq: JoinInput): Promise<ConnectResult> {
  const { ipv4, ipv6, net } = a;
  const ep: EndpointRecord = {
    version: RECORD_VERSION, id: newId(), name: req.name, networkId: netId, created: new Date().toISOString(),
    exposedPorts: [], portMapping: [], ipv4, ipv6,
    mac: req.mac ?? (ipv4 ? macFromIpv4(ipv4.split('/')[0]) : net.type === 'bridge' ? randomMac() : undefined),
    ...(req.aliases.length ? { aliases: req.aliases } : {}), service: false, driver: {},
  };
  const target: JoinTarget = {
    containerId: req.containerId, key: sb0.key, isDefault: false, ifname: interfaceName(c, sb0, joinReq),
    gatewayProvider: providesGateway(c, sb0, net, ep), runtimeNetns: sb0.owned === false,
  };
  const driver = c.driver(net.type);
  const clear = await c.intent('connect', { networkId: netId, endpoint: ep, containerId: req.containerId, key: sb0.key, fresh, ifname: target.ifname });
  c.fault('connect:after-intent');
  const undo: Array<() => Promise<void>> = [];
  try {
    const state = await driver.createEndpoint(net, ep);
    const made: EndpointRecord = { ...ep, driver: state };
    undo.push(() => driver.deleteEndpoint(net, made));
    c.fault('connect:after-endpoint');
    if (fresh) {
      await c.kernel.createNetns(sb0.key).catch((err) => {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        throw new Conflict(`sandbox path ${sb0.key} for container ${req.containerId.slice(0, 128)} is taken by something lnetd did not make`, 'ALREADY_JOINED');
      });
      undo.push(() => c.kernel.deleteNetns(sb0.key));
    }
    c.fault('connect:after-netns');
    await driver.join(net, made, target);
    undo.push(() => driver.leave(net, made, target));
    c.fault('connect:after-join');
    const joined: EndpointRecord = { ...made, container: req.containerId, ifname: target.ifname };
    const sb: SandboxRecord = { ...sb0, endpoints: [...sb0.endpoints, ep.id], nextIf: sb0.nextIf + 1 };
    const ops: BatchOp[] = [
      { type: 'put', kind: 'endpoints', key: ep.id, value: joined },
      { type: 'put', kind: 'sandboxes', key: sb.containerId, value: sb },
      clear,
    ];
    if (net !== net0) ops.push({ type: 'put', kind: 'networks', key: net.id, value: net });
    await c.commit(ops);
    c.kernel.releaseNetns(sb.key);
    return { endpoint: joined, sandboxKey: sb.key };
  } catch (err) {
    for (const step of undo.reverse()) await step().catch((e) => c.log.error({ err: e }, 'undo connect'));
    await c.clearIntent(clear);
    throw err;
  }
}

/** The container's endpoint in the network: found from its sandbox's few endpoints, not a scan of
 *  the network's (a scan only for a container without a sandbox record). */
function containerEndpoint(c: Controller, netId: string, containerId: string): EndpointRecord | undefined {
  const sb = c.state.sandboxes.get(containerId);
  const mine = (e: EndpointRecord | undefined): e is EndpointRecord => !!e && e.networkId === netId && e.container === containerId;
  if (sb) return sb.endpoints.map((id) => c.state.endpoints.get(id)).find(mine);
  return c.state.networkEndpoints(netId).find(mine);
}

/** The endpoint a container holds in a network, or a 404 naming both. */
export function connectedEndpoint(c: Controller, netId: string, containerId: string): EndpointRecord {
  const ep = containerEndpoint(c, netId, containerId);
  if (!ep) throw new NotFound(`container ${containerId} is not connected to network ${c.network(netId).name}`, 'CONTAINER_NOT_FOUND');
  return ep;
}

export async function disconnect(c: Controller, netRef: string, containerId: string): Promise<void> {
  const netId = c.network(netRef).id;
  const epId = connectedEndpoint(c, netId, containerId).id;
  // the endpoint and the container exclusive (as a leave), the network shared: other attaches and detaches run beside
  await c.locks.with([`ep:${epId}`, `ctr:${containerId}`], async () => {
    const net = c.network(netId);
    const ep = connectedEndpoint(c, netId, containerId);
    if (ep.id !== epId) throw new Conflict(`container ${containerId}'s endpoint in network ${net.name} changed while this disconnect waited: retry`, 'ALREADY_JOINED');
    const sb = c.state.sandboxes.get(containerId);
    if (!sb) throw new NotFound(`container ${containerId} has no sandbox`, 'CONTAINER_NOT_FOUND');
    const last = sb.endpoints.length === 1;
    // as a leave: a runtime's namespace outlives our mount of it, so its veth goes in line
    const going = last && !sb.isDefault && sb.owned !== false && (await c.kernel.isNetns(sb.key));
    const target: JoinTarget = {
      containerId, key: sb.key, isDefault: sb.isDefault, ifname: ep.ifname ?? 'eth0', gatewayProvider: false, sandboxGoing: going, runtimeNetns: sb.owned === false,
    };
    const driver = c.driver(net.type);
    const clear = await c.intent('disconnect', { networkId: netId, endpointId: ep.id, containerId, key: sb.key, ifname: target.ifname, last });
    c.fault('disconnect:after-intent');
    await driver.leave(net, ep, target);
    c.fault('disconnect:after-leave');
    if (!last && !sb.isDefault && (await c.kernel.isNetns(sb.key))) {
      await handOverGateway(c, sb, ep.id).catch((err) => c.log.warn({ err, container: containerId }, 'disconnect: could not move the default route'));
    }
    if (last && !sb.isDefault) await c.kernel.deleteNetns(sb.key);
    c.fault('disconnect:after-netns');
    await driver.deleteEndpoint(net, ep);
    c.fault('disconnect:after-endpoint');
    const ops: BatchOp[] = [{ type: 'del', kind: 'endpoints', key: ep.id }, clear];
    if (last) ops.push({ type: 'del', kind: 'sandboxes', key: containerId });
    else ops.push({ type: 'put', kind: 'sandboxes', key: containerId, value: { ...sb, endpoints: sb.endpoints.filter((id) => id !== ep.id) } });
    await c.commit(ops);
  }, [`net:${netId}`]);
}
