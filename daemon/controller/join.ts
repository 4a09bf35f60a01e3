// Join and leave: the sandbox (one network namespace per container, made on
// its first join, removed with its last leave) and the driver's plumbing.

import { isIP } from 'node:net';
import type { JoinTarget } from '../../drivers/driver.js';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from '../../store/records.js';
import { RECORD_VERSION } from '../../store/records.js';
import type { BatchOp } from '../../store/store.js';
import { BadRequest, Conflict, NotFound, wrap } from '../../errors/index.js';
import type { JoinInput } from './types.js';
import type { Controller } from './controller.js';
import { hostsText, resolvText } from './sandbox-files.js';
import { checkFilePath } from '../files/policy.js';
import { writeFileNoFollow } from '../files/write.js';
import { keyLock, sandboxKey } from './sandbox-key.js';

const addr = (cidr?: string) => cidr?.split('/')[0];

/** The sandbox a join will use: the container's existing one, or a new record. */
export async function sandboxFor(c: Controller, net: NetworkRecord, req: JoinInput): Promise<{ sb: SandboxRecord; fresh: boolean }> {
  // a driver whose containers share the host's namespace (host), or a join that asks for it
  const isDefault = c.driver(net.type).sandbox === 'host' || req.useDefaultSandbox;
  if (isDefault && req.sandboxKey) throw new BadRequest(`sandbox_key can't be used on network ${net.name}: its containers share the host's namespace`, 'NOT_SUPPORTED');
  const existing = c.state.sandboxes.get(req.containerId);
  if (existing) {
    if (existing.isDefault !== isDefault) {
      throw new Conflict(`container ${req.containerId} is ${existing.isDefault ? '' : 'not '}in the host's namespace; it can't join network ${net.name} ${isDefault ? 'there' : 'in its own namespace'}`, 'ALREADY_JOINED');
    }
    if (req.sandboxKey) await sameRuntimeNetns(c, existing, req);
    return { sb: existing, fresh: false };
  }
  const key = isDefault ? c.defaultSandboxKey : sandboxKey(c.netnsDir, req.containerId);
  if (!isDefault) {
    // the key lock is held: no other join can be reserving this key meanwhile
    const other = c.state.sandboxByKey.get(key);
    if (other) throw new Conflict(`container ${req.containerId.slice(0, 128)}'s sandbox ${key} is held by container ${other.slice(0, 128)}`, 'ALREADY_JOINED');
  }
  const sb: SandboxRecord = {
    version: RECORD_VERSION, containerId: req.containerId, key, isDefault, endpoints: [], nextIf: 0,
    dns: [], extraHosts: [], created: new Date().toISOString(),
  };
  if (req.sandboxKey) Object.assign(sb, { owned: false, runtimeKey: req.sandboxKey });
  return { sb, fresh: true };
}

/** A container's second join naming its namespace again must name the same one. */
async function sameRuntimeNetns(c: Controller, sb: SandboxRecord, req: JoinInput): Promise<void> {
  const ino = await c.kernel.netnsInode(req.sandboxKey!).catch((err) => { throw runtimeNetnsError(req.sandboxKey!, err); });
  if (sb.owned !== false || ino !== sb.netnsIno || (req.netnsInode !== undefined && req.netnsInode !== ino)) {
    throw new Conflict(`container ${req.containerId} already has a sandbox (${sb.runtimeKey ?? sb.key}) that is not the namespace ${req.sandboxKey}`, 'ALREADY_JOINED');
  }
}

/** The runtime's namespace can't be opened or is not one: the request's fault. */
function runtimeNetnsError(path: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ENOTNETNS' || code === 'ELOOP' || code === 'ENXIO' || code === 'EACCES' || code === 'ENOTDIR') {
    return new BadRequest(`sandbox_key ${path}: not a network namespace lnetd can join (${String((err as Error).message ?? code)})`, 'INVALID_PATH');
  }
  return wrap(`open sandbox_key ${path}`, err);
}

