// The bridge driver on the fake kernel and firewall: options, what each
// operation makes, undo on failure, teardown that keeps going, restore.

import t from 'tap';
import { BridgeDriver, bridgeState, hostVethName } from '../../drivers/bridge/bridge.js';
import { OPT_BRIDGE_NAME, OPT_ICC, OPT_MASQUERADE, OPT_MTU, validateNetwork } from '../../drivers/bridge/options.js';
import type { JoinTarget } from '../../drivers/driver.js';
import { FakeFirewall } from '../lib/fake-firewall.js';
import { FakeKernel } from '../lib/fake-kernel.js';
import type { EndpointRecord, NetworkRecord } from '../../store/records.js';

const NETNS = '/run/lnetd-test/netns';
const NET_ID = 'ab'.repeat(32);

function net(over: Partial<NetworkRecord> = {}): NetworkRecord {
  return {
    version: 1, id: NET_ID, name: 'n1', type: 'bridge', created: '', predefined: false, internal: false, enableIpv6: true,
    options: {}, driver: {},
    ipv4: { subnet: '10.60.0.0/24', gateway: '10.60.0.1', aux: {} },
    ipv6: { subnet: 'fd60::/64', gateway: 'fd60::1', aux: {} },
    ...over,
  };
}

function ep(n: number, over: Partial<EndpointRecord> = {}): EndpointRecord {
  return {
    version: 1, id: `${n}`.repeat(64).slice(0, 64), name: `e${n}`, networkId: NET_ID, created: '', exposedPorts: [], portMapping: [],
    ipv4: `10.60.0.${n + 1}/24`, ipv6: `fd60::${n + 1}/64`, mac: `02:42:0a:3c:00:0${n + 1}`, service: false, driver: {}, ...over,
  };
}

const target = (n: number, over: Partial<JoinTarget> = {}): JoinTarget =>
  ({ containerId: `c${n}`, key: `${NETNS}/c${n}`, isDefault: false, ifname: 'eth0', gatewayProvider: true, ...over });

function setup() {
  const kernel = new FakeKernel();
  const firewall = new FakeFirewall();
  const driver = new BridgeDriver({ kernel, firewall, netnsDir: NETNS });
  return { kernel, firewall, driver };
}

/** Network created, sandbox made, endpoint joined. */
async function joined(over: Partial<NetworkRecord> = {}, epOver: Partial<EndpointRecord> = {}) {
  const s = setup();
  const n = { ...net(over) };
  n.driver = await s.driver.createNetwork(n);
  const e = ep(2, epOver);
  await s.kernel.createNetns(target(2).key);
  await s.driver.join(n, e, target(2));
  return { ...s, n, e };
}

t.test('options: defaults, aliases, normalised values', async (t) => {
  t.same(validateNetwork({}), { options: {}, internal: false, enableIpv6: false, needsIpam: true });
  const s = validateNetwork({ bridge_name: 'br-x', mtu: 1400, icc: 'False', masquerade: '1', internal: true, enable_ipv6: 't', other: 'kept' });
  t.same(s.options, { [OPT_BRIDGE_NAME]: 'br-x', [OPT_MTU]: '1400', [OPT_ICC]: 'false', [OPT_MASQUERADE]: 'true', 'com.docker.network.internal': 'true', 'com.docker.network.enable_ipv6': 'true', other: 'kept' });
  t.equal(s.internal, true);
  t.equal(s.enableIpv6, true);
  t.same(validateNetwork({ [OPT_MTU]: '9000', mtu: '9000' }).options, { [OPT_MTU]: '9000' }, 'alias and key may agree');
});

t.test('options: bad values are BadRequest naming the option', async (t) => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ [OPT_MTU]: 'huge' }, /com\.docker\.network\.driver\.mtu/], [{ mtu: 67 }, /option mtu/], [{ mtu: '65536' }, /mtu/], [{ mtu: '1e3' }, /mtu/],
    [{ bridge_name: 'a-name-of-16-byt' }, /bridge_name/], [{ [OPT_BRIDGE_NAME]: 'a/b' }, /bridge\.name/], [{ bridge_name: '' }, /bridge_name/],
    [{ bridge_name: 'ünïcödé-näme' }, /bridge_name/], [{ bridge_name: 'has space' }, /bridge_name/],
    [{ icc: 'maybe' }, /option icc/], [{ [OPT_MASQUERADE]: 'yes' }, /enable_ip_masquerade/],
    [{ mtu: '1400', [OPT_MTU]: '1500' }, /contradicts/], [{ mtu: { x: 1 } }, /options\.mtu/],
  ];
  for (const [raw, re] of bad) t.throws(() => validateNetwork(raw), { kind: 'invalid', code: 'INVALID_OPTION', message: re }, JSON.stringify(raw));
});

