// containerd 1.6's `ctr run --cni` with lnetd-cni: ctr runs the CNI plugins
// itself (from /opt/cni/bin, configs from /etc/cni/net.d, fixed in ctr), so
// every ctr call runs in a private mount namespace where those two paths are a
// tmp dir of ours: nothing is written to them on the host. containerd gets its
// root, state and socket under a tmp dir and runs, like ctr, inside the
// daemon's throwaway host namespace (nsenter --net=). The container is busybox
// on a rootfs of ours (ctr run --rootfs); the test pings from it, answers TCP
// from it, and checks that nothing is left after ctr removes it.

import t from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountsUnder, ROOT, TestDaemon } from '../lib/daemon.js';
import { busyboxRootfs, guardSystemPaths, missingTool, runtimeLock } from './_runtime.js';

const missing = process.getuid?.() !== 0 ? 'root' : missingTool(['containerd', 'ctr', 'runc', 'busybox', 'unshare']);
if (missing) {
  t.plan(0, `needs ${missing}`);
  process.exit(0);
}
t.setTimeout(240_000);

const d = new TestDaemon();
const dir = mkdtempSync(join(tmpdir(), 'lnetd-ctr-'));
const sock = join(dir, 'containerd.sock');
let containerd: ChildProcess | undefined;

function cleanup(): void {
  if (containerd && containerd.exitCode === null) containerd.kill('SIGKILL');
  for (const m of mountsUnder(dir)) spawnSync('umount', ['-l', m]);
  rmSync(dir, { recursive: true, force: true });
}

/** ctr ARGS in the daemon's host namespace, with /opt/cni/bin and /etc/cni/net.d ours in a private mount namespace. */
function ctr(args: string[], timeout = 60_000): { status: number | null; stdout: string; stderr: string } {
  const script = 'mount -t tmpfs lnetd-cni-opt /opt && mkdir -p /opt/cni/bin && cp "$1" /opt/cni/bin/lnetd-cni && mount --bind "$2" /etc/cni/net.d && shift 2 && exec ctr "$@"';
  const r = spawnSync('nsenter', [`--net=${d.nsPath}`, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh',
    join(dir, 'bin/lnetd-cni'), join(dir, 'net.d'), '--address', sock, '--namespace', 'lnetd', ...args], { encoding: 'utf8', timeout });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function ctrAsync(args: string[]): ChildProcess {
  const script = 'mount -t tmpfs lnetd-cni-opt /opt && mkdir -p /opt/cni/bin && cp "$1" /opt/cni/bin/lnetd-cni && mount --bind "$2" /etc/cni/net.d && shift 2 && exec ctr "$@"';
  return spawn('nsenter', [`--net=${d.nsPath}`, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh',
    join(dir, 'bin/lnetd-cni'), join(dir, 'net.d'), '--address', sock, '--namespace', 'lnetd', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

const hostVeths = () => JSON.parse(d.exec(['ip', '-j', 'link']).stdout || '[]').map((l: any) => l.ifname).filter((n: string) => /^lv/.test(n));

t.before(async () => {
  await runtimeLock(t);
  guardSystemPaths(t, ['/run/containerd']);
  t.teardown(async () => { cleanup(); await d.cleanup(); });
  await d.start(['--default-address-pools', '10.68.0.0/16:24']);
  // the plugin, as npm run install-plugins installs it, into our tmp dir only
  const r = spawnSync('bash', [join(ROOT, 'scripts/install-plugins.sh'), '--cni-dir', join(dir, 'bin'), '--socket', d.socket], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`install-plugins: ${r.stderr}`);
  mkdirSync(join(dir, 'net.d'));
  writeFileSync(join(dir, 'net.d', '10-lnetd.conflist'), JSON.stringify({
    cniVersion: '1.0.0', name: 'ctrnet', plugins: [{ type: 'lnetd-cni', socket: d.socket }],
  }));
  writeFileSync(join(dir, 'config.toml'), [
    'version = 2',
    `root = "${join(dir, 'root')}"`,
    `state = "${join(dir, 'state')}"`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '[grpc]',
    `  address = "${sock}"`,
    '',
  ].join('\n'));
  busyboxRootfs(dir, ['sh', 'ping', 'httpd', 'ip', 'awk', 'sleep', 'cat']);
  containerd = spawn('nsenter', [`--net=${d.nsPath}`, 'containerd', '--config', join(dir, 'config.toml'), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  containerd.stderr!.on('data', (b: Buffer) => { log += b; });
  for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(sock)) throw new Error(`containerd did not start: ${log}`);
});

t.test('ctr run --cni: the container gets lnetd\'s network, pings, answers TCP; nothing left after removal', async (t) => {
  const run = ctrAsync(['run', '--rm', '--cni', '--env', 'PATH=/bin', '--rootfs', join(dir, 'rootfs'), 'web1', '/bin/sh', '-c',
    'ip -4 addr show eth0; ip route; ping -c 1 -W 3 "$(ip route | awk \'/default/ {print $3}\')" && echo PING-OK; httpd -f -p 8080 -h /www']);
  let out = '';
  let err = '';
  run.stdout!.on('data', (b: Buffer) => { out += b; });
  run.stderr!.on('data', (b: Buffer) => { err += b; });
  const exited = new Promise<number | null>((r) => run.on('exit', (c) => r(c)));
  let ep: any;
  for (let i = 0; i < 100 && !/PING-OK/.test(out); i++) await new Promise((r) => setTimeout(r, 100));
  t.match(out, /PING-OK/, `the container pings its gateway (${out}${err})`);
  const eps = (await d.req('GET', '/networks/ctrnet/endpoints')).json as any[];
  t.equal(eps.length, 1, 'one endpoint in lnetd');
  ep = eps[0];
  t.equal(ep?.container_id, 'lnetd-web1', 'joined as containerd\'s <namespace>-<id>');
  t.equal(ep?.interface_name, 'eth0');
  const ip = ep.ipv4_address.split('/')[0];
  t.match(out, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/`), 'the address inside is lnetd\'s');
  let body = '';
  for (let i = 0; i < 30 && !/hello/.test(body); i++) {
    body = d.exec(['curl', '-s', '-m', '2', `http://${ip}:8080/`]).stdout;
    if (!/hello/.test(body)) await new Promise((r) => setTimeout(r, 200));
  }
  t.match(body, /hello/, 'TCP: the host gets an HTTP answer from the container');
  const kill = ctr(['task', 'kill', '-s', 'SIGKILL', 'web1']);
  t.equal(kill.status, 0, kill.stderr);
  const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 30_000))]);
  t.not(code, 'timeout', 'ctr run returned after the kill');
  t.same((await d.req('GET', '/networks/ctrnet/endpoints')).json, [], 'ctr removed the network: no endpoint left');
  t.same(hostVeths(), [], 'no host veth left');
  t.same(readdirSync(d.netnsDir).filter((f) => f !== 'default' && f !== '.lnetd-instance'), [], 'no namespace mount left');
  t.same(ctr(['containers', 'ls', '-q']).stdout.trim(), '', 'no container left');
});