/** The interface name inside the sandbox: asked for, else eth<N>; never one another endpoint holds there. */
export function interfaceName(c: Controller, sb: SandboxRecord, req: JoinInput): string {
  const name = req.interfaceName ?? `eth${sb.nextIf}`;
  const holder = sb.endpoints.map((id) => c.state.endpoints.get(id)).find((e) => e?.ifname === name);
  if (holder) throw new Conflict(`interface ${name} in the sandbox of container ${req.containerId} belongs to endpoint ${holder.name}`, 'NAME_IN_USE');
  return name;
}

/** Whether the network's driver lets its endpoints give a sandbox its default route (bridge: not internal, with an address family). */
const routesOut = (c: Controller, n: NetworkRecord | undefined): n is NetworkRecord => !!n && (c.drivers.get(n.type)?.givesDefaultRoute(n) ?? false);

/** The endpoint (of those joined, in join order) whose network gives the sandbox its default route. */
function gatewayEndpoint(c: Controller, ids: string[]): { ep: EndpointRecord; net: NetworkRecord } | undefined {
  for (const id of ids) {
    const ep = c.state.endpoints.get(id);
    const net = ep && c.state.networks.get(ep.networkId);
    if (ep && routesOut(c, net)) return { ep, net };
  }
  return undefined;
}

/** An endpoint with a route metric always gives its default routes: with distinct
 *  metrics several coexist, and the kernel prefers the lowest. */
export function providesGateway(c: Controller, sb: SandboxRecord, net: NetworkRecord, ep: EndpointRecord): boolean {
  return routesOut(c, net) && !ep.noAddress && (ep.routeMetric !== undefined || !gatewayEndpoint(c, sb.endpoints));
}

/** When the endpoint that gave the default route leaves, the next one in join order gives it. */
export async function handOverGateway(c: Controller, sb: SandboxRecord, leaving: string): Promise<void> {
  if (gatewayEndpoint(c, sb.endpoints)?.ep.id !== leaving) return;
  const next = gatewayEndpoint(c, sb.endpoints.filter((id) => id !== leaving));
  if (!next) return;
  // the driver of the next network puts its routes in (gateway handover is driver work)
  const target: JoinTarget = { containerId: sb.containerId, key: sb.key, isDefault: sb.isDefault, ifname: next.ep.ifname ?? 'eth0', gatewayProvider: true };
  await c.driver(next.net.type).takeDefaultRoute(next.net, next.ep, target);
}

async function writeFiles(c: Controller, sb: SandboxRecord, joined: EndpointRecord[]): Promise<void> {
  const own = joined.flatMap((e) => [addr(e.ipv4), addr(e.ipv6)]).filter((a): a is string => !!a && isIP(a) !== 0);
  const extra = sb.extraHosts.map((h) => { const [name, address] = h.split(' '); return { address, names: [name] }; });
  if (sb.hostsPath) await writeFileNoFollow(sb.hostsPath, hostsText(sb, own, extra)).catch((e) => { throw fileError('hosts_path', sb.hostsPath!, e); });
  if (sb.resolvConfPath) await writeFileNoFollow(sb.resolvConfPath, resolvText(sb, c.resolvPlan?.(sb, joined))).catch((e) => { throw fileError('resolv_conf_path', sb.resolvConfPath!, e); });
}

/** A path the runtime gave that can't hold a file (no such directory, a
 *  directory in the way) is the request's fault: 400 naming the field. */
function fileError(field: string, path: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return new BadRequest(`${field} ${path}: its directory does not exist or the path is a directory (${code})`, 'INVALID_PATH');
  if (code === 'ELOOP') return new BadRequest(`${field} ${path}: a component of the path is a symlink, and lnetd follows none`, 'INVALID_PATH');
  if (code === 'EBUSY' || code === 'EXDEV') return new BadRequest(`${field} ${path}: is a mount point or on another file system than its directory (${code})`, 'INVALID_PATH');
  return wrap(`write ${field} ${path}`, err);
}

