// Reconcile at start-up, re-applying the firewall, and sandboxes whose
// namespace someone else deleted: all through the real daemon in a throwaway
// host namespace, checked with ip -j / nft -j / the netns dir and real traffic.

import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mountsUnder, TestDaemon } from '../lib/daemon.js';
import { connect, ping, serve, stopAll } from '../lib/traffic.js';
import { nftTable, settle } from './_agree.js';
import { waitInNetns } from '../lib/ready.js';

t.setTimeout(180_000);
t.teardown(stopAll);

const cid = (n: number) => n.toString(16).padStart(4, '0').repeat(16);
const ip = (cidr: string) => cidr.split('/')[0];
const WEB_PORTS = { exposed_ports: [{ proto: 6, port: 80 }], port_mapping: [{ proto: 6, port: 80, host_port: 8080 }] };

function sh(argv: string[]): void {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
}

/** Endpoint + join; the endpoint as the API shows it afterwards. */
async function container(d: TestDaemon, net: string, name: string, n: number, body: object = {}): Promise<any> {
  await d.ok('POST', `/networks/${net}/endpoints`, { name, ...body });
  await d.ok('POST', `/networks/${net}/endpoints/${name}/containers`, { container_id: cid(n) });
  return d.ok('GET', `/networks/${net}/endpoints/${name}`);
}

/** What `ip netns del` does to a sandbox: unmount and remove its file. */
function deleteNetnsBehindOurBack(key: string): void {
  sh(['umount', key]);
  rmSync(key);
}

async function daemon(t: Test): Promise<TestDaemon> {
  const d = new TestDaemon();
  t.teardown(() => d.cleanup());
  await d.start();
  return d;
}

t.test('start-up removes what no record explains and re-creates what records need', async (t) => {
  const d = await daemon(t);
  const net = await d.ok('POST', '/networks', { name: 'rec', ipam: { subnet: '10.131.0.0/24' } });
  const spare = await d.ok('POST', '/networks', { name: 'spare', ipam: { subnet: '10.132.0.0/24' } });
  const web = await container(d, 'rec', 'web', 1, WEB_PORTS);
  t.same(await settle(d), [], 'consistent before');
  t.equal(await d.stop('SIGTERM'), 0);
  // strays with our prefix, and look-alikes that are not ours
  const ex = (argv: string[]) => sh(['nsenter', `--net=${d.nsPath}`, ...argv]);
  ex(['ip', 'link', 'add', 'lnet-deadbeef', 'type', 'bridge']);
  ex(['ip', 'link', 'add', 'lvdeadbeef012', 'type', 'veth', 'peer', 'name', 'strayp0']);
  ex(['ip', 'link', 'add', 'lnet-keepme', 'type', 'bridge']);
  ex(['ip', 'link', 'add', 'lvm0', 'type', 'veth', 'peer', 'name', 'lvm1']);
  // strays lnetd made carry its instance mark; one named like ours without it is not ours
  const mark = `lnetd:${readFileSync(join(d.dataDir, 'lnetd-instance'), 'utf8').trim()}`;
  for (const l of ['lnet-deadbeef', 'lvdeadbeef012']) ex(['ip', 'link', 'set', l, 'alias', mark]);
  ex(['ip', 'link', 'add', 'lnet-0badf00d', 'type', 'bridge']);
  writeFileSync(join(d.netnsDir, 'strayns'), '');
  sh(['unshare', `--net=${join(d.netnsDir, 'strayns')}`, 'true']);
  writeFileSync(join(d.netnsDir, 'leftover'), '');
  ex(['nft', 'add element inet lnetd ports4_any { tcp . 9999 : 10.131.0.77 . 80 }']);
  // and missing pieces: a whole bridge, a gateway address, the web container's port map
  ex(['ip', 'link', 'del', `lnet-${spare.slice(0, 8)}`]);
  ex(['ip', 'addr', 'del', '10.131.0.1/24', 'dev', `lnet-${net.slice(0, 8)}`]);
  ex(['nft', 'delete element inet lnetd ports4_any { tcp . 8080 }']);
  await d.start();
  t.same(await settle(d, { ignoreLinks: ['lnet-keepme', 'lvm0', 'lvm1', 'lnet-0badf00d'] }), [], 'store and kernel agree');
  const links = JSON.parse(d.exec(['ip', '-j', 'link']).stdout).map((l: any) => l.ifname);
  t.notOk(links.includes('lnet-deadbeef') || links.includes('lvdeadbeef012') || links.includes('strayp0'), 'strays with our prefix removed');
  t.ok(links.includes('lnet-keepme') && links.includes('lvm0'), 'look-alikes that are not ours stay');
  t.ok(links.includes('lnet-0badf00d'), 'and so does one named like ours without our mark');
  t.same(readdirSync(d.netnsDir).sort(), [cid(1), 'default', '.lnetd-instance'].sort(), 'stray namespace and leftover file removed');
  t.notOk(mountsUnder(d.netnsDir).some((m) => m.endsWith('strayns')), 'stray namespace unmounted');
  await serve(web.sandbox_key, 80, 'web');
  t.match(connect(d.nsPath, '10.131.0.1', 8080), /^web /, 'port map restored: host -> 10.131.0.1:8080 -> web');
});

