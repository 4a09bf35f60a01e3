// podman 4.3 with its CNI backend and lnetd-cni, on the real kernel, with
// real traffic: podman runs in the daemon's throwaway host namespace with all
// its state under a tmp dir (shared harness: _runtime.ts), reads a conflist of
// ours whose plugin is lnetd-cni (installed into a tmp dir named in
// cni_plugin_dirs), and passes the port mappings through the portMappings
// capability and --ip through CNI_ARGS. Two containers ping each other, a
// published port answers, and after removal nothing is left.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, TestDaemon } from '../lib/daemon.js';
import { guardSystemPaths, missingTool, Podman, PODMAN_SYSTEM_PATHS, runtimeLock } from './_runtime.js';

const missing = process.getuid?.() !== 0 ? 'root' : missingTool(['podman', 'runc', 'busybox', 'curl']);
if (missing) t.test('podman (CNI backend) with lnetd-cni', { skip: `needs ${missing}` }, () => undefined);
else await main();

async function main(): Promise<void> {
  t.setTimeout(300_000);
  await runtimeLock(t);
  guardSystemPaths(t, PODMAN_SYSTEM_PATHS);
  const d = new TestDaemon();
  let pm: Podman | undefined;
  t.teardown(async () => { pm?.cleanup(); await d.cleanup(); });
  await d.start();
  const links = () => (JSON.parse(d.exec(['ip', '-j', 'link']).stdout) as Array<{ ifname: string }>).map((l) => l.ifname).sort();
  const linksBefore = links();

  const bin = mkdtempSync(join(tmpdir(), 'lnetd-cni-bin-'));
  t.teardown(() => rmSync(bin, { recursive: true, force: true }));
  pm = new Podman(d, { backend: 'cni', network: [`cni_plugin_dirs = ["${bin}"]`] });
  const r = spawnSync('bash', [join(ROOT, 'scripts/install-plugins.sh'), '--cni-dir', bin, '--socket', d.socket], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`install-plugins: ${r.stderr}`);
  writeFileSync(join(pm.networkDir, 'lnetcni.conflist'), JSON.stringify({
    cniVersion: '1.0.0', name: 'lnetcni',
    plugins: [{ type: 'lnetd-cni', socket: d.socket, ipam: { type: 'lnetd', ranges: [[{ subnet: '10.89.40.0/24', gateway: '10.89.40.1' }]] }, capabilities: { portMappings: true, ips: true, mac: true } }],
  }));
  pm.importBusybox();
  const http = (url: string) => spawnSync('nsenter', [`--net=${d.nsPath}`, 'curl', '-s', '--max-time', '3', url], { encoding: 'utf8', timeout: 8000 }).stdout.trim();

  await t.test('podman run on a lnetd-cni network: address, published port, two containers pinging', async (t) => {
    pm!.ok(['run', '-d', '--name', 'w1', '--network', 'lnetcni', '--ip', '10.89.40.10', '-p', '18480:80', 'localhost/bb', 'sh', '-c', 'httpd -p 80 -h /www && exec sleep 100000']);
    pm!.ok(['run', '-d', '--name', 'w2', '--network', 'lnetcni', 'localhost/bb', 'sleep', '100000']);
    const w1 = JSON.parse(pm!.ok(['inspect', 'w1']))[0];
    t.equal(w1.NetworkSettings.Networks.lnetcni?.IPAddress, '10.89.40.10', 'podman reports the address it asked for');
    const eps = (await d.req('GET', '/networks/lnetcni/endpoints')).json as Array<{ container_id: string; ipv4_address: string }>;
    t.equal(eps.length, 2, 'two endpoints in lnetd');
    t.ok(eps.some((e) => e.container_id === w1.Id && e.ipv4_address === '10.89.40.10/24'), 'w1 joined with its address');
    t.equal(http('http://127.0.0.1:18480/'), 'hello', 'the published port answers on the host');
    t.equal(http('http://10.89.40.10/'), 'hello', 'the host reaches the container');
    const ping = pm!.run(['exec', 'w2', 'ping', '-c', '1', '-W', '3', '10.89.40.10']);
    t.equal(ping.status, 0, `w2 pings w1 (${ping.stdout}${ping.stderr})`);
  });

  await t.test('podman stop / rm: nothing left in lnetd or the host namespace', async (t) => {
    pm!.ok(['stop', '-t', '0', 'w1']);
    t.same(((await d.req('GET', '/networks/lnetcni/endpoints')).json as unknown[]).length, 1, 'stop detached w1');
    t.notOk(/hello/.test(http('http://127.0.0.1:18480/')), 'its port is gone');
    pm!.ok(['rm', '-f', '-t', '0', 'w1', 'w2']);
    t.same((await d.req('GET', '/networks/lnetcni/endpoints')).json, [], 'no endpoint left');
    t.same(links().filter((l) => /^lv/.test(l)), [], 'no host veth left');
    t.same(links().filter((l) => !linksBefore.includes(l) && !/^lnet-/.test(l)), [], 'no other link left');
  });
}
