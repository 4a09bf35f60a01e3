// The kernel contract suite: the same cases, through the `Kernel` interface
// only, against the fake kernel (unit tier) and the netlink kernel (kernel
// tier, as root, inside a throwaway network namespace). Whatever callers
// depend on is asserted here, with the same answers and the same error codes
// on both, so the fake cannot drift from the real thing without this going
// red: namespaces, bridges, veths with their peer in a namespace, link state,
// MTU, MAC and the alias lnetd marks what it owns with, addresses, routes,
// listing, deletion and what goes with it, duplicates and missing objects.

import type { Test } from 'tap';
import type { Kernel, LinkInfo } from '../../drivers/linux/kernel.js';

export interface KernelEnv {
  kernel: Kernel;
  /** A fresh path for a namespace (not yet made). */
  nsPath(label: string): string;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** A MAC lnetd makes up: unicast, locally administered. */
function isLocalUnicast(mac: string): boolean {
  const first = parseInt(mac.slice(0, 2), 16);
  return MAC_RE.test(mac) && (first & 1) === 0 && (first & 2) === 2;
}

/** What a test compares of a link: no index (the kernel picks it). */
function shape(l: LinkInfo | undefined): Partial<LinkInfo> | undefined {
  if (!l) return undefined;
  const { index: _i, master: _m, ...rest } = l;
  return rest;
}

/** Wait for what the kernel does after the call returns (a namespace is
 *  torn down by a kernel worker once its last reference goes): poll until
 *  check holds, for at most 10 s. A readiness wait, not a speed check. */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Addresses of a namespace as `ifname cidr`, sorted, without IPv6 link-local ones. */
async function addrsOf(k: Kernel, ns?: string): Promise<string[]> {
  const names = new Map((await k.links(ns)).map((l) => [l.index, l.name]));
  return (await k.addresses(ns)).filter((a) => !a.cidr.startsWith('fe80:'))
    .map((a) => `${names.get(a.index) ?? `#${a.index}`} ${a.cidr}`).sort();
}

/** Main-table unicast routes of a namespace as `dst [via gw] dev ifname [metric n]`, sorted, without IPv6 link-local and multicast ones. */
async function routesOf(k: Kernel, ns?: string): Promise<string[]> {
  const names = new Map((await k.links(ns)).map((l) => [l.index, l.name]));
  return (await k.routes(ns)).filter((r) => !r.dst.startsWith('fe80:') && !r.dst.startsWith('ff00:'))
    .map((r) => [r.dst, r.gateway && `via ${r.gateway}`, r.index !== undefined && `dev ${names.get(r.index) ?? `#${r.index}`}`, r.metric && `metric ${r.metric}`]
      .filter(Boolean).join(' ')).sort();
}

/** Run the suite: make() gives a fresh environment per case (its cleanup is the caller's t.teardown). */
export function kernelSuite(t: Test, make: (t: Test) => Promise<KernelEnv>): void {
  t.test('a new namespace: lo up with its loopback addresses; duplicates and missing ones', async (t) => {
    const { kernel: k, nsPath } = await make(t);
    const ns = nsPath('ns');
    t.equal(await k.isNetns(ns), false, 'not there before');
    await t.rejects(k.links(ns), { code: 'ENOENT' }, 'listing a missing namespace: ENOENT');
    await k.createNetns(ns);
    t.equal(await k.isNetns(ns), true);
    t.same((await k.links(ns)).map((l) => [l.index, l.name, l.up, l.mtu]), [[1, 'lo', true, 65536]]);
    t.same(await addrsOf(k, ns), ['lo 127.0.0.1/8', 'lo ::1/128']);
    t.same((await k.routes(ns)).filter((r) => r.family === 4), [], 'no IPv4 route in the main table');
    await t.rejects(k.createNetns(ns), { code: 'EEXIST', message: /create netns/ }, 'a second create: EEXIST');
    await k.deleteNetns(ns);
    t.equal(await k.isNetns(ns), false, 'gone');
    await k.deleteNetns(ns);  // a missing one is success
    t.pass('deleting a missing namespace is success');
  });

  t.test('bridges: made up, with MTU, MAC and mark; idempotent; refuse a non-bridge name', async (t) => {
    const { kernel: k, nsPath } = await make(t);
    const a = await k.ensureBridge('lnet-ks1', { mtu: 1400, mac: '02:AA:00:00:00:01', alias: 'lnetd:suite' });
    t.match(shape(a), { name: 'lnet-ks1', kind: 'bridge', up: true, mtu: 1400, mac: '02:aa:00:00:00:01', alias: 'lnetd:suite' });
    t.same(await k.link('lnet-ks1'), a, 'link() answers what ensureBridge returned');
    const again = await k.ensureBridge('lnet-ks1', { mtu: 1400 });
    t.same(again, a, 'a second ensure changes nothing');
    const changed = await k.ensureBridge('lnet-ks1', { mtu: 1450, alias: 'lnetd:other' });
    t.equal(changed.index, a.index, 'the same bridge');
    t.match(shape(changed), { mtu: 1450, alias: 'lnetd:other', mac: '02:aa:00:00:00:01' }, 'MTU and mark follow the ensure');
    await k.setLinkDown('lnet-ks1');
    t.equal((await k.link('lnet-ks1'))?.up, false);
    t.equal((await k.ensureBridge('lnet-ks1', {})).up, true, 'ensure brings a down bridge up');
    const plain = await k.ensureBridge('lnet-ks2', {});
    t.equal(plain.mtu, 1500, 'default MTU');
    t.ok(isLocalUnicast(plain.mac), `a MAC of its own, unicast and locally administered (${plain.mac})`);
    t.equal(plain.alias, undefined, 'no mark unless asked');
    const ns = nsPath('br');
    await k.createNetns(ns);
    await k.createVeth({ name: 'lvks1', peer: { name: 'eth0', ns } });
    await t.rejects(k.ensureBridge('lvks1', {}), { code: 'EEXIST', message: /ensure bridge lvks1/ }, 'a veth of that name: EEXIST');
    t.equal((await k.link('lvks1'))?.kind, 'veth', 'and it stays a veth');
  });

  t.test('veth: host side enslaved, up, marked; the peer is made straight in its namespace, down', async (t) => {
    const { kernel: k, nsPath } = await make(t);
    const br = await k.ensureBridge('lnet-ks3', {});
    const ns = nsPath('veth');
    await k.createNetns(ns);
    await k.createVeth({ name: 'lvks3', master: 'lnet-ks3', mtu: 1420, hairpin: true, alias: 'lnetd:suite', peer: { name: 'eth0', ns, mac: '02:42:0A:00:00:02' } });
    const host = await k.link('lvks3');
    t.match(shape(host), { name: 'lvks3', kind: 'veth', up: true, mtu: 1420, alias: 'lnetd:suite', peerElsewhere: true });
    t.equal(host?.master, br.index, 'enslaved to the bridge');
    t.ok(isLocalUnicast(host!.mac), 'host side has a MAC of its own');
    const peer = await k.link('eth0', ns);
    t.match(shape(peer), { name: 'eth0', kind: 'veth', up: false, mtu: 1420, mac: '02:42:0a:00:00:02', peerElsewhere: true });
    t.equal(peer?.alias, undefined, 'the mark is on the host side only');
    t.equal(peer?.master, undefined);
    t.equal(await k.link('eth0'), undefined, 'the peer is not in the own namespace');
    t.equal(await k.link('lvks3', ns), undefined, 'nor the host side in the sandbox');
    t.same((await k.links(ns)).map((l) => l.name), ['lo', 'eth0'], 'listing the sandbox, by index');
    const own = (await k.links()).map((l) => l.name);
    t.ok(own.includes('lnet-ks3') && own.includes('lvks3') && own[0] === 'lo', 'listing the own namespace');
    const plain = nsPath('plain');
    await k.createNetns(plain);
    await k.createVeth({ name: 'lvks4', peer: { name: 'eth0', ns: plain } });
    const h4 = await k.link('lvks4');
    t.match(shape(h4), { kind: 'veth', up: true, mtu: 1500 });
    t.equal(h4?.master, undefined, 'no master unless asked');
    t.equal(h4?.alias, undefined, 'no mark unless asked');
    t.ok(isLocalUnicast((await k.link('eth0', plain))!.mac), 'peer MAC made up when not given');
  });

  t.test('veth errors: duplicates EEXIST, a missing namespace ENOENT, a missing bridge ENODEV; nothing left of a failed pair', async (t) => {
    const { kernel: k, nsPath } = await make(t);
    await k.ensureBridge('lnet-ks5', {});
    const ns = nsPath('dup');
    await k.createNetns(ns);
    await k.createVeth({ name: 'lvks5', master: 'lnet-ks5', peer: { name: 'eth0', ns } });
    const before = (await k.links()).map((l) => l.name).sort();
    await t.rejects(k.createVeth({ name: 'lvks5', peer: { name: 'eth1', ns } }), { code: 'EEXIST', message: /create veth lvks5/ }, 'host name taken');
    await t.rejects(k.createVeth({ name: 'lvks6', peer: { name: 'eth0', ns } }), { code: 'EEXIST' }, 'peer name taken in its namespace');
    await t.rejects(k.createVeth({ name: 'lvks7', peer: { name: 'eth0', ns: nsPath('missing') } }), { code: 'ENOENT' }, 'namespace missing');
    await t.rejects(k.createVeth({ name: 'lvks8', master: 'lnet-nobr', peer: { name: 'eth9', ns } }), { code: 'ENODEV' }, 'bridge missing');
    t.same((await k.links()).map((l) => l.name).sort(), before, 'no host side left of the failed pairs');
    t.same((await k.links(ns)).map((l) => l.name), ['lo', 'eth0'], 'no peer left either');
  });

  t.test('link state: up and down; missing links', async (t) => {
    const { kernel: k, nsPath } = await make(t);
    const ns = nsPath('state');
    await k.createNetns(ns);
    await k.createVeth({ name: 'lvks9', peer: { name: 'eth0', ns } });
    await k.setLinkUp('eth0', ns);
    t.equal((await k.link('eth0', ns))?.up, true, 'up in its namespace');
    await k.setLinkDown('lvks9');
    t.equal((await k.link('lvks9'))?.up, false, 'host side down');
    t.equal((await k.link('eth0', ns))?.up, true, 'the peer stays administratively up');
    await k.setLinkUp('lvks9');
    t.equal((await k.link('lvks9'))?.up, true);
    await k.setLinkDown('lvks-missing');  // a missing one is success
    await k.setLinkDown('eth7', ns);
    t.equal(await k.link('lvks-missing'), undefined, 'link() of a missing link: undefined');
    await t.rejects(k.setLinkUp('lvks-missing'), { code: 'ENODEV', message: /set link lvks-missing up/ }, 'up of a missing link: ENODEV');
    await t.rejects(k.setLinkUp('eth0', nsPath('missing')), { code: 'ENOENT' }, 'in a missing namespace: ENOENT');
  });

  t.test('addresses: listed by link and family, an existing one is success, the prefix route comes with the link up', async (t) => {
    const { kernel: k, nsPath } = await make(t);
    const ns = nsPath('addr');
    await k.createNetns(ns);
    await k.createVeth({ name: 'lvksa', peer: { name: 'eth0', ns } });
    await k.addAddress('eth0', '10.71.0.2/24', ns);
    await k.addAddress('eth0', '10.71.0.2/24', ns);  // existing is success
    await k.addAddress('eth0', 'fd71::2/64', ns);
    const eth0 = (await k.link('eth0', ns))!;
    t.match((await k.addresses(ns)).filter((a) => a.index === eth0.index && !a.cidr.startsWith('fe80:')),
      [{ index: eth0.index, cidr: '10.71.0.2/24', family: 4 }, { index: eth0.index, cidr: 'fd71::2/64', family: 6 }]);
    t.same(await addrsOf(k, ns), ['eth0 10.71.0.2/24', 'eth0 fd71::2/64', 'lo 127.0.0.1/8', 'lo ::1/128']);
    t.same(await routesOf(k, ns), [], 'no prefix route while the link is down');
    await k.setLinkUp('eth0', ns);
    t.same((await routesOf(k, ns)), ['10.71.0.0/24 dev eth0', 'fd71::/64 dev eth0 metric 256'], 'prefix routes once up (IPv6: the kernel\'s metric 256)');
    await k.addAddress('eth0', '10.72.0.9/32', ns);
    t.notOk((await routesOf(k, ns)).some((r) => r.startsWith('10.72.')), 'a /32 brings no prefix route');
    await k.deleteAddress('eth0', '10.71.0.2/24', ns);
    await k.deleteAddress('eth0', '10.71.0.2/24', ns);  // missing is success
    await k.deleteAddress('eth9', '10.71.0.2/24', ns);  // missing link too
    t.same(await addrsOf(k, ns), ['eth0 10.72.0.9/32', 'eth0 fd71::2/64', 'lo 127.0.0.1/8', 'lo ::1/128'], 'deleted');
    t.notOk((await routesOf(k, ns)).some((r) => r.startsWith('10.71.')), 'its prefix route went with it');
    await t.rejects(k.addAddress('eth9', '10.71.0.3/24', ns), { code: 'ENODEV', message: /add address 10\.71\.0\.3\/24 to eth9/ }, 'a missing link: ENODEV');
    await t.rejects(k.addAddress('eth0', '10.71.0.3/24', nsPath('missing')), { code: 'ENOENT' }, 'a missing namespace: ENOENT');
    const bridge = await k.ensureBridge('lnet-ksa', {});
    await k.addAddress('lnet-ksa', '10.73.0.1/24');
    t.ok((await k.addresses()).some((a) => a.index === bridge.index && a.cidr === '10.73.0.1/24'), 'an address on a bridge of the own namespace');
    t.ok((await routesOf(k)).includes('10.73.0.0/24 dev lnet-ksa'), 'its prefix route (the bridge is up)');
  });

  t.test('routes: default via an on-link gateway, by device, with a metric; existing is success; unreachable is refused', async (t) => {
    const { kernel: k, nsPath } = await make(t);
    const ns = nsPath('route');
    await k.createNetns(ns);
    await k.createVeth({ name: 'lvksr', peer: { name: 'eth0', ns } });
    await k.addAddress('eth0', '10.74.0.2/24', ns);
    await k.addAddress('eth0', 'fd74::2/64', ns);
    await t.rejects(k.addRoute({ dst: 'default', gateway: '10.74.0.1' }, ns), { code: 'ENETUNREACH' }, 'the link is down: the gateway is not on-link');
    await k.setLinkUp('eth0', ns);
    await k.addRoute({ dst: 'default', gateway: '10.74.0.1' }, ns);
    await k.addRoute({ dst: 'default', gateway: '10.74.0.1' }, ns);  // existing is success
    await k.addRoute({ dst: 'default', gateway: 'fd74::1' }, ns);
    await k.addRoute({ dst: '10.75.0.0/16', gateway: '10.74.0.254', metric: 50 }, ns);
    await k.addRoute({ dst: '10.76.0.0/16', ifname: 'eth0' }, ns);
    await t.rejects(k.addRoute({ dst: 'default', gateway: '192.0.2.1' }, ns), { code: 'ENETUNREACH', message: /add route default via 192\.0\.2\.1/ }, 'a gateway on no link');
    await t.rejects(k.addRoute({ dst: '10.77.0.0/16', ifname: 'eth9' }, ns), { code: 'ENODEV' }, 'a missing device');
    await t.rejects(k.addRoute({ dst: 'default' }, ns), { code: 'EINVAL' }, 'a default route needs a gateway');
    const eth0 = (await k.link('eth0', ns))!.index;
    t.same(await routesOf(k, ns), [
      '10.74.0.0/24 dev eth0', '10.75.0.0/16 via 10.74.0.254 dev eth0 metric 50', '10.76.0.0/16 dev eth0',
      'default via 10.74.0.1 dev eth0', 'default via fd74::1 dev eth0 metric 1024', 'fd74::/64 dev eth0 metric 256',
    ], 'the routes the namespace holds (IPv6 routes: metric 1024 unless given, 256 for a prefix route)');
    t.match((await k.routes(ns)).filter((r) => r.dst === 'default'), [{ family: 4, gateway: '10.74.0.1', index: eth0 }, { family: 6, gateway: 'fd74::1', index: eth0 }]);
    await k.setLinkDown('eth0', ns);
    t.same(await routesOf(k, ns), [], 'a link set down takes every route through it');
    t.same(await addrsOf(k, ns), ['eth0 10.74.0.2/24', 'lo 127.0.0.1/8', 'lo ::1/128'], 'and its IPv6 addresses (keep_addr_on_down is 0); IPv4 ones stay');
    await k.setLinkUp('eth0', ns);
    t.same(await routesOf(k, ns), ['10.74.0.0/24 dev eth0'], 'up again: the prefix route of what is left, nothing else');
    await k.addRoute({ dst: 'default', gateway: '10.74.0.1' }, ns);
    await k.deleteAddress('eth0', '10.74.0.2/24', ns);
    t.same(await routesOf(k, ns), [], 'the last IPv4 address of a link takes its IPv4 routes, via a gateway too');
  });

  t.test('setupInterface: up, addresses and routes in one call; what exists is success; a refused route fails it after what came before', async (t) => {
    const { kernel: k, nsPath } = await make(t);
    const ns = nsPath('setup');
    await k.createNetns(ns);
    await k.createVeth({ name: 'lvkss', peer: { name: 'eth0', ns } });
    const cfg = { addresses: ['10.78.0.7/24', 'fd78::7/64'], routes: [{ dst: 'default', gateway: '10.78.0.1' }, { dst: 'default', gateway: 'fd78::1' }] };
    await k.setupInterface('eth0', ns, cfg);
    await k.setupInterface('eth0', ns, cfg);  // all there already
    t.equal((await k.link('eth0', ns))?.up, true);
    t.same((await addrsOf(k, ns)).filter((a) => a.startsWith('eth0')), ['eth0 10.78.0.7/24', 'eth0 fd78::7/64']);
    t.same((await routesOf(k, ns)).filter((r) => r.startsWith('default')), ['default via 10.78.0.1 dev eth0', 'default via fd78::1 dev eth0 metric 1024']);
    await t.rejects(k.setupInterface('eth0', ns, { addresses: ['10.78.0.8/24'], routes: [{ dst: '10.79.0.0/16', gateway: '10.80.0.1' }] }),
      { code: 'ENETUNREACH', message: /set up eth0/ });
    t.ok((await addrsOf(k, ns)).includes('eth0 10.78.0.8/24'), 'the address before the refused route was applied');
    await t.rejects(k.setupInterface('eth9', ns, cfg), { code: 'ENODEV' }, 'a missing link');
  });

  t.test('createVeth with a setup: the peer comes up inside with its addresses and routes; a refused setup leaves no pair', async (t) => {
    const { kernel: k, nsPath } = await make(t);
    await k.ensureBridge('lnet-ksw', {});
    const ns = nsPath('with');
    await k.createNetns(ns);
    const cfg = { addresses: ['10.83.0.7/24', 'fd83::7/64'], routes: [{ dst: 'default', gateway: '10.83.0.1' }, { dst: 'default', gateway: 'fd83::1' }] };
    await k.createVeth({ name: 'lvksw1', master: 'lnet-ksw', hairpin: true, peer: { name: 'eth0', ns } }, cfg);
    t.equal((await k.link('lvksw1'))?.up, true, 'host side up');
    t.equal((await k.link('eth0', ns))?.up, true, 'peer up inside');
    t.same((await addrsOf(k, ns)).filter((a) => a.startsWith('eth0')), ['eth0 10.83.0.7/24', 'eth0 fd83::7/64']);
    t.same((await routesOf(k, ns)).filter((r) => r.startsWith('default')), ['default via 10.83.0.1 dev eth0', 'default via fd83::1 dev eth0 metric 1024']);
    // a route the kernel refuses (its gateway is on no link): the setup's error, and the pair is gone
    await t.rejects(k.createVeth({ name: 'lvksw2', master: 'lnet-ksw', peer: { name: 'eth1', ns } }, { addresses: ['10.84.0.7/24'], routes: [{ dst: '10.85.0.0/16', gateway: '10.86.0.1' }] }),
      { code: 'ENETUNREACH', message: /set up eth1/ });
    t.equal(await k.link('lvksw2'), undefined, 'no host side left');
    t.equal(await k.link('eth1', ns), undefined, 'no peer left');
    // a pair that can't be made (its host name is taken): the setup part is not sent
    await t.rejects(k.createVeth({ name: 'lvksw1', peer: { name: 'eth2', ns } }, { addresses: ['10.91.0.7/24'], routes: [] }), { code: 'EEXIST', message: /create veth lvksw1/ });
    t.notOk((await addrsOf(k, ns)).some((a) => a.includes('10.91.')), 'no address of it anywhere');
    t.equal(await k.link('eth2', ns), undefined);
    // the next link in that namespace still gets set up (the index picked for the deleted peer is not reused wrongly)
    await k.createVeth({ name: 'lvksw3', master: 'lnet-ksw', peer: { name: 'eth1', ns } }, { addresses: ['10.87.0.7/24'], routes: [] });
    t.ok((await addrsOf(k, ns)).includes('eth1 10.87.0.7/24'));
    // a namespace lnetd did not make (a runtime's, adopted): the same outcome
    const runtime = nsPath('wrt');
    await k.createNetns(runtime);
    const key = nsPath('wkey');
    await k.adoptNetns(key, runtime);
    await k.createVeth({ name: 'lvksw4', peer: { name: 'eth0', ns: key } }, { addresses: ['10.88.0.7/24'], routes: [{ dst: 'default', gateway: '10.88.0.1' }] });
    t.equal((await k.link('eth0', key))?.up, true);
    t.same(await routesOf(k, key), ['10.88.0.0/24 dev eth0', 'default via 10.88.0.1 dev eth0']);
    await t.rejects(k.createVeth({ name: 'lvksw5', peer: { name: 'eth1', ns: key } }, { addresses: [], routes: [{ dst: '10.89.0.0/16', gateway: '10.90.0.1' }] }),
      { code: 'ENETUNREACH', message: /set up eth1/ });
    t.equal(await k.link('lvksw5'), undefined, 'no host side left there either');
    await k.deleteNetns(key);
    await k.deleteNetns(runtime);
    await k.deleteNetns(ns);
  });

  t.test('deletion and what goes with it: a veth pair dies as a whole, from either end and with its namespace; a bridge frees its ports', async (t) => {
    const { kernel: k, nsPath } = await make(t);
    await k.ensureBridge('lnet-ksd', {});
    const ns = nsPath('del');
    await k.createNetns(ns);
    await k.createVeth({ name: 'lvksd1', master: 'lnet-ksd', peer: { name: 'eth0', ns } });
    await k.createVeth({ name: 'lvksd2', master: 'lnet-ksd', peer: { name: 'eth1', ns } });
    await k.addAddress('eth0', '10.81.0.2/24', ns);
    await k.deleteLink('lvksd1');
    t.equal(await k.link('lvksd1'), undefined, 'host side gone');
    t.equal(await k.link('eth0', ns), undefined, 'its peer went with it');
    t.notOk((await addrsOf(k, ns)).some((a) => a.includes('10.81.')), 'and the peer\'s address');
    await k.deleteLink('lvksd1');  // missing is success
    await k.deleteLink('eth1', ns);
    t.equal(await k.link('lvksd2'), undefined, 'deleting the peer in its namespace takes the host side');
    await k.createVeth({ name: 'lvksd3', master: 'lnet-ksd', peer: { name: 'eth0', ns } });
    await k.addAddress('lnet-ksd', '10.82.0.1/24');
    await k.deleteLink('lnet-ksd');
    t.equal(await k.link('lnet-ksd'), undefined, 'bridge gone');
    const port = await k.link('lvksd3');
    t.ok(port, 'its port stays');
    t.equal(port?.master, undefined, 'no longer enslaved');
    t.notOk((await k.addresses()).some((a) => a.cidr === '10.82.0.1/24'), 'the bridge\'s address went with it');
    t.notOk((await routesOf(k)).some((r) => r.startsWith('10.82.')), 'and its prefix route');
    await k.deleteNetns(ns);
    t.ok(await eventually(async () => (await k.link('lvksd3')) === undefined), 'the host side of a veth goes with its peer\'s namespace');
    await k.deleteLink('lvksd3', ns);  // the namespace is gone: still success
    await k.deleteLink('eth0', nsPath('never'));
    t.pass('deleting in a missing namespace is success');
  });

  t.test('the own namespace bound at a path shares its links; unbinding leaves it', async (t) => {
    const { kernel: k, nsPath } = await make(t);
    await k.ensureBridge('lnet-kso', {});
    const p = nsPath('own');
    await k.bindOwnNetns(p);
    t.equal(await k.isNetns(p), true);
    t.same((await k.links(p)).map((l) => l.name), (await k.links()).map((l) => l.name), 'the same links');
    await t.rejects(k.bindOwnNetns(p), { code: 'EEXIST' }, 'binding again: EEXIST');
    await t.rejects(k.createNetns(p), { code: 'EEXIST' }, 'and no new namespace over it');
    await k.deleteNetns(p);
    t.equal(await k.isNetns(p), false);
    t.ok(await k.link('lnet-kso'), 'the own namespace and its links are untouched');
  });

  t.test('adopting a runtime\'s namespace: by path, checked by inode; never the own one', async (t) => {
    const { kernel: k, nsPath } = await make(t);
    const runtime = nsPath('runtime');
    await k.createNetns(runtime);
    await k.createVeth({ name: 'lvksn', peer: { name: 'eth0', ns: runtime } });
    const ino = await k.netnsInode(runtime);
    t.ok(Number.isInteger(ino) && ino > 0, 'an inode');
    const key = nsPath('key');
    t.equal(await k.adoptNetns(key, runtime, ino), ino);
    t.same((await k.links(key)).map((l) => l.name), ['lo', 'eth0'], 'the same namespace at the key');
    await t.rejects(k.adoptNetns(nsPath('key2'), runtime, ino + 1), { code: 'ENOTNETNS' }, 'another inode is refused');
    await t.rejects(k.adoptNetns(key, runtime), { code: 'EEXIST' }, 'a taken key: EEXIST');
    await t.rejects(k.adoptNetns(nsPath('key3'), nsPath('nothing')), { code: 'ENOENT' }, 'a missing source: ENOENT');
    const own = nsPath('ownbind');
    await k.bindOwnNetns(own);
    await t.rejects(k.netnsInode(own), { code: 'ENOTNETNS' }, 'the own namespace is refused');
    await t.rejects(k.adoptNetns(nsPath('key4'), own), { code: 'ENOTNETNS' });
    await k.deleteNetns(own);
    await k.deleteNetns(key);
    t.equal((await k.link('eth0', runtime))?.name, 'eth0', 'dropping the key leaves the runtime\'s namespace and its links');
    t.ok(await k.link('lvksn'), 'and the host side of its veth');
  });

  t.test('sysctls per namespace; only net/ paths', async (t) => {
    const { kernel: k, nsPath } = await make(t);
    const ns = nsPath('sysctl');
    await k.createNetns(ns);
    await k.writeSysctl('net/ipv4/ip_forward', '1', ns);
    t.equal(await k.readSysctl('net/ipv4/ip_forward', ns), '1');
    await k.writeSysctl('net/ipv4/ip_forward', '0', ns);
    t.equal(await k.readSysctl('net/ipv4/ip_forward', ns), '0');
    const other = nsPath('sysctl2');
    await k.createNetns(other);
    await k.writeSysctl('net/ipv4/ip_forward', '1', ns);
    t.equal(await k.readSysctl('net/ipv4/ip_forward', other), '0', 'another namespace keeps its own');
    await t.rejects(k.writeSysctl('../../etc/passwd', 'x', ns), { code: 'EINVAL' });
    await t.rejects(k.readSysctl('kernel/hostname', ns), { code: 'EINVAL' });
  });
}