t.test('after a reboot: networks, bridges and rules come back; gone sandboxes are released', async (t) => {
  const d = await daemon(t);
  await d.ok('POST', '/networks', { name: 'boot', enable_ipv6: true, ipam: { config: [{ subnet: '10.133.0.0/24' }, { subnet: 'fd13:3::/64' }] } });
  const a = await container(d, 'boot', 'a', 1, WEB_PORTS);
  const b = await container(d, 'boot', 'b', 2);
  const nets = (await d.ok('GET', '/networks')).map((n: any) => n.id).sort();
  await d.stop('SIGKILL');
  // the reboot: every namespace, mount and kernel object goes; the data dir stays
  for (const m of mountsUnder(d.netnsDir)) sh(['umount', '-l', m]);
  rmSync(d.netnsDir, { recursive: true, force: true });
  sh(['ip', 'netns', 'del', d.name]);
  sh(['ip', 'netns', 'add', d.name]);
  sh(['ip', '-n', d.name, 'link', 'set', 'lo', 'up']);
  await d.start();
  t.same((await d.ok('GET', '/networks')).map((n: any) => n.id).sort(), nets, 'same networks');
  t.same(await settle(d), [], 'bridges, gateways and rules re-created; store and kernel agree');
  t.ok(nftTable(d)?.chains.some((c) => c.startsWith(`n-${a.network_id.slice(0, 12)}`)), 'the network has its chains again');
  const a2 = await d.ok('GET', '/networks/boot/endpoints/a');
  t.equal(a2.container_id, '', 'a released');
  t.equal((await d.ok('GET', '/networks/boot/endpoints/b')).container_id, '', 'b released');
  t.equal(a2.ipv4_address, a.ipv4_address, 'a keeps its address');
  t.same(a2.port_mapping, a.port_mapping, 'a keeps its port reservation');
  t.equal((await d.ok('GET', '/_stats')).sandboxes, 0, 'no sandbox records left');
  const c = await container(d, 'boot', 'c', 3);
  t.not(c.ipv4_address, a.ipv4_address, 'a new endpoint does not get a kept address');
  t.not(c.ipv4_address, b.ipv4_address);
  const taken = await d.req('POST', '/networks/boot/endpoints', { name: 'x', ...WEB_PORTS });
  t.equal(taken.status, 409, 'the kept host port is still reserved');
  // the containers come back
  const ka = await d.ok('POST', '/networks/boot/endpoints/a/containers', { container_id: cid(1) });
  const kb = await d.ok('POST', '/networks/boot/endpoints/b/containers', { container_id: cid(2) });
  t.same(await settle(d), [], 'agree after re-joining');
  t.ok(ping(kb, ip(a.ipv4_address)), 'b pings a again');
  await serve(ka, 80, 'web');
  t.match(connect(d.nsPath, '10.133.0.1', 8080), /^web /, 'the port mapping works again');
});

