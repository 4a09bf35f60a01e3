// The shared driver suite: behaviour every driver must show, run on the fake
// kernel (unit tier) and on the real one (kernel tier, as root). It checks
// what the kernel holds, not only that nothing threw: after a join the
// sandbox has the interfaces, addresses, MAC and routes the driver promised
// (joined()); after a leave none of it is left; what the driver made is what
// it reports as owned() and what implied() keeps, so reconcile would neither
// delete a live object nor keep a leftover.

import type { Driver, DriverRecords, JoinTarget, OwnedObject } from '../../drivers/driver.js';
import type { Kernel } from '../../drivers/linux/kernel.js';
import type { EndpointRecord, NetworkRecord } from '../../store/records.js';
import { FAULT_STEPS } from '../../daemon/fault.js';
import type { Test } from 'tap';

export interface SuiteEnv {
  kernel: Kernel;
  /** The driver under test, made on this env's kernel and firewall. */
  driver: Driver;
  /** A fresh path for a sandbox namespace (not yet made). */
  nsPath(label: string): string;
  /** Distinct per run, so kernel objects never meet another run's. */
  idSeed: string;
}

type T = Test;

export function networkRecord(d: Driver, seed: string, n: number, raw: Record<string, unknown> = {}): NetworkRecord {
  const s = d.validateNetwork(raw);
  const id = (n.toString(16) + seed).padEnd(64, 'a').slice(0, 64);
  const rec: NetworkRecord = {
    version: 1, id, name: `suite-${d.type}-${n}`, type: d.type, created: '', predefined: false,
    internal: s.internal, enableIpv6: false, options: s.options, driver: {},
  };
  if (s.needsIpam) rec.ipv4 = { subnet: `10.7${n}.0.0/24`, gateway: `10.7${n}.0.1`, aux: {} };
  return rec;
}

export function endpointRecord(net: NetworkRecord, i: number): EndpointRecord {
  const last = net.ipv4?.gateway.split('.').slice(0, 3).join('.');
  return {
    version: 1, id: (net.id.slice(0, 8) + i.toString(16)).padEnd(64, 'e').slice(0, 64), name: `e${i}`, networkId: net.id, created: '',
    exposedPorts: [], portMapping: [],
    ipv4: last ? `${last}.${i + 10}/24` : undefined,
    mac: last ? `02:42:0a:7f:00:${(i + 10).toString(16).padStart(2, '0')}` : undefined,
    service: false, driver: {},
  };
}

const key = (o: OwnedObject) => `${o.kind}:${o.name}`;
const keys = (list: OwnedObject[]) => list.map(key).sort();

/** Where the sandbox differs from what joined() promised; [] when it holds all of it. */
export async function joinProblems(k: Kernel, d: Driver, net: NetworkRecord, ep: EndpointRecord, target: JoinTarget): Promise<string[]> {
  const want = d.joined(net, ep, target);
  const out: string[] = [];
  const links = await k.links(target.key);
  const addrs = await k.addresses(target.key);
  const routes = await k.routes(target.key);
  for (const i of want.interfaces) {
    const l = links.find((x) => x.name === i.name);
    if (!l) { out.push(`no interface ${i.name} in the sandbox`); continue; }
    if (!l.up) out.push(`${i.name} is down`);
    if (i.mac && l.mac !== i.mac) out.push(`${i.name} has MAC ${l.mac}, not ${i.mac}`);
    for (const a of i.addresses) if (!addrs.some((x) => x.index === l.index && x.cidr === a)) out.push(`${i.name} lacks ${a}`);
  }
  for (const r of want.routes) {
    if (!routes.some((x) => x.dst === r.dst && x.gateway === r.gateway)) out.push(`no route ${r.dst} via ${r.gateway}`);
  }
  return out;
}

/** What is left of a join after its leave: [] when nothing. */
export async function leaveProblems(k: Kernel, d: Driver, net: NetworkRecord, ep: EndpointRecord, target: JoinTarget): Promise<string[]> {
  if (!(await k.isNetns(target.key))) return [];
  const links = await k.links(target.key);
  return d.joined(net, ep, target).interfaces.filter((i) => links.some((l) => l.name === i.name)).map((i) => `${i.name} is still in the sandbox`);
}