function withRequest(sb: SandboxRecord, req: JoinInput): SandboxRecord {
  return {
    ...sb,
    hostName: req.hostName ?? sb.hostName,
    domainName: req.domainName ?? sb.domainName,
    hostsPath: req.hostsPath ?? sb.hostsPath,
    resolvConfPath: req.resolvConfPath ?? sb.resolvConfPath,
    dns: req.dns.length ? req.dns : sb.dns,
    dnsSearch: req.dnsSearch?.length ? req.dnsSearch : sb.dnsSearch,
    dnsOptions: req.dnsOptions?.length ? req.dnsOptions : sb.dnsOptions,
    extraHosts: req.extraHosts.length ? req.extraHosts.map((h) => `${h.name} ${h.address}`) : sb.extraHosts,
  };
}

export async function join(c: Controller, netRef: string, epRef: string, req: JoinInput): Promise<string> {
  const net0 = c.network(netRef);
  const epId = c.endpoint(net0, epRef).id;
  const existingKey = c.state.sandboxes.get(req.containerId)?.key;
  // the network shared: joins and leaves of its other endpoints run beside this one (see locks.ts)
  const keys = [`ep:${epId}`, `ctr:${req.containerId}`, keyLock(sandboxKey(c.netnsDir, req.containerId))];
  if (existingKey) keys.push(keyLock(existingKey));
  return c.locks.with(keys, async () => {
    const net = c.network(net0.id);
    const ep = c.endpoint(net, epId);
    // the same join again (a runtime retrying after lost answer, e.g. across a daemon crash) answers as the first did
    const mine = ep.container === req.containerId ? c.state.sandboxes.get(req.containerId) : undefined;
    if (mine) return mine.key;
    if (ep.container) throw new Conflict(`endpoint ${ep.name} is already joined to container ${ep.container}`, 'ALREADY_JOINED');
    if (req.hostsPath) checkFilePath('hosts_path', req.hostsPath, c.files);
    if (req.resolvConfPath) checkFilePath('resolv_conf_path', req.resolvConfPath, c.files);
    const { sb: sb0, fresh } = await sandboxFor(c, net, req);
    const sb = withRequest(sb0, req);
    const target: JoinTarget = {
      containerId: req.containerId, key: sb.key, isDefault: sb.isDefault, ifname: interfaceName(c, sb, req),
      gatewayProvider: providesGateway(c, sb, net, ep), runtimeNetns: sb.owned === false,
    };
    // the file paths let recovery sweep a temporary file a kill left beside them
    const files = [sb.hostsPath, sb.resolvConfPath].filter((f): f is string => !!f);
    const clear = await c.intent('join', { networkId: net.id, endpointId: ep.id, containerId: req.containerId, key: sb.key, fresh, ifname: target.ifname, files });
    c.fault('join:after-intent');
    const undo: Array<() => Promise<void>> = [];
    try {
      const taken = (err: unknown): never => {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        throw new Conflict(`sandbox path ${sb.key} for container ${req.containerId.slice(0, 128)} is taken by something lnetd did not make: ${(err as Error).message}`, 'ALREADY_JOINED');
      };
      if (fresh && sb.owned === false) {
        // our own bind mount of the runtime's namespace: undo (and the last leave) drop only it
        sb.netnsIno = await c.kernel.adoptNetns(sb.key, req.sandboxKey!, req.netnsInode).catch((err) => {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') taken(err);
          throw runtimeNetnsError(req.sandboxKey!, err);
        });
        undo.push(() => c.kernel.deleteNetns(sb.key));
        // netavark brings the runtime namespace's lo up and podman relies on it (CNI runtimes
        // run the loopback plugin for the same): up is idempotent, so do it for every runtime
        await c.kernel.setLinkUp('lo', sb.key);
      } else if (fresh && !sb.isDefault) {
        await c.kernel.createNetns(sb.key).catch(taken);
        undo.push(() => c.kernel.deleteNetns(sb.key));
      }
      c.fault('join:after-netns');
      await c.driver(net.type).join(net, ep, target);
      undo.push(() => c.driver(net.type).leave(net, ep, target));
      c.fault('join:after-driver');
      const aliases = [...new Set([...(ep.aliases ?? []), ...(req.aliases ?? [])])];
      const joinedEp: EndpointRecord = { ...ep, container: req.containerId, ifname: target.ifname, ...(aliases.length ? { aliases } : {}) };
      const joined = [...sb.endpoints.map((id) => c.state.endpoints.get(id)!).filter(Boolean), joinedEp];
      await writeFiles(c, sb, joined);
      c.fault('join:after-files');
      const nextSb: SandboxRecord = { ...sb, endpoints: [...sb.endpoints, ep.id], nextIf: sb.nextIf + 1 };
      const ops: BatchOp[] = [
        { type: 'put', kind: 'endpoints', key: ep.id, value: joinedEp },
        { type: 'put', kind: 'sandboxes', key: sb.containerId, value: nextSb },
        clear,
      ];
      await c.commit(ops, { durable: false });  // kernel state a reboot removes too: see commit()
      if (!sb.isDefault) c.kernel.releaseNetns(sb.key);
      return sb.key;
    } catch (err) {
      for (const step of undo.reverse()) await step().catch((e) => c.log.error({ err: e }, 'undo join'));
      await c.clearIntent(clear);
      throw err;
    }
  }, [`net:${net0.id}`]);
}

