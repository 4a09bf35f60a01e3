// NetlinkKernel on the real kernel, inside a throwaway host namespace, checked
// through `ip -j` as the independent oracle, with real traffic between two
// sandboxes the test made.

import t from 'tap';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { NetlinkKernel } from '../../drivers/linux/netlink.js';
import { bindMount, MOUNT_POINT_MODE, unmount } from '../../drivers/linux/native.js';
import { ipJson, nsExec, withHostNs } from './_hostns.js';

interface IpLink { ifname: string; flags: string[]; mtu: number; address: string; master?: string; linkinfo?: { info_kind?: string; info_slave_data?: { hairpin?: boolean } } }
interface IpAddr { ifname: string; addr_info: { family: string; local: string; prefixlen: number; nodad?: boolean }[] }
interface IpRoute { dst: string; gateway?: string; dev?: string }

const mounted = (p: string): boolean => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === p);

if (process.getuid?.() !== 0) {
  t.plan(0, 'kernel tests need root');
} else {
  const host = withHostNs(t);
  const k = new NetlinkKernel();
  t.teardown(() => k.close());

  /** A sandbox joined to bridge br: veth, MAC, addresses, up, default routes. */
  async function sandbox(br: string, n: number): Promise<string> {
    const ns = host.nsPath(`sb${n}`);
    await k.createNetns(ns);
    await k.createVeth({ name: `lvt${br.slice(-1)}${n}`, master: br, hairpin: true, peer: { name: 'eth0', ns, mac: `02:42:0a:63:00:0${n}` } });
    await k.setLinkUp('eth0', ns);
    await k.addAddress('eth0', `10.99.0.${n}/24`, ns);
    await k.addAddress('eth0', `fd99::${n}/64`, ns);
    await k.addRoute({ dst: 'default', gateway: '10.99.0.1' }, ns);
    await k.addRoute({ dst: 'default', gateway: 'fd99::1' }, ns);
    return ns;
  }

  t.test('the host namespace is a throwaway with no route out', async (t) => {
    t.same(await host.ipJson(['route', 'show', 'default']), []);
    t.same(await host.ipJson(['-6', 'route', 'show', 'default']), []);
    t.match(await k.links(), [{ name: 'lo' }], 'the kernel sees the throwaway as its own');
  });

  t.test('netns create/delete leaves no mount or file', async (t) => {
    const p = host.nsPath('ns');
    const t0 = performance.now();
    await k.createNetns(p);
    t.comment(`netns create: ${(performance.now() - t0).toFixed(2)} ms`);
    t.ok(await k.isNetns(p));
    t.ok(mounted(p), 'bind-mounted');
    const links = await ipJson<IpLink[]>(p, ['link']);
    t.same(links.map((l) => l.ifname), ['lo']);
    t.ok(links[0]!.flags.includes('UP'), 'lo is up');
    await t.rejects(k.createNetns(p), { code: 'EEXIST', message: /create netns/ });
    const t1 = performance.now();
    await k.deleteNetns(p);
    t.comment(`netns delete: ${(performance.now() - t1).toFixed(2)} ms`);
    t.notOk(existsSync(p), 'file removed');
    t.notOk(mounted(p), 'unmounted');
    t.equal(await k.isNetns(p), false);
    await k.deleteNetns(p);
    writeFileSync(p, '');  // leftover of a crash between create and mount
    chmodSync(p, MOUNT_POINT_MODE);
    await k.createNetns(p);
    t.ok(await k.isNetns(p), 'a leftover empty file of our own is reused');
    await k.deleteNetns(p);
  });

  t.test('bridge ensure is idempotent and refuses a non-bridge', async (t) => {
    const a = await k.ensureBridge('lnet-t1', { mtu: 1400 });
    const b = await k.ensureBridge('lnet-t1', { mtu: 1400 });
    t.same(a, b);
    const [ip] = await host.ipJson<IpLink[]>(['-d', 'link', 'show', 'lnet-t1']);
    t.equal(ip?.linkinfo?.info_kind, 'bridge');
    t.equal(ip?.mtu, 1400);
    t.ok(ip?.flags.includes('UP'));
    t.equal(ip?.address, a.mac);
    t.equal((await host.exec(['ip', 'link', 'add', 'notabr', 'type', 'veth', 'peer', 'name', 'notabr2'])).code, 0);
    await t.rejects(k.ensureBridge('notabr', {}), { code: 'EEXIST', message: /ensure bridge notabr/ });
  });

  t.test('veth into a sandbox with MAC, addresses, routes, hairpin', async (t) => {
    await k.ensureBridge('lnet-t2', {});
    const t0 = performance.now();
    const ns = await sandbox('lnet-t2', 2);
    t.comment(`netns + join (veth, up, 2 addresses, 2 routes): ${(performance.now() - t0).toFixed(2)} ms`);
    const [hostSide] = await host.ipJson<IpLink[]>(['-d', 'link', 'show', 'lvt22']);
    t.equal(hostSide?.master, 'lnet-t2');
    t.ok(hostSide?.flags.includes('UP'));
    t.equal(hostSide?.linkinfo?.info_slave_data?.hairpin, true);
    const [addr] = await ipJson<IpAddr[]>(ns, ['addr', 'show', 'eth0']);
    t.same(addr?.addr_info.filter((a) => a.local !== undefined && !a.local.startsWith('fe80')).map((a) => `${a.local}/${a.prefixlen}`), ['10.99.0.2/24', 'fd99::2/64']);
    t.equal(addr?.addr_info.find((a) => a.local === 'fd99::2')?.nodad, true, 'IPv6 without DAD');
    t.match(await ipJson<IpRoute[]>(ns, ['route', 'show', 'default']), [{ gateway: '10.99.0.1', dev: 'eth0' }]);
    t.match(await ipJson<IpRoute[]>(ns, ['-6', 'route', 'show', 'default']), [{ gateway: 'fd99::1', dev: 'eth0' }]);
    // our own view agrees with ip's
    const eth0 = await k.link('eth0', ns);
    t.match(eth0, { kind: 'veth', up: true, mac: '02:42:0a:63:00:02' });
    t.match(await k.addresses(ns), [{ cidr: '127.0.0.1/8' }, { cidr: '10.99.0.2/24', index: eth0!.index }]);
    t.match((await k.routes(ns)).filter((r) => r.dst === 'default'), [{ family: 4, gateway: '10.99.0.1' }, { family: 6, gateway: 'fd99::1' }]);
    await k.addAddress('eth0', '10.99.0.2/24', ns);  // existing is success
    await k.addRoute({ dst: 'default', gateway: '10.99.0.1' }, ns);
    await t.rejects(k.createVeth({ name: 'lvt22', peer: { name: 'eth1', ns } }), { code: 'EEXIST', message: /create veth lvt22/ });
    await t.rejects(k.createVeth({ name: 'lvt2x', peer: { name: 'eth0', ns } }), { code: 'EEXIST' });
    t.equal(await k.link('lvt2x'), undefined, 'nothing left of the failed pair');
  });

  t.test('setupInterface: one batch (no link-local, up, address, route); a failure inside it is reported', async (t) => {
    await k.ensureBridge('lnet-t5', {});
    await k.addAddress('lnet-t5', '10.98.0.1/24');
    const ns = host.nsPath('batch');
    await k.createNetns(ns);
    await k.createVeth({ name: 'lvt51', master: 'lnet-t5', hairpin: true, peer: { name: 'eth0', ns } });
    const cfg = { addresses: ['10.98.0.7/24'], routes: [{ dst: 'default', gateway: '10.98.0.1' }], ipv6: false };
    await k.setupInterface('eth0', ns, cfg);
    const [eth0] = await ipJson<(IpLink & { ifindex: number })[]>(ns, ['link', 'show', 'eth0']);
    t.equal(eth0?.ifindex, 2, 'a fresh namespace: the peer got the index we picked');
    t.ok(eth0?.flags.includes('UP'));
    t.match(await ipJson<IpRoute[]>(ns, ['route', 'show', 'default']), [{ gateway: '10.98.0.1', dev: 'eth0' }]);
    const r = await nsExec(ns, ['ping', '-c', '1', '-W', '2', '10.98.0.1']);
    t.equal(r.code, 0, 'the gateway answers');
    const [addr] = await ipJson<IpAddr[]>(ns, ['addr', 'show', 'eth0']);
    t.same(addr?.addr_info.map((a) => a.local), ['10.98.0.7'], 'no IPv6 link-local inside');
    const [hostEnd] = await host.ipJson<IpAddr[]>(['addr', 'show', 'lvt51']);
    t.same(hostEnd?.addr_info, [], 'none on the host end either');
    await k.setupInterface('eth0', ns, cfg);  // all there already: success
    await t.rejects(k.setupInterface('eth0', ns, { addresses: ['10.98.0.8/24'], routes: [{ dst: '10.97.0.0/16', gateway: '10.96.0.1' }] }),
      { code: 'ENETUNREACH', message: /set up eth0/ }, 'a route the kernel refuses fails the batch');
    t.match(await ipJson<IpAddr[]>(ns, ['addr', 'show', 'eth0']), [{ addr_info: [{ local: '10.98.0.7' }, { local: '10.98.0.8' }] }], 'what came before it was applied, in order');
    await k.setLinkDown('lvt51');
    const [down] = await host.ipJson<IpLink[]>(['link', 'show', 'lvt51']);
    t.notOk(down?.flags.includes('UP'), 'setLinkDown: the host end is down');
    await k.setLinkDown('lvt5-missing');  // a missing link is success
    await k.deleteNetns(ns);
  });

  t.test('two sandboxes on one bridge ping each other (IPv4, IPv6)', async (t) => {
    await k.ensureBridge('lnet-t3', {});
    await k.addAddress('lnet-t3', '10.99.0.1/24');
    await k.addAddress('lnet-t3', 'fd99::1/64');
    const a = await sandbox('lnet-t3', 5);
    const b = await sandbox('lnet-t3', 6);
    for (const [from, to] of [[a, '10.99.0.6'], [b, '10.99.0.5'], [a, 'fd99::6'], [b, 'fd99::5'], [a, '10.99.0.1'], [b, 'fd99::1']] as const) {
      const r = await nsExec(from, ['ping', '-c', '1', '-W', '2', to]);
      t.equal(r.code, 0, `ping ${to}: ${r.code === 0 ? 'ok' : r.stdout + r.stderr}`);
    }
  });

  t.test('sysctls are written inside the namespace', async (t) => {
    const ns = host.nsPath('sys');
    await k.createNetns(ns);
    const before = (await host.exec(['cat', '/proc/sys/net/ipv4/ip_forward'])).stdout.trim();
    await k.writeSysctl('net/ipv4/ip_forward', before === '1' ? '0' : '1', ns);
    t.equal((await nsExec(ns, ['cat', '/proc/sys/net/ipv4/ip_forward'])).stdout.trim(), before === '1' ? '0' : '1');
    t.equal(await k.readSysctl('net/ipv4/ip_forward', ns), before === '1' ? '0' : '1');
    t.equal((await host.exec(['cat', '/proc/sys/net/ipv4/ip_forward'])).stdout.trim(), before, 'own namespace untouched');
    await t.rejects(k.writeSysctl('../../etc/hostname', 'x', ns), { code: 'EINVAL' });
    await k.deleteNetns(ns);
  });

  t.test('deleting missing objects succeeds', async (t) => {
    const ns = host.nsPath('gone');
    await k.createNetns(ns);
    await k.deleteLink('lv-nothing');
    await k.deleteLink('eth7', ns);
    await k.deleteAddress('lo', '10.1.2.3/32', ns);
    await k.deleteAddress('eth7', '10.1.2.3/32', ns);
    await k.deleteNetns(ns);
    await k.deleteLink('eth0', ns);   // the namespace itself is gone
    await k.deleteNetns(ns);
    await k.deleteNetns(`${host.dir}/never-made`);
    t.equal(await k.link('lv-nothing'), undefined);
    await t.rejects(k.setLinkUp('lv-nothing'), { code: 'ENODEV', message: /set link lv-nothing up/ });
  });

  t.test('a path re-mounted on another namespace is noticed', async (t) => {
    await k.ensureBridge('lnet-t4', {});
    const p1 = host.nsPath('re');
    const p2 = host.nsPath('re');
    await k.createNetns(p1);
    await k.createNetns(p2);
    await k.createVeth({ name: 'lvt41', peer: { name: 'eth0', ns: p1 } });
    t.ok(await k.link('eth0', p1));
    unmount(p1);
    bindMount(p2, p1);
    t.equal(await k.link('eth0', p1), undefined, 'answers for the namespace now at the path');
    await k.deleteNetns(p1);
    await k.deleteNetns(p2);
  });
}