export function driverSuite(t: T, env: SuiteEnv): void {
  const { kernel: k, driver: d } = env;
  const records = (nets: NetworkRecord[], eps: EndpointRecord[]): DriverRecords => ({ networks: nets, endpoints: eps, unreadable: { networks: [], endpoints: [] } });
  const target = (label: string, ifname = 'eth0', gatewayProvider = true): JoinTarget =>
    ({ containerId: label, key: env.nsPath(label), isDefault: false, ifname, gatewayProvider });

  t.test('declares its contract', async (t) => {
    t.ok(['local', 'global'].includes(d.scope), `scope ${d.scope}`);
    t.ok(['own', 'host'].includes(d.sandbox), `sandbox ${d.sandbox}`);
    t.same(d.faultSteps.filter((s) => !(FAULT_STEPS as readonly string[]).includes(s)), [], 'every fault step is one LNETD_FAULT accepts');
    t.throws(() => d.validateNetwork({ bad: { nested: true } }), { code: 'INVALID_OPTION' }, 'a non-scalar option is INVALID_OPTION');
  });

  t.test('create, join, leave, delete: the kernel holds what was promised, then nothing', async (t) => {
    const owned0 = keys(await d.owned());
    const net = networkRecord(d, env.idSeed, 1);
    net.driver = await d.createNetwork(net);
    const made = (await d.owned()).filter((o) => !owned0.includes(key(o)));
    const impliedNet = keys(d.implied(records([net], [])));
    t.same(keys(made).filter((x) => !impliedNet.includes(x)), [], 'everything the network made is implied by its record');
    const ep = endpointRecord(net, 2);
    ep.driver = await d.createEndpoint(net, ep);
    if (d.sandbox === 'host') return;   // its containers use the daemon's namespace: nothing to plug
    const tg = target('c2');
    await k.createNetns(tg.key);
    await d.join(net, ep, tg);
    t.same(await joinProblems(k, d, net, ep, tg), [], `after the join the sandbox has ${JSON.stringify(d.joined(net, ep, tg))}`);
    const joinedEp = { ...ep, container: 'c2', ifname: tg.ifname };
    const ownedJoined = await d.owned();
    const impliedJoined = keys(d.implied(records([net], [joinedEp])));
    t.same(keys(ownedJoined).filter((x) => !owned0.includes(x) && !impliedJoined.includes(x)), [], 'what the join made is implied while joined');
    const afterLeaveImplied = keys(d.implied(records([net], [ep])));
    const joinMade = keys(ownedJoined).filter((x) => !owned0.includes(x) && !afterLeaveImplied.includes(x));
    await d.leave(net, ep, tg);
    t.same(await leaveProblems(k, d, net, ep, tg), [], 'after the leave nothing of it is in the sandbox');
    t.same(keys(await d.owned()).filter((x) => joinMade.includes(x)), [], 'and nothing the join made is left outside it');
    await d.leave(net, ep, tg);
    t.pass('leave twice is fine');
    await k.deleteNetns(tg.key);
    await d.deleteEndpoint(net, ep);
    await d.deleteEndpoint(net, ep);
    await d.deleteNetwork(net);
    await d.deleteNetwork(net);
    t.same(keys(await d.owned()), owned0, 'deletes are idempotent and leave owned() as it was');
  });

  if (d.sandbox === 'host') return;

  t.test('leave succeeds when someone deleted the sandbox first', async (t) => {
    const net = networkRecord(d, env.idSeed, 2);
    net.driver = await d.createNetwork(net);
    const ep = endpointRecord(net, 3);
    const tg = target('c3');
    await k.createNetns(tg.key);
    await d.join(net, ep, tg);
    await k.deleteNetns(tg.key);
    await d.leave(net, ep, tg);
    t.pass('leave after the sandbox was deleted by someone else');
    await d.deleteNetwork(net);
  });

  t.test('two networks in one sandbox: one interface each; the default route hands over', async (t) => {
    const a = networkRecord(d, env.idSeed, 3);
    const b = networkRecord(d, env.idSeed, 4);
    a.driver = await d.createNetwork(a);
    b.driver = await d.createNetwork(b);
    const ea = endpointRecord(a, 4);
    const eb = endpointRecord(b, 5);
    const ta = target('c4', 'eth0', true);
    const tb: JoinTarget = { ...ta, ifname: 'eth1', gatewayProvider: false };
    await k.createNetns(ta.key);
    await d.join(a, ea, ta);
    await d.join(b, eb, tb);
    t.same([...await joinProblems(k, d, a, ea, ta), ...await joinProblems(k, d, b, eb, tb)], [], 'both interfaces as promised');
    const gives = d.givesDefaultRoute(b);
    await d.leave(a, ea, ta);
    await d.takeDefaultRoute(b, eb, tb);
    const promised = d.joined(b, eb, { ...tb, gatewayProvider: true }).routes;
    t.equal(promised.length > 0, gives, 'a network that gives a default route promises one');
    const routes = await k.routes(tb.key);
    t.same(promised.filter((r) => !routes.some((x) => x.dst === r.dst && x.gateway === r.gateway)), [], 'after the handover the default route goes through the other network');
    await d.leave(b, eb, tb);
    await k.deleteNetns(ta.key);
    await d.deleteNetwork(a);
    await d.deleteNetwork(b);
  });
}