export async function leave(c: Controller, netRef: string, epRef: string, containerId: string): Promise<void> {
  const net0 = c.network(netRef);
  const epId = c.endpoint(net0, epRef).id;
  await c.locks.with([`ep:${epId}`, `ctr:${containerId}`], async () => {
    const net = c.network(net0.id);
    const ep = c.endpoint(net, epId);
    const sb = c.state.sandboxes.get(containerId);
    if (ep.container !== containerId || !sb) {
      throw new NotFound(`endpoint ${ep.name} is not joined to container ${containerId.slice(0, 128)}`, 'CONTAINER_NOT_FOUND');
    }
    const last = sb.endpoints.length === 1;
    // the namespace's deletion reaps the veth only if it is still ours to delete: when
    // someone unmounted it already (a process may still hold it), the host end goes in line
    // a runtime's namespace outlives our mount of it: its veth goes in line
    const going = last && !sb.isDefault && sb.owned !== false && (await c.kernel.isNetns(sb.key));
    const target: JoinTarget = {
      containerId, key: sb.key, isDefault: sb.isDefault, ifname: ep.ifname ?? 'eth0', gatewayProvider: false, sandboxGoing: going, runtimeNetns: sb.owned === false,
    };
    // sandbox + nextIf name this very join: a failed leave's intent is kept (the
    // runtime asked to leave), and recovery replays it only while no join happened since
    const clear = await c.intent('leave', { networkId: net.id, endpointId: ep.id, containerId, key: sb.key, last, ifname: ep.ifname, sandboxCreated: sb.created, nextIf: sb.nextIf });
    c.fault('leave:after-intent');
    await c.driver(net.type).leave(net, ep, target);
    c.fault('leave:after-driver');
    // The leave is done once the driver has unplugged; a route for what stays is
    // best effort (the namespace may be gone, taken by someone else).
    if (!last && !sb.isDefault && (await c.kernel.isNetns(sb.key))) {
      await handOverGateway(c, sb, ep.id).catch((err) => c.log.warn({ err, container: containerId }, 'leave: could not move the default route'));
    }
    if (last && !sb.isDefault) await c.kernel.deleteNetns(sb.key);
    c.fault('leave:after-netns');
    const { container: _c, ifname: _i, ...rest } = ep;
    const ops: BatchOp[] = [{ type: 'put', kind: 'endpoints', key: ep.id, value: rest }, clear];
    if (last) ops.push({ type: 'del', kind: 'sandboxes', key: containerId });
    else ops.push({ type: 'put', kind: 'sandboxes', key: containerId, value: { ...sb, endpoints: sb.endpoints.filter((id) => id !== ep.id) } });
    await c.commit(ops, { durable: false });  // see commit()
  }, [`net:${net0.id}`]);
}