t.test('createNetwork: bridge, gateways, forwarding, firewall; MTU of the default-route interface', async (t) => {
  const { kernel, firewall, driver } = setup();
  await kernel.ensureBridge('uplink0', { mtu: 9000 });
  await kernel.addAddress('uplink0', '192.0.2.10/24');
  await kernel.addRoute({ dst: 'default', gateway: '192.0.2.1' });
  const state = await driver.createNetwork(net());
  t.match(state, { bridge: 'lnet-abababab', mtu: 9000, createdBridge: true, mac: /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/ });
  const br = await kernel.link('lnet-abababab');
  t.match(br, { kind: 'bridge', up: true, mtu: 9000 });
  t.same((await kernel.addresses()).filter((a) => a.index === br!.index).map((a) => a.cidr), ['10.60.0.1/24', 'fd60::1/64']);
  t.equal(await kernel.readSysctl('net/ipv4/ip_forward'), '1');
  t.same(firewall.networks.get(NET_ID), { id: NET_ID, bridge: 'lnet-abababab', masquerade: true, icc: true, internal: false, subnet4: '10.60.0.0/24', subnet6: 'fd60::/64' });
  const plain = setup();
  t.match(await plain.driver.createNetwork(net({ options: { [OPT_MTU]: '1400', [OPT_ICC]: 'false' }, enableIpv6: false })), { mtu: 1400 });
  t.match(plain.firewall.networks.get(NET_ID), { icc: false, subnet6: undefined });
  t.equal((await plain.kernel.addresses()).filter((a) => a.family === 6 && a.index !== 1).length, 0, 'no IPv6 gateway without enable_ipv6 (lo\'s ::1 aside)');
  const noRoute = setup();
  t.match(await noRoute.driver.createNetwork(net()), { mtu: 1500 }, '1500 without a default route');
});

t.test('createNetwork undoes itself on failure, at each step', async (t) => {
  const cases: [string, (k: FakeKernel, f: FakeFirewall) => void][] = [
    ['ensureBridge', (k) => k.failNext('ensureBridge', 'ENOMEM')],
    ['addAddress', (k) => k.failNext('addAddress', 'EIO')],
    ['second addAddress', (k) => k.failNext('addAddress', 'EIO', 1, 1)],
    ['writeSysctl', (k) => k.failNext('writeSysctl', 'EACCES')],
    ['firewall', (_k, f) => f.failNext('addNetwork')],
  ];
  for (const [what, fail] of cases) {
    const { kernel, firewall, driver } = setup();
    fail(kernel, firewall);
    await t.rejects(driver.createNetwork(net()), what);
    t.same((await kernel.links()).map((l) => l.name), ['lo'], `${what}: no bridge left`);
    t.equal(firewall.networks.size, 0, `${what}: no rules left`);
    t.ok(await driver.createNetwork(net()), `${what}: the bridge name is free again`);
  }
});

t.test('a bridge that existed is used but not deleted; two networks never share one', async (t) => {
  const { kernel, driver } = setup();
  await kernel.ensureBridge('br-mine', { mtu: 1450 });
  const n = net({ options: { [OPT_BRIDGE_NAME]: 'br-mine' } });
  n.driver = await driver.createNetwork(n);
  t.match(n.driver, { bridge: 'br-mine', createdBridge: false, mtu: 1450 });
  await t.rejects(driver.createNetwork(net({ id: 'cd'.repeat(32), options: { [OPT_BRIDGE_NAME]: 'br-mine' } })), { kind: 'conflict', code: 'NAME_IN_USE' });
  await driver.deleteNetwork(n);
  const br = await kernel.link('br-mine');
  t.ok(br, 'bridge kept');
  t.same((await kernel.addresses()).filter((a) => a.index === br!.index), [], 'our gateway addresses removed');
  await kernel.ensureBridge('notmine', {});
  await kernel.createNetns(`${NETNS}/x`);
  await kernel.createVeth({ name: 'eth-like', peer: { name: 'p', ns: `${NETNS}/x` } });
  await t.rejects(driver.createNetwork(net({ options: { [OPT_BRIDGE_NAME]: 'eth-like' } })), { kind: 'conflict', code: 'NAME_IN_USE', message: /eth-like/ });
});

