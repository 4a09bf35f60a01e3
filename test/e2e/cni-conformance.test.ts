// lnetd-cni called the way a runtime calls a CNI plugin: the spec's
// environment and the network configuration on stdin, for every command and
// error case, against a daemon in a throwaway namespace. Namespaces are made
// as a runtime makes them (`ip netns add`); traffic is real (ping, TCP
// through a published port); after DEL nothing of the attachment is left.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, TestDaemon } from '../lib/daemon.js';
import { connect, ping, serve, stopAll } from '../lib/traffic.js';

if (process.getuid?.() !== 0) {
  t.plan(0, 'e2e tests need root');
  process.exit(0);
}

const PLUGIN = join(ROOT, 'dist/plugins/cni/main.js');
const d = new TestDaemon();
const made: string[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'lnetd-cni-test-'));
t.teardown(async () => {
  stopAll();
  for (const n of made) spawnSync('ip', ['netns', 'del', n]);
  rmSync(tmp, { recursive: true, force: true });
  await d.cleanup();
});

interface Out { code: number | null; stdout: string; json: any; ms: number }

/** Run the plugin with CNI_* env and conf on stdin. */
function cni(command: string, conf: unknown, env: Record<string, string> = {}): Out {
  const t0 = Date.now();
  const input = typeof conf === 'string' ? conf : JSON.stringify(conf);
  const r = spawnSync(process.execPath, [PLUGIN], {
    input, encoding: 'utf8', timeout: 20_000,
    env: { PATH: process.env.PATH ?? '', CNI_COMMAND: command, CNI_PATH: '/usr/lib/cni', ...env },
  });
  let json: any;
  try { json = r.stdout ? JSON.parse(r.stdout) : undefined; } catch { json = undefined; }
  return { code: r.status, stdout: r.stdout, json, ms: Date.now() - t0 };
}

function netns(): { name: string; path: string } {
  const name = `lnetd-cni-${randomBytes(4).toString('hex')}`;
  const r = spawnSync('ip', ['netns', 'add', name]);
  if (r.status !== 0) throw new Error(`ip netns add: ${r.stderr}`);
  spawnSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  made.push(name);
  return { name, path: `/run/netns/${name}` };
}

const conf = (extra: object = {}) => ({ cniVersion: '1.0.0', name: 'cninet', type: 'lnetd-cni', socket: d.socket, ...extra });
const attach = (id: string, ns: string, ifname = 'eth0') => ({ CNI_CONTAINERID: id, CNI_NETNS: ns, CNI_IFNAME: ifname });
const links = (ns: string): string[] => JSON.parse(spawnSync('nsenter', [`--net=${ns}`, 'ip', '-j', 'link'], { encoding: 'utf8' }).stdout || '[]').map((l: any) => l.ifname);
const hostVeths = () => links(d.nsPath).filter((n) => /^lv/.test(n));
/** A GET to the daemon; once more when a kept-alive connection was closed under us (EPIPE/ECONNRESET on a loaded machine). */
const get = (path: string) => d.req('GET', path).catch((e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE' && e.code !== 'ECONNRESET') throw e;
  return d.req('GET', path);
});
const endpoints = async (name = 'cninet') => {
  const r = await get(`/networks/${name}/endpoints`);
  return r.status === 200 ? (r.json as any[]) : [];
};

t.before(async () => {
  await d.start(['--default-address-pools', '10.66.0.0/16:24']);
});

