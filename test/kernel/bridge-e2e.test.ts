// The bridge datapath through the daemon, on the real kernel, with real
// traffic: the test host namespace is the daemon's; an "upstream" namespace
// wired to it stands for the world outside (no route out of either).

import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TestDaemon } from '../lib/daemon.js';
import { connect, ping, serve, stopAll } from '../lib/traffic.js';
import { waitInNetns } from '../lib/ready.js';

const d = new TestDaemon();
const up = `${d.name}-up`;
const upPath = `/run/netns/${up}`;
t.teardown(async () => { stopAll(); spawnSync('ip', ['netns', 'del', up]); await d.cleanup(); });

const HOST_IP = '192.0.2.1';
const UP_IP = '192.0.2.2';
let n = 0;
const cid = () => (++n).toString(16).padStart(4, '0').repeat(16);
const ip = (cidr: string) => cidr.split('/')[0];

function sh(argv: string[]): void {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
}

async function network(name: string, body: object = {}): Promise<string> {
  const r = await d.req('POST', '/networks', { name, network_type: 'bridge', options: {}, ...body });
  if (r.status !== 200) throw new Error(`create network ${name}: ${r.text}`);
  return r.json;
}

async function container(net: string, body: object = {}): Promise<{ ep: any; key: string; cid: string }> {
  const e = await d.req('POST', `/networks/${net}/endpoints`, { name: `c${n + 1}`, ...body });
  if (e.status !== 200) throw new Error(`endpoint: ${e.text}`);
  const id = cid();
  const j = await d.req('POST', `/networks/${net}/endpoints/${e.json}/containers`, { container_id: id });
  if (j.status !== 200) throw new Error(`join: ${j.text}`);
  return { ep: (await d.req('GET', `/networks/${net}/endpoints/${e.json}`)).json, key: j.json, cid: id };
}

