// Joining into a namespace the runtime made (podman, containerd, a CNI
// plugin's caller): named by a netns file, /proc/<pid>/ns/net of a live
// process, or /proc/<pid>/fd/<n> of an fd the caller holds; the interface
// name the runtime asks for; static addresses (several per family), a MAC,
// a route metric, port ranges mapped one to one, IPv6-only networks and
// endpoints without an address. Real traffic; after the leave nothing of it
// is left on the host side, and the runtime's namespace is never deleted.

import t from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readdirSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { TestDaemon, mountsUnder } from '../lib/daemon.js';
import { connect, ping, serve, stopAll } from '../lib/traffic.js';
import { waitOwnNetns } from '../lib/ready.js';

if (process.getuid?.() !== 0) {
  t.plan(0, 'kernel tests need root');
  process.exit(0);
}

const d = new TestDaemon();
const runtimeNs: string[] = [];
const sleepers: ChildProcess[] = [];
t.teardown(async () => {
  stopAll();
  for (const s of sleepers) if (s.exitCode === null) s.kill('SIGKILL');
  for (const n of runtimeNs) spawnSync('ip', ['netns', 'del', n]);
  await d.cleanup();
});

let n = 0;
const cid = () => `default-rt${++n}`;    // containerd's <namespace>-<id> shape

function sh(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A namespace the "runtime" made, as `ip netns add` makes one (in /run/netns). */
function runtimeNetns(): string {
  const name = `lnetd-rt-${randomBytes(4).toString('hex')}`;
  sh(['ip', 'netns', 'add', name]);
  runtimeNs.push(name);
  sh(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  return `/run/netns/${name}`;
}

async function ok(method: string, path: string, body?: unknown): Promise<any> {
  // a kept-alive connection the daemon closed meanwhile (EPIPE/ECONNRESET under load): the request never arrived
  const r = await d.req(method, path, body).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && e.code !== 'ECONNRESET') throw e;
    return d.req(method, path, body);
  });
  if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
  return r.json;
}

const ipJ = (ns: string, args: string[]): any[] => JSON.parse(sh(['nsenter', `--net=${ns}`, 'ip', '-j', ...args]) || '[]');
const hostVeths = () => ipJ(d.nsPath, ['link']).filter((l) => /^lv/.test(l.ifname)).map((l) => l.ifname);
const netnsFiles = () => readdirSync(d.netnsDir).filter((f) => f !== 'default' && f !== '.lnetd-instance');

t.before(async () => {
  await d.start(['--default-address-pools', '10.77.0.0/16:24']);
  await ok('POST', '/networks', { name: 'rt', network_type: 'bridge', enable_ipv6: true, ipam: { config: [{ subnet: '10.77.9.0/24' }, { subnet: 'fd77:9::/64' }] } });
});

t.test('join a runtime netns file with the interface name, addresses, MAC, metric and a port range', async (t) => {
  const ns = runtimeNetns();
  const ep = await ok('POST', '/networks/rt/endpoints', {
    name: 'web', mac_address: '02:aa:bb:cc:dd:01', route_metric: 300,
    ipv4_addresses: ['10.77.9.20', '10.77.9.21'], ipv6_addresses: ['fd77:9::20', 'fd77:9::21'],
    port_mapping: [{ proto: 6, port: 8000, host_port: 18000, range: 3 }],
  });
  const c = cid();
  const key = await ok('POST', `/networks/rt/endpoints/${ep}/containers`, { container_id: c, sandbox_key: ns, interface_name: 'net7' });
  t.ok(key.startsWith(d.netnsDir), `answers lnetd's mount of the runtime's namespace (${key})`);
  const link = ipJ(ns, ['addr', 'show', 'net7'])[0];
  t.equal(link?.address, '02:aa:bb:cc:dd:01', 'net7 exists in the runtime namespace with the MAC');
  const addrs = link.addr_info.filter((a: any) => a.scope === 'global').map((a: any) => `${a.local}/${a.prefixlen}`).sort();
  t.same(addrs, ['10.77.9.20/24', '10.77.9.21/24', 'fd77:9::20/64', 'fd77:9::21/64'], 'all four addresses');
  const def = ipJ(ns, ['route', 'show', 'default']);
  t.same(def.map((r: any) => [r.gateway, r.metric]), [['10.77.9.1', 300]], 'IPv4 default route with the metric');
  const def6 = ipJ(ns, ['-6', 'route', 'show', 'default']);
  t.same(def6.map((r: any) => [r.gateway, r.metric]), [['fd77:9::1', 300]], 'IPv6 default route with the metric');
  t.ok(ping(ns, '10.77.9.1'), 'pings the gateway');
  t.ok(ping(ns, 'fd77:9::1'), 'pings the IPv6 gateway');
  const wire = await ok('GET', `/networks/rt/endpoints/${ep}`);
  t.equal(wire.interface_name, 'net7');
  t.same(wire.port_mapping.map((p: any) => `${p.host_port}>${p.port}`), ['18000>8000', '18001>8001', '18002>8002'], 'the range maps one to one');
  for (const port of [8000, 8002]) await serve(ns, port, `p${port}`);
  t.match(connect(d.nsPath, '127.0.0.1', 18000), /^p8000 /, 'host 127.0.0.1:18000 reaches container port 8000');
  t.match(connect(d.nsPath, '10.77.9.1', 18002), /^p8002 /, 'host gateway:18002 reaches container port 8002');

  await ok('DELETE', `/networks/rt/endpoints/${ep}/containers/${c}`);
  t.ok(existsSync(ns), 'the runtime namespace file is still there');
  t.same(ipJ(ns, ['link']).map((l: any) => l.ifname), ['lo'], 'net7 is gone from it');
  t.same(hostVeths(), [], 'no host veth left');
  t.same(netnsFiles(), [], 'no mount left in the netns dir');
  t.equal(connect(d.nsPath, '127.0.0.1', 18000).startsWith('p8000'), false, 'the published port is gone');
  await ok('DELETE', `/networks/rt/endpoints/${ep}`);
  stopAll();
});