t.test('VERSION answers the supported versions in the version asked', async (t) => {
  const r = cni('VERSION', { cniVersion: '1.0.0' });
  t.equal(r.code, 0);
  t.same(r.json, { cniVersion: '1.0.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  t.equal(cni('VERSION', { cniVersion: '1.1.0' }).json.cniVersion, '1.1.0');
  // libcni validates a conflist by calling VERSION with "dummy" attachment values
  t.equal(cni('VERSION', { cniVersion: '1.0.0' }, { CNI_NETNS: 'dummy', CNI_IFNAME: 'dummy', CNI_CONTAINERID: 'dummy' }).code, 0, 'VERSION ignores the attachment variables');
});

t.test('STATUS: 0 and no output when the daemon answers, 50 when it is down', async (t) => {
  const ok = cni('STATUS', conf({ cniVersion: '1.1.0' }));
  t.same([ok.code, ok.stdout], [0, ''], 'available');
  const down = cni('STATUS', conf({ cniVersion: '1.1.0', socket: join(tmp, 'none.sock') }));
  t.equal(down.code, 1);
  t.match(down.json, { cniVersion: '1.1.0', code: 50, msg: String });
});

t.test('ADD, CHECK, DEL, DEL again: the result is the spec\'s, traffic flows, nothing is left', async (t) => {
  const ns = netns();
  const add = cni('ADD', conf(), attach('default-web1', ns.path));
  t.equal(add.code, 0, add.stdout);
  const res = add.json;
  t.same(Object.keys(res).sort(), ['cniVersion', 'dns', 'interfaces', 'ips', 'routes']);
  t.equal(res.cniVersion, '1.0.0', 'the result in the config\'s version');
  t.match(res.interfaces, [{ name: 'eth0', mac: /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/, sandbox: ns.path }]);
  t.match(res.ips, [{ address: /^10\.66\.\d+\.\d+\/24$/, gateway: /^10\.66\.\d+\.1$/, interface: 0 }]);
  t.notOk('version' in res.ips[0], '1.0.0 ips carry no version');
  t.same(res.routes, [{ dst: '0.0.0.0/0', gw: res.ips[0].gateway }]);
  t.ok(links(ns.path).includes('eth0'), 'eth0 in the runtime namespace');
  t.ok(ping(ns.path, res.ips[0].gateway), 'pings the gateway');
  const prevResult = res;
  t.same([cni('CHECK', conf({ prevResult }), attach('default-web1', ns.path)).code], [0], 'CHECK passes');
  const wrongPrev = { ...res, ips: [{ address: '10.66.0.250/24', interface: 0 }] };
  t.equal(cni('CHECK', conf({ prevResult: wrongPrev }), attach('default-web1', ns.path)).json?.code, 7, 'CHECK against another prevResult fails');
  t.equal(cni('CHECK', conf({ prevResult }), attach('default-other', ns.path)).json?.code, 3, 'CHECK of an unknown container: 3');
  const again = cni('ADD', conf(), attach('default-web1', ns.path));
  t.same(again.json?.ips, res.ips, 'the same ADD again answers the same result');
  const del = cni('DEL', conf(), attach('default-web1', ns.path));
  t.same([del.code, del.stdout], [0, ''], 'DEL: 0, no output');
  t.same([cni('DEL', conf(), attach('default-web1', ns.path)).code], [0], 'DEL twice succeeds');
  t.same(links(ns.path), ['lo'], 'the runtime namespace is back to lo only');
  t.ok(existsSync(ns.path), 'and still there');
  t.same(hostVeths(), [], 'no host veth left');
  t.same(await endpoints(), [], 'no endpoint left');
  t.same(readdirSync(d.netnsDir).filter((f) => f !== 'default' && f !== '.lnetd-instance'), [], 'no mount left');
});

t.test('runtimeConfig: static ips, mac, port mappings, dns; 0.4.0 results', async (t) => {
  const ns = netns();
  const subnet: string = (await get('/networks/cninet')).json.ipam.config[0].subnet;
  const want = subnet.replace(/\.0\/24$/, '.77');
  const c = conf({
    cniVersion: '0.4.0',
    runtimeConfig: {
      ips: [`${want}/24`], mac: '02:11:22:33:44:55', dns: { nameservers: ['10.66.0.1'], search: ['example.test'] },
      portMappings: [{ hostPort: 18081, containerPort: 8080, protocol: 'tcp' }, { hostPort: 18082, containerPort: 8081, protocol: 'tcp', hostIP: '127.0.0.1' }],
    },
  });
  const add = cni('ADD', c, attach('k8s_pod.abc-123', ns.path, 'net1'));
  t.equal(add.code, 0, add.stdout);
  t.match(add.json.ips, [{ version: '4', address: `${want}/24`, interface: 0 }], '0.4.0 ips carry version');
  t.equal(add.json.interfaces[0].mac, '02:11:22:33:44:55');
  t.same(add.json.dns, { nameservers: ['10.66.0.1'], search: ['example.test'] });
  const link = JSON.parse(spawnSync('nsenter', [`--net=${ns.path}`, 'ip', '-j', 'addr', 'show', 'net1'], { encoding: 'utf8' }).stdout)[0];
  t.equal(link.address, '02:11:22:33:44:55', 'net1 has the MAC');
  await serve(ns.path, 8080, 'web');
  await serve(ns.path, 8081, 'local');
  t.match(connect(d.nsPath, '127.0.0.1', 18081), /^web /, 'published port answers on the host');
  t.match(connect(d.nsPath, '127.0.0.1', 18082), /^local /, 'port on 127.0.0.1 answers');
  stopAll();
  t.equal(cni('DEL', c, attach('k8s_pod.abc-123', ns.path, 'net1')).code, 0);
  t.notMatch(connect(d.nsPath, '127.0.0.1', 18081), /^web/, 'the port is gone');
  t.same(hostVeths(), []);
});

t.test('DEL after the runtime deleted the namespace succeeds and removes everything', async (t) => {
  const ns = netns();
  const c = conf({ runtimeConfig: { portMappings: [{ hostPort: 18090, containerPort: 80, protocol: 'tcp' }] } });
  t.equal(cni('ADD', c, attach('gone1', ns.path)).code, 0);
  spawnSync('ip', ['netns', 'del', ns.name]);
  const del = cni('DEL', c, attach('gone1', ns.path));
  t.same([del.code, del.stdout], [0, '']);
  t.same(hostVeths(), [], 'no host veth');
  t.same(await endpoints(), [], 'no endpoint');
  const nft = spawnSync('nsenter', [`--net=${d.nsPath}`, 'nft', 'list', 'table', 'inet', 'lnetd'], { encoding: 'utf8' }).stdout;
  t.notMatch(nft, /18090/, 'no port mapping left');
  t.same(cni('DEL', c, { CNI_CONTAINERID: 'gone1', CNI_IFNAME: 'eth0' }).code, 0, 'DEL without CNI_NETNS succeeds');
});

t.test('GC keeps the listed attachments and removes the rest (both key spellings)', async (t) => {
  const a = netns();
  const b = netns();
  t.equal(cni('ADD', conf(), attach('gc-a', a.path)).code, 0);
  t.equal(cni('ADD', conf(), attach('gc-b', b.path)).code, 0);
  const gc = cni('GC', conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'gc-a', ifname: 'eth0' }] }));
  t.same([gc.code, gc.stdout], [0, '']);
  t.same(links(b.path), ['lo'], 'the unlisted attachment is gone');
  t.ok(links(a.path).includes('eth0'), 'the listed one stays');
  t.equal(cni('GC', conf({ cniVersion: '1.1.0', 'cni.dev/attachments': [] })).code, 0);
  t.same(links(a.path), ['lo'], 'an empty list removes all');
  t.same(await endpoints(), []);
});

