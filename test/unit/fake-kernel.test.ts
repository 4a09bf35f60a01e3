// The fake kernel answers like the real one where drivers depend on it.

import t from 'tap';
import { isGone } from '../../errors/index.js';
import { FakeKernel } from '../lib/fake-kernel.js';

const NS = '/run/lnetd/netns/abc';

async function joined(): Promise<FakeKernel> {
  const k = new FakeKernel();
  await k.ensureBridge('lnet-1', {});
  await k.createNetns(NS);
  await k.createVeth({ name: 'lv1', master: 'lnet-1', hairpin: true, peer: { name: 'eth0', ns: NS, mac: '02:42:0a:00:00:02' } });
  return k;
}

t.test('namespaces: EEXIST, missing delete is success, lo up', async (t) => {
  const k = new FakeKernel();
  await k.createNetns(NS);
  await t.rejects(k.createNetns(NS), { code: 'EEXIST' });
  t.equal(await k.isNetns(NS), true);
  t.same((await k.links(NS)).map((l) => [l.name, l.up]), [['lo', true]]);
  await k.deleteNetns(NS);
  await k.deleteNetns(NS);
  t.equal(await k.isNetns(NS), false);
  await t.rejects(k.links(NS), { code: 'ENOENT' });
  t.same(k.netnsPaths(), []);
});

t.test('bridge: idempotent, refuses a non-bridge of that name', async (t) => {
  const k = new FakeKernel();
  const a = await k.ensureBridge('lnet-1', { mtu: 1400, mac: '02:00:00:00:00:01' });
  const b = await k.ensureBridge('lnet-1', {});
  t.same(a, b);
  t.equal(a.kind, 'bridge');
  t.equal(a.mtu, 1400);
  await k.createNetns(NS);
  await k.createVeth({ name: 'lv1', peer: { name: 'eth0', ns: NS } });
  await t.rejects(k.ensureBridge('lv1', {}), { code: 'EEXIST' });
});

t.test('veth: peer lands in its namespace, enslaved, hairpin', async (t) => {
  const k = await joined();
  const br = await k.link('lnet-1');
  const host = await k.link('lv1');
  t.equal(host?.master, br?.index);
  t.equal(host?.up, true);
  t.equal(k.hairpin('lv1'), true);
  const peer = await k.link('eth0', NS);
  t.equal(peer?.mac, '02:42:0a:00:00:02');
  t.equal(peer?.up, false, 'container side comes up when the driver says so');
  t.equal(await k.link('eth0'), undefined, 'not in the host namespace');
  await t.rejects(k.createVeth({ name: 'lv1', peer: { name: 'eth1', ns: NS } }), { code: 'EEXIST' });
  await t.rejects(k.createVeth({ name: 'lv2', peer: { name: 'eth0', ns: NS } }), { code: 'EEXIST' });
  await t.rejects(k.createVeth({ name: 'lv3', peer: { name: 'eth0', ns: '/nope' } }), { code: 'ENOENT' });
  await t.rejects(k.createVeth({ name: 'lv4', master: 'nobr', peer: { name: 'eth9', ns: NS } }), { code: 'ENODEV' });
});

t.test('a veth pair dies as a whole; with its namespace too', async (t) => {
  const k = await joined();
  await k.deleteLink('lv1');
  t.equal(await k.link('eth0', NS), undefined);
  await k.deleteLink('lv1');  // missing is success
  await k.createVeth({ name: 'lv1', peer: { name: 'eth0', ns: NS } });
  await k.deleteNetns(NS);
  t.equal(await k.link('lv1'), undefined, 'host side reaped with the namespace');
  await k.deleteLink('lv1', NS);  // namespace gone: still success
});

t.test('addresses, prefix routes, default route needs an up on-link gateway', async (t) => {
  const k = await joined();
  const eth0 = (await k.link('eth0', NS))!.index;
  const own = async () => (await k.addresses(NS)).filter((a) => a.index === eth0).map((a) => a.cidr);
  await k.addAddress('eth0', '10.0.0.2/24', NS);
  await k.addAddress('eth0', '10.0.0.2/24', NS);  // existing is success
  await k.addAddress('eth0', 'fd00::2/64', NS);
  t.same(await own(), ['10.0.0.2/24', 'fd00::2/64']);
  t.same(await k.routes(NS), [], 'no prefix routes while the link is down');
  await t.rejects(k.addRoute({ dst: 'default', gateway: '10.0.0.1' }, NS), { code: 'ENETUNREACH' }, 'link down');
  await k.setLinkUp('eth0', NS);
  t.same((await k.routes(NS)).map((r) => r.dst), ['10.0.0.0/24', 'fd00::/64'], 'they come with up');
  await k.addRoute({ dst: 'default', gateway: '10.0.0.1' }, NS);
  await k.addRoute({ dst: 'default', gateway: '10.0.0.1' }, NS);
  await k.addRoute({ dst: 'default', gateway: 'fd00::1' }, NS);
  await t.rejects(k.addRoute({ dst: 'default', gateway: '192.168.9.1' }, NS), { code: 'ENETUNREACH' });
  t.same((await k.routes(NS)).filter((r) => r.dst === 'default').map((r) => r.gateway), ['10.0.0.1', 'fd00::1']);
  await k.deleteAddress('eth0', '10.0.0.2/24', NS);
  await k.deleteAddress('eth0', '10.0.0.2/24', NS);
  t.same(await own(), ['fd00::2/64']);
  await t.rejects(k.addAddress('eth9', '10.0.0.3/24', NS), { code: 'ENODEV' });
  await t.rejects(k.addAddress('eth0', '10.0.0.300/24', NS), { code: 'EINVAL' });
  await t.rejects(k.setLinkUp('eth9', NS), { code: 'ENODEV' });
});

t.test('failNext injects a wrapped errno once, and calls are recorded', async (t) => {
  const k = await joined();
  k.failNext('addAddress', 'EEXIST');
  const err = await k.addAddress('eth0', '10.0.0.2/24', NS).catch((e: unknown) => e);
  t.match(err, { code: 'EEXIST', message: /add address 10\.0\.0\.2\/24 to eth0: EEXIST/ });
  await k.addAddress('eth0', '10.0.0.2/24', NS);
  k.failNext('deleteLink', 'ENODEV', 2);
  t.ok(isGone(await k.deleteLink('lv1').catch((e: unknown) => e)), 'ENODEV counts as gone');
  await t.rejects(k.deleteLink('lv1'), { code: 'ENODEV' });
  await k.deleteLink('lv1');
  t.equal(k.calls.filter((c) => c.method === 'deleteLink').length, 3);
  t.same(k.calls[0], { method: 'ensureBridge', args: ['lnet-1', {}] });
});

t.test('sysctls per namespace; bound own namespace shares state', async (t) => {
  const k = await joined();
  await k.writeSysctl('net/ipv4/ip_forward', '1');
  t.equal(await k.readSysctl('net/ipv4/ip_forward'), '1');
  t.equal(await k.readSysctl('net/ipv4/ip_forward', NS), '0');
  await t.rejects(k.writeSysctl('../etc/passwd', 'x'), { code: 'EINVAL' });
  await k.bindOwnNetns('/run/lnetd/netns/default');
  t.same(await k.links('/run/lnetd/netns/default'), await k.links());
  await t.rejects(k.bindOwnNetns('/run/lnetd/netns/default'), { code: 'EEXIST' });
  await k.deleteNetns('/run/lnetd/netns/default');
  t.ok(await k.link('lnet-1'), 'own namespace untouched');
  await k.close();
  t.equal(k.closed, true);
});