t.test('leave after the runtime deleted its namespace removes everything host-side', async (t) => {
  const ns = runtimeNetns();
  const ep = await ok('POST', '/networks/rt/endpoints', { name: 'gone', port_mapping: [{ proto: 6, port: 80, host_port: 18080 }] });
  const c = cid();
  await ok('POST', `/networks/rt/endpoints/${ep}/containers`, { container_id: c, sandbox_key: ns, interface_name: 'eth0' });
  t.equal(hostVeths().length, 1);
  spawnSync('ip', ['netns', 'del', ns.split('/').pop()!]);
  t.notOk(existsSync(ns), 'the runtime deleted its namespace');
  await ok('DELETE', `/networks/rt/endpoints/${ep}/containers/${c}`);
  t.same(hostVeths(), [], 'no host veth left');
  t.same(netnsFiles(), [], 'no mount left');
  t.same(mountsUnder(d.netnsDir).filter((m) => !m.endsWith('/default') && m !== d.netnsDir), [], 'no mount under the netns dir');
  const nft = sh(['nsenter', `--net=${d.nsPath}`, 'nft', 'list', 'table', 'inet', 'lnetd']);
  t.notMatch(nft, /18080/, 'no port map element left');
  await ok('DELETE', `/networks/rt/endpoints/${ep}`);
});

t.test('/proc/<pid>/ns/net of a live process and /proc/<pid>/fd/<n> of a held fd', async (t) => {
  const sleeper = spawn('unshare', ['--net', 'sleep', '60'], { stdio: 'ignore' });
  sleepers.push(sleeper);
  await waitOwnNetns(sleeper.pid);
  const procNs = `/proc/${sleeper.pid}/ns/net`;
  const ino = statSync(procNs).ino;
  const a = await ok('POST', '/networks/rt/endpoints', { name: 'proc' });
  const ca = cid();
  const bad = await d.req('POST', `/networks/rt/endpoints/${a}/containers`, { container_id: ca, sandbox_key: procNs, netns_inode: ino + 1 });
  t.equal(bad.status, 400, `a wrong netns_inode is refused (${bad.text})`);
  await ok('POST', `/networks/rt/endpoints/${a}/containers`, { container_id: ca, sandbox_key: procNs, netns_inode: ino });
  t.equal(ipJ(procNs, ['link']).filter((l: any) => l.ifname === 'eth0').length, 1, 'eth0 in the process namespace');

  // the CNI plugin's way: an fd it holds, named through its own /proc entry
  const ns = runtimeNetns();
  const fd = openSync(ns, 'r');
  try {
    const b = await ok('POST', '/networks/rt/endpoints', { name: 'byfd' });
    const cb = cid();
    await ok('POST', `/networks/rt/endpoints/${b}/containers`, { container_id: cb, sandbox_key: `/proc/${process.pid}/fd/${fd}`, netns_inode: fstatSync(fd).ino, interface_name: 'cni0x' });
    t.equal(ipJ(ns, ['link']).filter((l: any) => l.ifname === 'cni0x').length, 1, 'the interface is in the namespace behind the fd');
    // a second network for the same container, naming the same namespace by its file
    await ok('POST', '/networks', { name: 'rt2', network_type: 'bridge', ipam: { subnet: '10.77.10.0/24' } });
    const b2 = await ok('POST', '/networks/rt2/endpoints', { name: 'second' });
    await ok('POST', `/networks/rt2/endpoints/${b2}/containers`, { container_id: cb, sandbox_key: ns, interface_name: 'cni1x' });
    const other = await d.req('POST', `/networks/rt2/endpoints`, { name: 'third' });
    const wrong = await d.req('POST', `/networks/rt2/endpoints/${other.json}/containers`, { container_id: cb, sandbox_key: procNs });
    t.equal(wrong.status, 409, 'the same container naming another namespace is a conflict');
    const dup = await d.req('POST', `/networks/rt2/endpoints/${other.json}/containers`, { container_id: cb, interface_name: 'cni1x' });
    t.equal(dup.status, 409, 'an interface name the sandbox already has is a conflict');
    t.same(ipJ(ns, ['link']).map((l: any) => l.ifname).sort(), ['cni0x', 'cni1x', 'lo']);
    await ok('DELETE', `/networks/rt/endpoints/${b}/containers/${cb}`);
    await ok('DELETE', `/networks/rt2/endpoints/${b2}/containers/${cb}`);
    t.same(ipJ(ns, ['link']).map((l: any) => l.ifname), ['lo'], 'both interfaces gone, the namespace stays');
  } finally {
    closeSync(fd);
  }
  await ok('DELETE', `/networks/rt/endpoints/${a}/containers/${ca}`);
  t.equal(sleeper.exitCode, null, 'the process still runs');
  t.same(hostVeths(), []);
  t.same(netnsFiles(), []);
});