t.test('join: veth into the sandbox, MAC, addresses, up, default routes, hairpin, port maps', async (t) => {
  const { kernel, firewall, n, e } = await joined({}, { portMapping: [{ proto: 6, port: 80, hostIp: '', hostPort: 8080, hostPortEnd: 0 }, { proto: 17, port: 53, hostIp: '127.0.0.1', hostPort: 5353, hostPortEnd: 0 }] });
  const veth = hostVethName(e.id);
  t.equal(veth, 'lv22222222222');
  const host = await kernel.link(veth);
  t.equal(host?.master, (await kernel.link('lnet-abababab'))?.index);
  t.equal(kernel.hairpin(veth), true);
  const ns = target(2).key;
  t.match(await kernel.link('eth0', ns), { up: true, mac: '02:42:0a:3c:00:03', mtu: bridgeState(n).mtu });
  t.same((await kernel.addresses(ns)).filter((a) => a.index !== 1).map((a) => a.cidr), ['10.60.0.3/24', 'fd60::3/64'], 'eth0\'s addresses (lo has its own)');
  t.same((await kernel.routes(ns)).filter((r) => r.dst === 'default').map((r) => r.gateway), ['10.60.0.1', 'fd60::1']);
  t.same([...firewall.portMaps.values()].map((m) => `${m.proto} ${m.hostIp}:${m.hostPort}->${m.containerIp}:${m.containerPort}`).sort(),
    ['tcp :8080->10.60.0.3:80', 'tcp :8080->fd60::3:80', 'udp 127.0.0.1:5353->10.60.0.3:53']);
});

t.test('join: no default route when another endpoint provides it or the network is internal', async (t) => {
  const a = await joined({}, {});
  const b = setup();
  const n = net();
  n.driver = await b.driver.createNetwork(n);
  await b.kernel.createNetns(target(3).key);
  await b.driver.join(n, ep(3), target(3, { gatewayProvider: false }));
  t.same((await b.kernel.routes(target(3).key)).filter((r) => r.dst === 'default'), []);
  const c = await joined({ internal: true }, { portMapping: [{ proto: 6, port: 80, hostIp: '', hostPort: 8080, hostPortEnd: 0 }] });
  t.same((await c.kernel.routes(target(2).key)).filter((r) => r.dst === 'default'), []);
  t.equal(c.firewall.portMaps.size, 0, 'no published ports on an internal network');
  t.ok(a);
});

