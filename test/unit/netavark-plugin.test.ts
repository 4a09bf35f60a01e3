// lnetd-netavark without a kernel: podman's command line and stdin parsed
// (fixtures captured from podman 4.3), errors exactly {"error": "…"}, and a
// daemon that is down or stuck answered with an error, never a hang.

import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, UsageError } from '../../plugins/netavark/args.js';
import { canonical, endpointName, portBindings } from '../../plugins/netavark/lnetd.js';
import { OptionsError, parseOptions } from '../../plugins/netavark/options.js';
import { ROOT } from '../lib/daemon.js';

const MAIN = join(ROOT, 'dist/plugins/netavark/main.js');
const fixture = (name: string) => readFileSync(join(ROOT, 'test/fixtures/netavark', name), 'utf8');

/** Run the built binary: stdout, exit code. */
function plugin(args: string[], input: string, env: NodeJS.ProcessEnv = {}): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (b: Buffer) => { out += b; });
    p.on('close', (code) => resolve({ out, code }));
    p.stdin.end(input);
  });
}

t.test('command line as podman 4.3 passes it', async (t) => {
  t.same(parseArgs(['--config', '/run/containers/networks', '--rootless=false', '--aardvark-binary=', 'setup', '/run/netns/netns-1']),
    { kind: 'setup', netns: '/run/netns/netns-1', config: '/run/containers/networks', rootless: false });
  t.same(parseArgs(['--config=/x', '--rootless', 'true', 'teardown', '/run/netns/a']).kind, 'teardown');
  t.same(parseArgs(['-f', '/tmp/opts.json', 'setup', '/run/netns/a']), { kind: 'setup', netns: '/run/netns/a', rootless: false, file: '/tmp/opts.json' });
  t.same(parseArgs(['version']), { kind: 'version' });
  t.same(parseArgs(['--version']), { kind: 'version-text' });
  for (const [argv, re] of [
    [['setup'], /needs the path/],
    [['frobnicate', '/x'], /unsupported command "frobnicate"/],
    [['--bogus', 'setup', '/x'], /unknown option "--bogus"/],
    [['--rootless=maybe', 'setup', '/x'], /--rootless must be true or false/],
    [['setup', 'relative/ns'], /absolute path/],
    [['setup', '/a', '/b'], /unexpected argument/],
    [['--config'], /--config needs a value/],
    [[], /a command is required/],
  ] as Array<[string[], RegExp]>) t.throws(() => parseArgs(argv), { constructor: UsageError, message: re }, argv.join(' '));
});

t.test('stdin from podman run with ports, range, protocols and a MAC', async (t) => {
  const o = parseOptions(fixture('podman-run-ports.json'));
  t.equal(o.containerName, 'c1');
  t.same(o.networks.map((n) => n.name), ['tnet']);
  t.same(o.networks[0].opts, { ifname: 'eth0', staticIps: ['10.89.7.10'], mac: '02:aa:bb:cc:dd:01', aliases: ['67483a3ea84d'] });
  t.same(o.networks[0].info, {
    name: 'tnet', id: 'ab2cbb2104c13cb73edd99e5e56177f26e2647771dac7ba34ada6e16ad43e265', driver: 'bridge', bridge: 'podman1',
    subnets: [{ subnet: '10.89.7.0/24', gateway: '10.89.7.1' }], ipv6: false, internal: false, dns: true,
  });
  t.same(o.ports, [
    { proto: 'tcp', hostIp: '', hostPort: 8080, containerPort: 80, range: 1 },
    { proto: 'tcp', hostIp: '127.0.0.1', hostPort: 9000, containerPort: 7000, range: 2 },
    { proto: 'udp', hostIp: '127.0.0.1', hostPort: 9000, containerPort: 7000, range: 2 },
  ], '"tcp,udp" is one mapping per protocol');
  t.same(portBindings(o.ports).map((b) => `${b.proto} ${b.host_ip}:${b.host_port}->${b.port} x${b.range ?? 1}`), [
    '6 :8080->80 x1', '6 127.0.0.1:9000->7000 x2', '17 127.0.0.1:9000->7000 x2',
  ], 'a range goes to lnetd as netavark gives it (one to one)');
});

t.test('two networks, dual stack and internal, in podman\'s order', async (t) => {
  const o = parseOptions(fixture('podman-connect-two-networks.json'));
  t.same(o.networks.map((n) => [n.name, n.opts.ifname, n.opts.staticIps.length, n.info.internal, n.info.ipv6]), [['alpha', 'eth0', 1, false, false], ['beta', 'eth1', 2, true, true]]);
});