t.test('refused: the daemon\'s own namespace, not a namespace, a path outside the allowed places', async (t) => {
  const ep = await ok('POST', '/networks/rt/endpoints', { name: 'refused' });
  const daemonPid = d.proc!.pid;  // nsenter execs the daemon: same pid
  for (const [key, status] of [[`/proc/${daemonPid}/ns/net`, 400], ['/proc/self/ns/net', 400], ['/run/netns/../etc/passwd', 400], ['/etc/passwd', 400], ['/run/netns/does-not-exist', 400], [`/proc/${process.pid}/fd/0`, 400]] as const) {
    const r = await d.req('POST', `/networks/rt/endpoints/${ep}/containers`, { container_id: cid(), sandbox_key: key });
    t.equal(r.status, status, `${key}: ${r.text}`);
  }
  t.same(netnsFiles(), [], 'nothing mounted');
  t.same(hostVeths(), []);
  await ok('DELETE', `/networks/rt/endpoints/${ep}`);
});

t.test('IPv6-only network, and an endpoint without an address', async (t) => {
  await ok('POST', '/networks', { name: 'v6only', network_type: 'bridge', enable_ipv6: true, enable_ipv4: false, ipam: { subnet: 'fd77:6::/64' } });
  const net = await ok('GET', '/networks/v6only');
  t.same(net.ipam.config.map((c: any) => c.subnet), ['fd77:6::/64'], 'only an IPv6 subnet');
  const ns = runtimeNetns();
  const ep = await ok('POST', '/networks/v6only/endpoints', { name: 'six' });
  const wire = await ok('GET', `/networks/v6only/endpoints/${ep}`);
  t.equal(wire.ipv4_address, '', 'no IPv4 address');
  t.match(wire.mac_address, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/, 'a MAC all the same');
  const c = cid();
  await ok('POST', `/networks/v6only/endpoints/${ep}/containers`, { container_id: c, sandbox_key: ns });
  t.same(ipJ(ns, ['-4', 'addr', 'show', 'eth0'])[0]?.addr_info ?? [], [], 'no IPv4 inside');
  t.same(ipJ(ns, ['-6', 'route', 'show', 'default']).map((r: any) => r.gateway), ['fd77:6::1'], 'IPv6 default route');
  t.ok(ping(ns, 'fd77:6::1'), 'pings the IPv6 gateway');
  const none = await ok('POST', '/networks/rt/endpoints', { name: 'none', ipam: 'none' });
  await ok('POST', `/networks/rt/endpoints/${none}/containers`, { container_id: c, interface_name: 'bare0' });
  const bare = ipJ(ns, ['addr', 'show', 'bare0'])[0];
  t.same(bare.addr_info.filter((a: any) => a.scope === 'global'), [], 'the ipam none endpoint has no address');
  t.same(ipJ(ns, ['-4', 'route', 'show', 'default']), [], 'and gives no default route');
  await ok('DELETE', `/networks/rt/endpoints/${none}/containers/${c}`);
  await ok('DELETE', `/networks/v6only/endpoints/${ep}/containers/${c}`);
  t.same(hostVeths(), []);
  const bad = await d.req('POST', '/networks', { name: 'nofamily', network_type: 'bridge', enable_ipv4: false });
  t.equal(bad.status, 400, `enable_ipv4 false without IPv6 is refused (${bad.text})`);
});
