// NftFirewall against the real kernel, asserted with real traffic. Everything
// happens inside a throwaway "host" namespace (withHostNs moves this process's
// main thread there, so nft and /proc/sys writes land in it) plus container
// and upstream namespaces made here; traffic flows only between them.
//
//   upstream (10.99.0.2, fd99::2) ── up0 ── host ── lnet-a… 172.18/16 + fd6c:…:1::/64: c1 c2 (masquerade, icc)
//                                                ├─ lnet-b… 172.19/16: c3 c4 (masquerade, icc=false)
//                                                └─ lnet-c… 172.20/16: c5 c6 (internal)

import t from 'tap';
import { readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { NftFirewall } from '../../drivers/linux/nftables.js';
import { processCount } from '../../drivers/linux/exec.js';
import type { FwNetwork, FwPortMap } from '../../drivers/linux/firewall.js';
import { nsExec, withHostNs, type HostNs } from './_hostns.js';

t.setTimeout(120_000);

const SERVER = `const http = require('http'); const [name, ...ports] = process.argv.slice(1); let n = 0;
for (const p of ports) http.createServer((q, s) => s.end(name + ' ' + q.socket.remoteAddress.replace(/^::ffff:/, '')))
  .listen(Number(p), '::', () => { if (++n === ports.length) console.log('ready'); });`;

const NET = {
  a: { id: 'a1'.repeat(32), bridge: 'lnet-a1a1a1a1', subnet4: '172.18.0.0/16', subnet6: 'fd6c:6e65:7464:1::/64', masquerade: true, icc: true, internal: false },
  b: { id: 'b2'.repeat(32), bridge: 'lnet-b2b2b2b2', subnet4: '172.19.0.0/16', masquerade: true, icc: false, internal: false },
  c: { id: 'c3'.repeat(32), bridge: 'lnet-c3c3c3c3', subnet4: '172.20.0.0/16', masquerade: true, icc: true, internal: true },
} satisfies Record<string, FwNetwork>;

const pm = (net: FwNetwork, hostIp: string, hostPort: number, containerIp: string): FwPortMap =>
  ({ networkId: net.id, proto: 'tcp', hostIp, hostPort, containerIp, containerPort: 80, bridge: net.bridge });
const PORTS: FwPortMap[] = [
  pm(NET.a, '', 8080, '172.18.0.2'),
  pm(NET.a, '10.99.0.1', 8081, '172.18.0.3'),
  pm(NET.a, '', 8080, 'fd6c:6e65:7464:1::2'),
];

async function sh(ns: string, argv: string[]): Promise<string> {
  const r = await nsExec(ns, argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} in ${ns}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** GET url from namespace ns: the body ("<server name> <peer address>"), or 'FAIL' when no answer. */
async function get(ns: string, url: string): Promise<string> {
  const r = await nsExec(ns, ['curl', '-s', '-g', '--connect-timeout', '1', '-m', '3', url]);
  return r.code === 0 ? r.stdout : 'FAIL';
}

interface Topo { h: HostNs; up: string; c: Record<string, string> }

async function newNs(h: HostNs, label: string): Promise<string> {
  const path = h.nsPath(label);
  writeFileSync(path, '');
  await sh(h.path, ['unshare', `--net=${path}`, 'ip', 'link', 'set', 'lo', 'up']);
  return path;
}

async function serve(h: HostNs, ns: string, name: string, ports: number[]): Promise<void> {
  const child = h.spawnIn(ns, ['node', '-e', SERVER, name, ...ports.map(String)]);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => { if (b.toString().includes('ready')) resolve(); });
    child.on('exit', (code) => reject(new Error(`server ${name} exited ${code}`)));
  });
}

async function bridge(h: HostNs, name: string, cidrs: string[]): Promise<void> {
  await sh(h.path, ['ip', 'link', 'add', name, 'type', 'bridge']);
  for (const c of cidrs) await sh(h.path, ['ip', 'addr', 'add', c, 'dev', name, ...(c.includes(':') ? ['nodad'] : [])]);
  await sh(h.path, ['ip', 'link', 'set', name, 'up']);
}