t.test('bad stdin is refused naming the field', async (t) => {
  const base = JSON.parse(fixture('podman-run-ports.json'));
  const bad = (mutate: (o: any) => void) => { const o = structuredClone(base); mutate(o); return JSON.stringify(o); };
  const cases: Array<[string, string, RegExp]> = [
    ['not json', '{', /failed to load network options/],
    ['no container id', bad((o) => { delete o.container_id; }), /container_id is required/],
    ['container id with a slash', bad((o) => { o.container_id = '../x'; }), /container_id/],
    ['macvlan', bad((o) => { o.network_info.tnet.driver = 'macvlan'; }), /network_info\.tnet\.driver "macvlan" is not supported/],
    ['no bridge name', bad((o) => { delete o.network_info.tnet.network_interface; }), /network_interface is required/],
    ['bridge name too long', bad((o) => { o.network_info.tnet.network_interface = 'a'.repeat(16); }), /network_interface/],
    ['no subnets', bad((o) => { o.network_info.tnet.subnets = []; }), /subnets is empty/],
    ['bad subnet', bad((o) => { o.network_info.tnet.subnets[0].subnet = '10.0.0.0/33'; }), /subnets\[0\]\.subnet/],
    ['two IPv4 subnets', bad((o) => { o.network_info.tnet.subnets.push({ subnet: '10.1.0.0/24' }); }), /at most one IPv4/],
    ['vlan option', bad((o) => { o.network_info.tnet.options = { vlan: '5' }; }), /options\.vlan is not supported/],
    ['network without info', bad((o) => { o.networks.other = { interface_name: 'eth1' }; }), /networks\.other has no entry in network_info/],
    ['info without network', bad((o) => { o.network_info.other = o.network_info.tnet; }), /network_info\.other has no entry in networks/],
    ['no interface name', bad((o) => { delete o.networks.tnet.interface_name; }), /interface_name is required/],
    ['bad static ip', bad((o) => { o.networks.tnet.static_ips = ['10.89.7.300']; }), /static_ips\[0\]/],
    ['bad mac', bad((o) => { o.networks.tnet.static_mac = '02:aa'; }), /static_mac/],
    ['port 0', bad((o) => { o.port_mappings[0].container_port = 0; }), /port_mappings\[0\]\.container_port/],
    ['range past 65535', bad((o) => { o.port_mappings[0].host_port = 65535; o.port_mappings[0].range = 2; }), /below 65536/],
    ['icmp', bad((o) => { o.port_mappings[0].protocol = 'icmp'; }), /protocol "icmp"/],
    ['host ip', bad((o) => { o.port_mappings[0].host_ip = 'localhost'; }), /host_ip/],
  ];
  for (const [what, text, re] of cases) t.throws(() => parseOptions(text), { constructor: OptionsError, message: re }, what);
});

t.test('names and subnets as lnetd keeps them', async (t) => {
  t.equal(canonical('10.89.7.33/24'), '10.89.7.0/24');
  t.equal(canonical('10.0.0.0/8'), '10.0.0.0/8');
  t.equal(endpointName('c1', 'f'.repeat(64)), 'c1');
  t.equal(endpointName('x'.repeat(70), 'f'.repeat(64)), 'f'.repeat(64), 'a name lnetd cannot take: the container id');
});

t.test('the binary: version, errors exactly {"error"}, never a hang', async (t) => {
  const v = await plugin(['version'], '');
  t.equal(v.code, 0);
  t.equal(JSON.parse(v.out).version, '1.4.0');
  const usage = await plugin(['--config', '/x', 'frob', '/x'], '');
  t.equal(usage.code, 1);
  t.same(Object.keys(JSON.parse(usage.out)), ['error'], 'a usage error is {"error"} too');
  const rootless = await plugin(['--rootless=true', 'setup', '/run/netns/x'], fixture('podman-run-ports.json'));
  t.match(JSON.parse(rootless.out).error, /rootless podman is not supported/);

  const dir = mkdtempSync(join(tmpdir(), 'lnetd-nv-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const down = await plugin(['setup', '/proc/self/ns/net'], fixture('podman-run-ports.json'), { LNETD_SOCKET: join(dir, 'none.sock') });
  t.equal(down.code, 1);
  const err = JSON.parse(down.out);
  t.same(Object.keys(err), ['error']);
  t.match(err.error, /lnetd is not reachable at .*none\.sock: ENOENT/);

  // a daemon that accepts and never answers: the plug-in gives up with an error
  const sock = join(dir, 'stuck.sock');
  const held: net.Socket[] = [];
  const srv = net.createServer((s) => { held.push(s); });
  await new Promise<void>((r) => srv.listen(sock, r));
  t.teardown(() => { for (const s of held) s.destroy(); srv.close(); });
  const stuck = await plugin(['setup', '/proc/self/ns/net'], fixture('podman-run-ports.json'), { LNETD_SOCKET: sock, LNETD_TIMEOUT_MS: '300' });
  t.equal(stuck.code, 1);
  t.match(JSON.parse(stuck.out).error, /did not answer GET \/(services|networks) within 300 ms/);
});