t.test('delegated IPAM: host-local from CNI_PATH picks the address; DEL releases it', async (t) => {
  const ns = netns();
  const dataDir = join(tmp, 'host-local');
  const c = conf({ name: 'cnihl', ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.67.0.0/24', gateway: '10.67.0.1', rangeStart: '10.67.0.100' }]] } });
  const add = cni('ADD', c, attach('hl1', ns.path));
  t.equal(add.code, 0, add.stdout);
  t.equal(add.json.ips[0].address, '10.67.0.100/24', 'host-local\'s first address');
  t.ok(ping(ns.path, '10.67.0.1'), 'pings the gateway');
  t.ok(existsSync(join(dataDir, 'cnihl', '10.67.0.100')), 'host-local recorded it');
  t.equal(cni('DEL', c, attach('hl1', ns.path)).code, 0);
  t.notOk(existsSync(join(dataDir, 'cnihl', '10.67.0.100')), 'and released it');
  t.same(await endpoints('cnihl'), []);
});

t.test('errors: the spec\'s codes and JSON', async (t) => {
  const ns = netns();
  const err = (r: Out, code: number, what: string) => {
    t.equal(r.code, 1, `${what}: exit 1`);
    t.match(r.json, { code, msg: String }, `${what}: code ${code} (${r.stdout.trim()})`);
  };
  err(cni('ADD', conf({ cniVersion: '9.9.9' }), attach('e1', ns.path)), 1, 'unsupported cniVersion');
  err(cni('ADD', '{not json', attach('e1', ns.path)), 6, 'stdin not JSON');
  err(cni('ADD', conf(), { CNI_NETNS: ns.path, CNI_IFNAME: 'eth0' }), 4, 'no CNI_CONTAINERID');
  err(cni('ADD', conf(), attach('e1', ns.path, 'a/b')), 4, 'a bad CNI_IFNAME');
  err(cni('ADD', conf(), attach('e1', '/run/netns/does-not-exist')), 4, 'a CNI_NETNS that is not there');
  err(cni('BOGUS', conf(), attach('e1', ns.path)), 4, 'an unknown CNI_COMMAND');
  err(cni('ADD', conf({ name: 'bad name!' }), attach('e1', ns.path)), 7, 'a bad network name');
  err(cni('ADD', conf({ runtimeConfig: { ips: ['10.99.0.5'] } }), attach('e1', ns.path)), 7, 'a static address outside the subnet');
  const down = { socket: join(tmp, 'none.sock') };
  err(cni('ADD', conf(down), attach('e1', ns.path)), 11, 'ADD with the daemon down');
  err(cni('CHECK', conf(down), attach('e1', ns.path)), 11, 'CHECK with the daemon down');
  t.same(links(ns.path), ['lo'], 'no failed ADD left anything');
  t.same(await endpoints(), []);
});

t.test('a daemon that never answers times out within a few seconds', async (t) => {
  const sock = join(tmp, 'hung.sock');
  const held: net.Socket[] = [];
  const server = net.createServer((s) => held.push(s)).listen(sock);
  await new Promise((r) => server.once('listening', r));
  const ns = netns();
  // spawnSync would block this process's event loop, which serves the hung socket: run async
  const { spawn } = await import('node:child_process');
  const r = await new Promise<{ code: number | null; out: string; ms: number }>((resolve) => {
    const t0 = Date.now();
    const p = spawn(process.execPath, [PLUGIN], { env: { PATH: process.env.PATH ?? '', CNI_COMMAND: 'ADD', LNETD_TIMEOUT_MS: '1000', ...attach('hung', ns.path) } });
    let out = '';
    p.stdout.on('data', (b: Buffer) => { out += b; });
    p.on('close', (code) => resolve({ code, out, ms: Date.now() - t0 }));
    p.stdin.end(JSON.stringify(conf({ socket: sock })));
  });
  for (const s of held) s.destroy();
  server.close();
  t.equal(r.code, 1);
  t.match(JSON.parse(r.out), { code: 11 });
  t.ok(r.ms < 5000, `answered in ${r.ms} ms`);
});

t.test('socket: the config key wins over LNETD_SOCKET, which wins over the default', async (t) => {
  const ns = netns();
  const noKey = { cniVersion: '1.0.0', name: 'cninet', type: 'lnetd-cni' };
  t.equal(cni('ADD', { ...noKey, socket: d.socket }, { ...attach('s1', ns.path), LNETD_SOCKET: join(tmp, 'wrong.sock') }).code, 0, 'config key wins');
  t.equal(cni('DEL', noKey, { ...attach('s1', ns.path), LNETD_SOCKET: d.socket }).code, 0, 'LNETD_SOCKET without a key');
  t.same(links(ns.path), ['lo']);
});