/** A "container": namespace, veth into the bridge, address, default route via the gateway. */
async function container(h: HostNs, name: string, br: string, cidrs: string[], gws: string[]): Promise<string> {
  const ns = await newNs(h, name);
  await sh(h.path, ['ip', 'link', 'add', `v-${name}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  await sh(h.path, ['ip', 'link', 'set', `v-${name}`, 'master', br, 'up']);
  // br_netfilter DNATs a bridged frame in place and sends it back out of the
  // port it came in on: without hairpin a container can't reach its own published port.
  await sh(h.path, ['ip', 'link', 'set', `v-${name}`, 'type', 'bridge_slave', 'hairpin', 'on']);
  for (const c of cidrs) await sh(ns, ['ip', 'addr', 'add', c, 'dev', 'eth0', ...(c.includes(':') ? ['nodad'] : [])]);
  await sh(ns, ['ip', 'link', 'set', 'eth0', 'up']);
  for (const g of gws) await sh(ns, ['ip', ...(g.includes(':') ? ['-6'] : []), 'route', 'add', 'default', 'via', g]);
  await serve(h, ns, name, [80]);
  return ns;
}

async function topology(h: HostNs): Promise<Topo> {
  const up = await newNs(h, 'upstream');
  await sh(h.path, ['ip', 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', up]);
  for (const c of ['10.99.0.1/24', 'fd99::1/64']) await sh(h.path, ['ip', 'addr', 'add', c, 'dev', 'up0', ...(c.includes(':') ? ['nodad'] : [])]);
  await sh(h.path, ['ip', 'link', 'set', 'up0', 'up']);
  for (const c of ['10.99.0.2/24', 'fd99::2/64']) await sh(up, ['ip', 'addr', 'add', c, 'dev', 'eth0', ...(c.includes(':') ? ['nodad'] : [])]);
  await sh(up, ['ip', 'link', 'set', 'eth0', 'up']);
  await serve(h, up, 'upstream', [7000]);
  await bridge(h, NET.a.bridge, ['172.18.0.1/16', 'fd6c:6e65:7464:1::1/64']);
  await bridge(h, NET.b.bridge, ['172.19.0.1/16']);
  await bridge(h, NET.c.bridge, ['172.20.0.1/16']);
  const c: Record<string, string> = {};
  c.c1 = await container(h, 'c1', NET.a.bridge, ['172.18.0.2/16', 'fd6c:6e65:7464:1::2/64'], ['172.18.0.1', 'fd6c:6e65:7464:1::1']);
  c.c2 = await container(h, 'c2', NET.a.bridge, ['172.18.0.3/16'], ['172.18.0.1']);
  c.c3 = await container(h, 'c3', NET.b.bridge, ['172.19.0.2/16'], ['172.19.0.1']);
  c.c4 = await container(h, 'c4', NET.b.bridge, ['172.19.0.3/16'], ['172.19.0.1']);
  c.c5 = await container(h, 'c5', NET.c.bridge, ['172.20.0.2/16'], ['172.20.0.1']);
  c.c6 = await container(h, 'c6', NET.c.bridge, ['172.20.0.3/16'], ['172.20.0.1']);
  return { h, up, c };
}

async function nftJson(h: HostNs, args: string[]): Promise<{ nftables: Record<string, any>[] }> {
  return JSON.parse(await sh(h.path, ['nft', '-j', ...args]));
}

if (process.getuid?.() !== 0) {
  t.plan(0, 'kernel tests need root');
} else {
  const h = withHostNs(t);
  // Hard guard before the first nft call: this thread must be in the throwaway namespace.
  const here = readlinkSync('/proc/thread-self/ns/net');
  if (here !== `net:[${statSync(h.path).ino}]`) throw new Error(`not inside ${h.name} (${here}): refusing to touch nftables`);
  const fw = new NftFirewall();
  const timings: Record<string, number> = {};
  const timed = async (what: string, fn: () => Promise<void>): Promise<void> => { await fn(); timings[what] = Math.round(fw.stats.lastMs * 10) / 10; };
  let topo: Topo;

  t.before(async () => {
    topo = await topology(h);
    await timed('init', () => fw.init());
    for (const net of Object.values(NET)) await timed(`addNetwork ${net.bridge}`, () => fw.addNetwork(net));
    const p0 = processCount();
    await timed('addPortMaps (3)', () => fw.addPortMaps(PORTS));
    t.equal(processCount() - p0, 1, 'publishing ports is one process');
  });

  t.test('sysctls and ruleset hold only our table', async (t) => {
    t.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), '1');
    t.equal(readFileSync('/proc/sys/net/ipv6/conf/all/forwarding', 'utf8').trim(), '1');
    t.equal(readFileSync(`/proc/sys/net/ipv4/conf/${NET.a.bridge}/route_localnet`, 'utf8').trim(), '1');
    const tables = (await nftJson(h, ['list', 'ruleset'])).nftables.filter((o) => o.table).map((o) => `${o.table.family} ${o.table.name}`);
    t.same(tables, ['inet lnetd']);
  });

  t.test('masquerade: upstream sees the host address', async (t) => {
    t.equal(await get(topo.c.c1, 'http://10.99.0.2:7000/'), 'upstream 10.99.0.1');
    t.equal(await get(topo.c.c1, 'http://[fd99::2]:7000/'), 'upstream fd99::1', 'IPv6 too');
    t.equal(await get(topo.c.c3, 'http://10.99.0.2:7000/'), 'upstream 10.99.0.1', 'icc=false still goes out');
  });

  t.test('published ports: from upstream, from the host, hairpin', async (t) => {
    t.equal(await get(topo.up, 'http://10.99.0.1:8080/'), 'c1 10.99.0.2', 'any-address mapping, client address kept');
    t.equal(await get(topo.up, 'http://10.99.0.1:8081/'), 'c2 10.99.0.2', 'host-address mapping');
    t.equal(await get(topo.up, 'http://[fd99::1]:8080/'), 'c1 fd99::2', 'IPv6 mapping');
    t.equal(await get(h.path, 'http://10.99.0.1:8080/'), 'c1 10.99.0.1', 'host ns → host address');
    t.equal(await get(h.path, 'http://127.0.0.1:8080/'), 'c1 172.18.0.1', 'host ns → 127.0.0.1');
    t.equal(await get(topo.c.c1, 'http://10.99.0.1:8080/'), 'c1 172.18.0.1', 'hairpin to itself');
    t.equal(await get(topo.c.c2, 'http://10.99.0.1:8080/'), 'c1 172.18.0.1', 'hairpin from a neighbour');
    await sh(topo.up, ['ip', 'route', 'add', '172.18.0.0/16', 'via', '10.99.0.1']);
    t.equal(await get(topo.up, 'http://172.18.0.2:80/'), 'FAIL', 'unpublished container port is not reachable from outside');
  });

  t.test('icc, isolation, internal', async (t) => {
    t.equal(await get(topo.c.c1, 'http://172.18.0.3/'), 'c2 172.18.0.2', 'icc=true: neighbours talk');
    t.equal(await get(topo.c.c1, 'http://172.19.0.2/'), 'FAIL', 'bridge a → b dropped');
    t.equal(await get(topo.c.c3, 'http://172.18.0.2/'), 'FAIL', 'bridge b → a dropped');
    t.equal(await get(topo.c.c3, 'http://172.19.0.3/'), 'FAIL', 'icc=false: neighbours dropped');
    t.equal(await get(topo.c.c5, 'http://172.20.0.3/'), 'c6 172.20.0.2', 'internal: inside the bridge is fine');
    t.equal(await get(topo.c.c5, 'http://10.99.0.2:7000/'), 'FAIL', 'internal: nothing out');
    t.equal(await get(topo.c.c5, 'http://172.18.0.2/'), 'FAIL', 'internal: not to other bridges');
  });

  t.test('unpublish, flush + restore', async (t) => {
    await timed('removePortMaps (1)', () => fw.removePortMaps([PORTS[0]]));
    t.equal(await get(topo.up, 'http://10.99.0.1:8080/'), 'FAIL', 'unpublished');
    await timed('removePortMaps (1, missing)', () => fw.removePortMaps([PORTS[0]]));
    await sh(h.path, ['nft', 'flush', 'ruleset']); // our throwaway namespace's ruleset, as an admin might
    t.equal(await get(topo.c.c1, 'http://10.99.0.2:7000/'), 'upstream 172.18.0.2', 'after the flush: no masquerade');
    await timed('restore (3 nets, 3 ports)', () => fw.restore(Object.values(NET), PORTS));
    t.equal(await get(topo.c.c1, 'http://10.99.0.2:7000/'), 'upstream 10.99.0.1', 'masquerade back');
    t.equal(await get(topo.up, 'http://10.99.0.1:8080/'), 'c1 10.99.0.2', 'port back');
    t.equal(await get(topo.c.c3, 'http://172.19.0.3/'), 'FAIL', 'icc=false back');
  });

  t.test('remove networks (one by a fresh instance), destroy', async (t) => {
    await timed('removeNetwork a', () => fw.removeNetwork(NET.a.id));
    const fresh = new NftFirewall();
    await fresh.removeNetwork(NET.b.id); // knows nothing: reads the keys back from the table
    await timed('removeNetwork c', () => fw.removeNetwork(NET.c.id));
    await fw.removeNetwork(NET.c.id);
    const left = (await nftJson(h, ['list', 'table', 'inet', 'lnetd'])).nftables;
    t.same(left.filter((o) => o.chain?.name.startsWith('n-')), [], 'no network chains left');
    t.same(left.filter((o) => (o.map ?? o.set)?.elem), [], 'every set and map empty, port maps included');
    t.equal(await get(topo.up, 'http://10.99.0.1:8081/'), 'FAIL', 'its ports are gone');
    await timed('destroy', () => fw.destroy());
    t.same((await nftJson(h, ['list', 'ruleset'])).nftables.filter((o) => o.table), [], 'no tables at all');
    await fw.destroy();
    await fresh.removeNetwork(NET.a.id);
    t.comment(`ms per nft transaction: ${JSON.stringify(timings)}`);
  });
}