t.before(async () => {
  await d.start(['--default-address-pools', '10.88.0.0/16:24']);
  sh(['ip', 'netns', 'add', up]);
  sh(['ip', '-n', d.name, 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', up]);
  sh(['ip', '-n', d.name, 'addr', 'add', `${HOST_IP}/24`, 'dev', 'uplink']);
  sh(['ip', '-n', d.name, 'link', 'set', 'uplink', 'up']);
  sh(['ip', '-n', up, 'addr', 'add', `${UP_IP}/24`, 'dev', 'eth0']);
  sh(['ip', '-n', up, 'link', 'set', 'eth0', 'up']);
  sh(['ip', '-n', up, 'link', 'set', 'lo', 'up']);
});

t.test('two containers on one network: ping and TCP', async (t) => {
  const net = await network('pair');
  const a = await container(net);
  const b = await container(net);
  t.equal(a.ep.interface_name, 'eth0');
  t.ok(ping(a.key, ip(b.ep.ipv4_address)), 'a pings b');
  await serve(b.key, 7000, 'b');
  t.equal(connect(a.key, ip(b.ep.ipv4_address), 7000), `b ${ip(a.ep.ipv4_address)}`, 'TCP a -> b, no NAT inside the network');
  const route = spawnSync('nsenter', [`--net=${a.key}`, 'ip', '-j', 'route'], { encoding: 'utf8' }).stdout;
  t.match(JSON.parse(route), [{ dst: 'default', gateway: (await d.req('GET', `/networks/${net}`)).json.ipam.config[0].gateway }]);
});

t.test('a container on two networks gets one interface per network', async (t) => {
  const front = await network('front');
  const back = await network('back', { internal: true });
  const web = await container(front);
  const db = await container(back);
  const e = await d.req('POST', `/networks/${back}/endpoints`, { name: 'web-back' });
  const j = await d.req('POST', `/networks/${back}/endpoints/${e.json}/containers`, { container_id: web.cid });
  t.equal(j.json, web.key, 'the second join reuses the sandbox');
  const second = (await d.req('GET', `/networks/${back}/endpoints/${e.json}`)).json;
  t.equal(second.interface_name, 'eth1', 'eth<N> by join order');
  const links = JSON.parse(spawnSync('nsenter', [`--net=${web.key}`, 'ip', '-j', 'link'], { encoding: 'utf8' }).stdout).map((l: any) => l.ifname).sort();
  t.same(links, ['eth0', 'eth1', 'lo']);
  t.ok(ping(web.key, ip(db.ep.ipv4_address)), 'reaches the back network through eth1');
  t.ok(ping(web.key, UP_IP), 'and the outside through eth0');
  const routes = JSON.parse(spawnSync('nsenter', [`--net=${web.key}`, 'ip', '-j', 'route'], { encoding: 'utf8' }).stdout);
  t.equal(routes.filter((r: any) => r.dst === 'default').length, 1, 'one default route, via the first non-internal network');
  t.equal((await d.req('DELETE', `/networks/${back}/endpoints/${e.json}/containers/${web.cid}`)).status, 200);
  const left = JSON.parse(spawnSync('nsenter', [`--net=${web.key}`, 'ip', '-j', 'link'], { encoding: 'utf8' }).stdout).map((l: any) => l.ifname).sort();
  t.same(left, ['eth0', 'lo'], 'leaving one network removes only its interface');
});

t.test('the default route moves to the next network when the one that gave it leaves', async (t) => {
  const first = await network('gw-first');
  const second = await network('gw-second');
  const c = await container(first);
  const e = await d.req('POST', `/networks/${second}/endpoints`, { name: 'gw-second-ep' });
  t.equal((await d.req('POST', `/networks/${second}/endpoints/${e.json}/containers`, { container_id: c.cid })).status, 200);
  const gateway = async (net: string) => (await d.req('GET', `/networks/${net}`)).json.ipam.config[0].gateway;
  const defaults = () => JSON.parse(spawnSync('nsenter', [`--net=${c.key}`, 'ip', '-j', 'route'], { encoding: 'utf8' }).stdout).filter((r: any) => r.dst === 'default');
  t.same(defaults().map((r: any) => r.gateway), [await gateway(first)], 'via the first network');
  t.equal((await d.req('DELETE', `/networks/${first}/endpoints/${c.ep.id}/containers/${c.cid}`)).status, 200);
  t.same(defaults().map((r: any) => r.gateway), [await gateway(second)], 'now via the second');
  t.ok(ping(c.key, UP_IP), 'and the outside is still reachable');
});

t.test('leave cuts a container off at once, even while a process still holds its namespace', async (t) => {
  const net = await network('held');
  const a = await container(net);
  const b = await container(net);
  const holder = spawn('nsenter', [`--net=${a.key}`, 'sleep', '30'], { stdio: 'ignore' });
  t.teardown(() => { if (holder.exitCode === null) holder.kill('SIGKILL'); });
  await waitInNetns(holder.pid, a.key);
  t.ok(ping(b.key, ip(a.ep.ipv4_address)), 'reachable while joined');
  t.equal((await d.req('DELETE', `/networks/${net}/endpoints/${a.ep.id}/containers/${a.cid}`)).status, 200);
  t.notOk(ping(b.key, ip(a.ep.ipv4_address)), 'unreachable right after the leave');
  holder.kill('SIGKILL');
  await new Promise((r) => holder.once('exit', r));
  const hostEnd = `lv${a.ep.id.slice(0, 11)}`;
  let left = true;
  for (let i = 0; i < 100 && left; i++) {
    left = JSON.parse(d.exec(['ip', '-j', 'link']).stdout).some((l: any) => l.ifname === hostEnd);
    if (left) await new Promise((r) => setTimeout(r, 100));
  }
  t.notOk(left, 'the pair goes with the namespace once its last holder exits');
});

t.test('containers on different networks cannot talk', async (t) => {
  const a = await container(await network('iso-a'));
  const b = await container(await network('iso-b'));
  await serve(b.key, 7001, 'b');
  t.notOk(ping(a.key, ip(b.ep.ipv4_address)), 'no ping across networks');
  t.match(connect(a.key, ip(b.ep.ipv4_address), 7001), /ERR|TIMEOUT/, 'no TCP across networks');
});

t.test('icc=false blocks traffic inside the network', async (t) => {
  const net = await network('noicc', { options: { 'com.docker.network.bridge.enable_icc': 'false' } });
  const a = await container(net);
  const b = await container(net);
  t.notOk(ping(a.key, ip(b.ep.ipv4_address)));
  t.ok(ping(a.key, UP_IP), 'still reaches the outside');
});

t.test('internal network: no route out, no NAT', async (t) => {
  const net = await network('inside', { internal: true });
  const a = await container(net);
  const b = await container(net);
  t.ok(ping(a.key, ip(b.ep.ipv4_address)), 'containers of an internal network talk');
  const routes = JSON.parse(spawnSync('nsenter', [`--net=${a.key}`, 'ip', '-j', 'route'], { encoding: 'utf8' }).stdout);
  t.notOk(routes.some((r: any) => r.dst === 'default'), 'no default route');
  t.notOk(ping(a.key, UP_IP), 'the outside is unreachable');
});

t.test('masquerade: upstream sees the host address', async (t) => {
  const a = await container(await network('nat'));
  await serve(upPath, 7002, 'up');
  t.equal(connect(a.key, UP_IP, 7002), `up ${HOST_IP}`);
});

t.test('port mapping: from upstream, from the host, by hairpin', async (t) => {
  const net = await network('pub');
  const web = await container(net, { exposed_ports: [{ proto: 6, port: 80 }], port_mapping: [{ proto: 6, port: 80, host_ip: '', host_port: 8080 }] });
  const peer = await container(net);
  t.equal(web.ep.port_mapping[0].host_port, 8080);
  await serve(web.key, 80, 'web');
  t.match(connect(upPath, HOST_IP, 8080), /^web /, 'from upstream');
  t.match(connect(d.nsPath, HOST_IP, 8080), /^web /, 'from the host namespace to its address');
  t.match(connect(d.nsPath, '127.0.0.1', 8080), /^web /, 'from the host namespace to localhost');
  t.match(connect(peer.key, HOST_IP, 8080), /^web /, 'hairpin from a neighbour');
  t.match(connect(web.key, HOST_IP, 8080), /^web /, 'hairpin to itself');
  const auto = await container(net, { port_mapping: [{ Proto: 17, Port: 53, HostIP: '', HostPort: 0 }] });
  t.ok(auto.ep.port_mapping[0].host_port >= 49153, `host port 0 picks one (${auto.ep.port_mapping[0].host_port})`);
  const dup = await d.req('POST', `/networks/${net}/endpoints`, { name: 'dup', port_mapping: [{ proto: 6, port: 81, host_port: 8080 }] });
  t.equal(dup.status, 409, 'a host port in use is a 409');
  await d.req('DELETE', `/networks/${net}/endpoints/${web.ep.id}/containers/${web.cid}`);
  t.match(connect(upPath, HOST_IP, 8080), /ERR|TIMEOUT/, 'leave removes the mapping');
});

t.test('IPv6 dual stack', async (t) => {
  const net = await network('dual', { enable_ipv6: true });
  const a = await container(net);
  const b = await container(net);
  t.match(b.ep.ipv6_address, /^fd6c:6e65:7464:/);
  t.ok(ping(a.key, ip(b.ep.ipv6_address)), 'ping over IPv6');
  t.ok(ping(a.key, ip(b.ep.ipv4_address)), 'and IPv4');
});

t.test('250 containers on one /24: unique addresses, then a clean 4xx', async (t) => {
  const net = await network('big', { ipam: { subnet: '10.99.0.0/24' } });
  const addrs = new Set<string>();
  const keys = new Set<string>();
  for (let i = 0; i < 250; i++) {
    const c = await container(net);
    addrs.add(c.ep.ipv4_address);
    keys.add(c.key);
  }
  t.equal(addrs.size, 250, 'all addresses unique');
  t.equal(keys.size, 250, 'each its own sandbox');
  for (let i = 0; i < 3; i++) await d.req('POST', `/networks/${net}/endpoints`, { name: `fill${i}` });
  const r = await d.req('POST', `/networks/${net}/endpoints`, { name: 'overflow' });
  t.ok(r.status >= 400 && r.status < 500, `exhaustion is a 4xx (${r.status})`);
  t.match(r.json.message, /10\.99\.0\.0\/24/);
});

t.test('network delete leaves nothing behind', async (t) => {
  const snap = () => ({
    links: JSON.parse(d.exec(['ip', '-j', 'link']).stdout).map((l: any) => l.ifname).sort(),
    addrs: JSON.parse(d.exec(['ip', '-j', 'addr']).stdout).flatMap((l: any) => l.addr_info.map((a: any) => `${l.ifname} ${a.local}`)).sort(),
    rules: d.exec(['nft', 'list', 'ruleset']).stdout,
  });
  const before = snap();
  const net = await network('gone', { enable_ipv6: true });
  const c = await container(net, { port_mapping: [{ proto: 6, port: 80, host_port: 9090 }] });
  t.not(JSON.stringify(snap()), JSON.stringify(before), 'the network made kernel objects');
  t.equal((await d.req('DELETE', `/networks/${net}/endpoints/${c.ep.id}/containers/${c.cid}`)).status, 200);
  t.equal((await d.req('DELETE', `/networks/${net}/endpoints/${c.ep.id}`)).status, 200);
  t.equal((await d.req('DELETE', `/networks/${net}`)).status, 200);
  for (let i = 0; i < 50 && JSON.stringify(snap()) !== JSON.stringify(before); i++) await new Promise((r) => setTimeout(r, 100));
  t.same(snap(), before, 'links, addresses and rules as before');
});

t.test('a full bridge: the join past the kernel\'s 1023 ports is a 409 that leaves nothing', async (t) => {
  const net = await network('full', { ipam: { config: [{ subnet: '10.98.0.0/21' }] } });
  const bridge = `lnet-${net.slice(0, 8)}`;
  // 1022 ports that are not lnetd's: 511 veth pairs with both ends on the bridge
  const fill: string[] = [];
  for (let i = 0; i < 511; i++) fill.push(`link add fa${i} type veth peer name fb${i}`, `link set fa${i} master ${bridge}`, `link set fb${i} master ${bridge}`);
  const r = spawnSync('ip', ['-n', d.name, '-batch', '-'], { input: fill.join('\n') + '\n', encoding: 'utf8' });
  t.equal(r.status, 0, `filler ports made ${r.stderr}`);
  t.teardown(() => { spawnSync('ip', ['-n', d.name, '-batch', '-'], { input: Array.from({ length: 511 }, (_v, i) => `link del fa${i}`).join('\n') + '\n' }); });
  const ports = () => JSON.parse(d.exec(['ip', '-j', 'link', 'show', 'master', bridge]).stdout).length;
  t.equal(ports(), 1022);
  await container(net);
  t.equal(ports(), 1023, 'the 1023rd port is a container of lnetd');
  const e = await d.req('POST', `/networks/${net}/endpoints`, { name: 'one-too-many' });
  const id = cid();
  const j = await d.req('POST', `/networks/${net}/endpoints/${e.json}/containers`, { container_id: id });
  t.equal(j.status, 409, j.text);
  t.equal(j.json.code, 'NETWORK_FULL');
  t.match(j.json.message, new RegExp(`network full is full: its bridge ${bridge} has 1023 ports`));
  t.equal(ports(), 1023, 'no port added');
  t.notOk(existsSync(join(d.netnsDir, id)), 'no sandbox namespace left');
  t.notOk((await d.req('GET', `/networks/${net}/endpoints/${e.json}`)).json.container, 'the endpoint is not joined');
  // one filler port goes: the same join now succeeds (nothing half-made stood in its way)
  d.exec(['ip', 'link', 'del', 'fa0']);
  const again = await d.req('POST', `/networks/${net}/endpoints/${e.json}/containers`, { container_id: id });
  t.equal(again.status, 200, again.text);
  t.equal(ports(), 1022, 'its port is on the bridge (fa0 took fb0 with it)');
});