t.test('nft flush ruleset, then POST /_reapply and SIGHUP rebuild our rules', async (t) => {
  const d = await daemon(t);
  await d.ok('POST', '/networks', { name: 'fw', ipam: { subnet: '10.134.0.0/24' } });
  const web = await container(d, 'fw', 'web', 1, WEB_PORTS);
  const peer = await container(d, 'fw', 'peer', 2);
  await serve(web.sandbox_key, 80, 'web');
  const works = () => /^web /.test(connect(d.nsPath, '10.134.0.1', 8080)) && /^web /.test(connect(peer.sandbox_key, '10.134.0.1', 8080));
  t.ok(works(), 'port map works from the host and from a neighbour');
  d.exec(['nft', 'flush', 'ruleset']);
  t.equal(nftTable(d), undefined, 'flushed: our table is gone');
  t.notOk(works(), 'and the port map with it');
  const r = await d.req('POST', '/_reapply');
  t.equal(r.status, 200, r.text);
  t.same(r.json, { networks: 2, ports: 1 }, 'rebuilt the bridge networks and the one published port');
  t.same(await settle(d), [], 'store and kernel agree');
  t.ok(works(), 'port map works again after POST /_reapply');
  d.exec(['nft', 'flush', 'ruleset']);
  d.proc!.kill('SIGHUP');
  const deadline = Date.now() + 5000;
  while (nftTable(d) === undefined && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
  t.same(await settle(d), [], 'SIGHUP rebuilt the rules');
  t.ok(works(), 'port map works again after SIGHUP');
  t.equal((await d.req('GET', '/_ping')).status, 200, 'the daemon lives on');
  // re-applying while joins publish ports must not lose any of them
  for (let i = 0; i < 12; i++) await d.ok('POST', '/networks/fw/endpoints', { name: `p${i}`, port_mapping: [{ proto: 6, port: 80, host_port: 9000 + i }] });
  const mixed = await Promise.all([
    ...Array.from({ length: 12 }, (_, i) => d.req('POST', `/networks/fw/endpoints/p${i}/containers`, { container_id: cid(10 + i) })),
    ...Array.from({ length: 4 }, () => d.req('POST', '/_reapply')),
  ]);
  t.ok(mixed.every((r) => r.status === 200), 're-applies and joins all succeed');
  t.same(await settle(d), [], 'every published port is in the rebuilt table');
});

t.test('leave and endpoint delete succeed when someone else deleted the namespace', async (t) => {
  const d = await daemon(t);
  await d.ok('POST', '/networks', { name: 'gone', ipam: { subnet: '10.135.0.0/24' } });
  await d.ok('POST', '/networks', { name: 'gone2', ipam: { subnet: '10.136.0.0/24' } });
  const web = await container(d, 'gone', 'web', 1, WEB_PORTS);
  const two = await container(d, 'gone2', 'two', 1);
  t.equal(two.sandbox_key, web.sandbox_key, 'one sandbox, two networks');
  deleteNetnsBehindOurBack(web.sandbox_key);
  t.equal((await d.req('DELETE', `/networks/gone/endpoints/web/containers/${cid(1)}`)).status, 200, 'leave (sandbox stays in the records)');
  t.equal((await d.req('DELETE', `/networks/gone2/endpoints/two/containers/${cid(1)}`)).status, 200, 'last leave');
  t.equal((await d.req('DELETE', '/networks/gone/endpoints/web')).status, 200, 'endpoint delete');
  t.equal((await d.req('DELETE', '/networks/gone2/endpoints/two')).status, 200, 'endpoint delete');
  t.same(await settle(d), [], 'no veth, port map, namespace file or sandbox record left');
  t.notOk(existsSync(web.sandbox_key));
  const again = await d.req('POST', '/networks/gone/endpoints', { name: 'again', ipv4_address: ip(web.ipv4_address), ...WEB_PORTS });
  t.equal(again.status, 200, `address and host port are free again (${again.text})`);
  // unmounted while a process still holds it: the namespace (and our veth in it) lives on
  const held = await container(d, 'gone2', 'held', 3);
  const holder = spawn('nsenter', [`--net=${held.sandbox_key}`, 'sleep', '60'], { stdio: 'ignore' });
  t.teardown(() => { if (holder.exitCode === null) holder.kill('SIGKILL'); });
  await waitInNetns(holder.pid, held.sandbox_key);
  deleteNetnsBehindOurBack(held.sandbox_key);
  t.equal((await d.req('DELETE', `/networks/gone2/endpoints/held/containers/${cid(3)}`)).status, 200, 'leave of a namespace someone unmounted but a process holds');
  t.same(await settle(d), [], 'its host-side veth is gone all the same');
  holder.kill('SIGKILL');
  // and while the daemon is down: the restart releases the sandbox
  const back = await container(d, 'gone', 'back', 2);
  await d.stop('SIGTERM');
  deleteNetnsBehindOurBack(back.sandbox_key);
  await d.start();
  t.equal((await d.ok('GET', '/networks/gone/endpoints/back')).container_id, '', 'released at start-up');
  t.same(await settle(d), [], 'store and kernel agree');
  t.equal((await d.req('DELETE', '/networks/gone/endpoints/back')).status, 200);
});