t.test('join undoes itself: veth and port maps gone, typed errors kept', async (t) => {
  for (const step of ['setLinkUp', 'addAddress', 'addRoute'] as const) {
    const { kernel, driver, firewall } = setup();
    const n = net();
    n.driver = await driver.createNetwork(n);
    await kernel.createNetns(target(2).key);
    kernel.failNext(step, 'EIO');
    await t.rejects(driver.join(n, ep(2), target(2)), { code: 'EIO', message: /join endpoint e2 to network n1: .*EIO/ }, step);
    t.equal(await kernel.link(hostVethName(ep(2).id)), undefined, `${step}: host veth removed`);
    t.same((await kernel.links(target(2).key)).map((l) => l.name), ['lo'], `${step}: sandbox empty`);
    t.equal(firewall.portMaps.size, 0);
  }
  const s = await joined({}, { portMapping: [{ proto: 6, port: 80, hostIp: '', hostPort: 8080, hostPortEnd: 0 }] });
  await s.kernel.createNetns(target(3).key);
  const other = ep(3, { portMapping: [{ proto: 6, port: 80, hostIp: '', hostPort: 8080, hostPortEnd: 0 }] });
  await t.rejects(s.driver.join(s.n, other, target(3)), { kind: 'conflict', code: 'PORT_IN_USE' });
  t.equal(await s.kernel.link(hostVethName(other.id)), undefined, 'veth of the refused join removed');
  await t.rejects(s.driver.join(s.n, ep(4), target(4, { isDefault: true })), { code: 'NOT_SUPPORTED', message: /host's namespace/ });
});

t.test('leave: port maps and veth gone, also when the sandbox is already gone', async (t) => {
  const { kernel, firewall, driver, n, e } = await joined({}, { portMapping: [{ proto: 6, port: 80, hostIp: '', hostPort: 8080, hostPortEnd: 0 }] });
  await driver.leave(n, e, target(2));
  t.equal(await kernel.link(hostVethName(e.id)), undefined);
  t.equal(firewall.portMaps.size, 0);
  await driver.join(n, e, target(2));
  await kernel.deleteNetns(target(2).key);
  await driver.leave(n, e, target(2));
  await driver.leave(n, e, target(2));
  t.equal(await kernel.link(hostVethName(e.id)), undefined);
  await driver.deleteEndpoint(n, e);
});

t.test('last leave: the sandbox deletion reaps the veth, leave does not delete it in line', async (t) => {
  const { kernel, driver, n, e } = await joined({});
  const calls = kernel.calls.length;
  await driver.leave(n, e, { ...target(2), sandboxGoing: true });
  t.notOk(kernel.calls.slice(calls).some((c) => c.method === 'deleteLink'), 'no deleteLink');
  await kernel.deleteNetns(target(2).key);
  t.equal(await kernel.link(hostVethName(e.id)), undefined, 'the pair died with the namespace');
});

t.test('join over a host end still being reaped: deleted and retried', async (t) => {
  const { kernel, driver, n, e } = await joined({});
  await kernel.deleteNetns(target(2).key);
  await kernel.createNetns(target(2).key);
  kernel.failNext('createVeth', 'EEXIST');
  await driver.join(n, e, target(2));
  t.ok(await kernel.link(hostVethName(e.id)), 'joined');
});

t.test('deleteNetwork leaves nothing, and keeps going past a failure', async (t) => {
  const { kernel, firewall, driver } = setup();
  const before = await kernel.links();
  const n = net();
  n.driver = await driver.createNetwork(n);
  await driver.deleteNetwork(n);
  t.same(await kernel.links(), before);
  t.equal(firewall.networks.size, 0);
  await driver.deleteNetwork(n);  // again: missing is success
  n.driver = await driver.createNetwork(n);
  firewall.failNext('removeNetwork');
  await t.rejects(driver.deleteNetwork(n), /injected removeNetwork failure/);
  t.same(await kernel.links(), before, 'bridge removed despite the firewall failure');
  firewall.failNext('removeNetwork');
  kernel.failNext('deleteLink', 'EBUSY');
  await t.rejects(driver.deleteNetwork(n), { code: 'EBUSY', message: /injected removeNetwork failure.*EBUSY/ });
});

t.test('restore re-creates bridge (same MAC), addresses and rules from the records', async (t) => {
  const s = await joined({}, { container: 'c2', portMapping: [{ proto: 6, port: 80, hostIp: '', hostPort: 8080, hostPortEnd: 0 }] });
  const mac = (await s.kernel.link('lnet-abababab'))!.mac;
  const kernel = new FakeKernel();  // after a reboot
  const firewall = new FakeFirewall();
  const driver = new BridgeDriver({ kernel, firewall, netnsDir: NETNS });
  await driver.restore(s.n, [s.e, ep(5)]);
  t.match(await kernel.link('lnet-abababab'), { kind: 'bridge', up: true, mac });
  t.same((await kernel.addresses()).filter((a) => a.index !== 1).map((a) => a.cidr), ['10.60.0.1/24', 'fd60::1/64']);
  t.ok(firewall.networks.has(NET_ID));
  t.equal(firewall.portMaps.size, 2, 'published ports of joined endpoints');
  await driver.restore(s.n, [s.e]);  // idempotent
  t.equal((await kernel.links()).length, 2);
  await t.rejects(driver.createNetwork(net({ id: 'cd'.repeat(32), options: { [OPT_BRIDGE_NAME]: 'lnet-abababab' } })), { code: 'NAME_IN_USE' });
});

t.test('state of a record without driver state (crash before commit)', async (t) => {
  t.same(bridgeState(net()), { bridge: 'lnet-abababab', mtu: 1500, createdBridge: true });
  t.same(bridgeState(net({ options: { [OPT_BRIDGE_NAME]: 'br0', [OPT_MTU]: '1400' } })), { bridge: 'br0', mtu: 1400, createdBridge: false });
});
