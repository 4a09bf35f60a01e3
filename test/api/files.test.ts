// hosts_path / resolv_conf_path as root, against a hostile caller: no symlink
// in the path is followed (a directory link, a link at the target, pre-made
// links at the old predictable temporary names), nothing inside lnetd's own
// data, socket and netns directories is written, and only --files-dirs is
// allowed. A refused path is a 400 naming the field and the rule, and the
// join changes nothing.

import t from 'tap';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { filePolicy, pathRule } from '../../daemon/files/policy.js';
import { TestDaemon } from '../lib/daemon.js';

t.test('the policy: allowed trees only, never lnetd\'s own', async (t) => {
  const p = filePolicy({ dataDir: '/var/lib/lnetd', netnsDir: '/run/lnetd/netns', socket: '/run/lnetd/lnetd.sock' });
  t.equal(pathRule('/var/lib/docker/containers/abc/hosts', p), undefined, 'Docker\'s container dir is a default');
  t.equal(pathRule('/run/lnetd/files/abc/resolv.conf', p), undefined, 'so is /run/lnetd/files');
  t.match(pathRule('/etc/hosts', p), /not inside an allowed directory/);
  t.match(pathRule('/var/lib/lnetd/CURRENT', filePolicy({ filesDirs: ['/var/lib'], dataDir: '/var/lib/lnetd', netnsDir: '/run/lnetd/netns' })), /lnetd's own directory/);
  t.match(pathRule('/run/lnetd/lnetd.sock', filePolicy({ filesDirs: ['/run'], netnsDir: '/run/lnetd/netns', socket: '/run/lnetd/lnetd.sock' })), /socket/);
  t.match(pathRule('/run/lnetd/netns/x', filePolicy({ filesDirs: ['/run'], netnsDir: '/run/lnetd/netns' })), /own directory/);
  t.match(pathRule('/var/lib/docker/containers/../../../etc/passwd', p), /absolute file path/);
  t.match(pathRule('/var/lib/docker/containersX/hosts', p), /not inside/, 'a sibling with the same prefix is not inside');
});

if (process.getuid?.() !== 0) {
  t.plan(1, 'the api tier needs root (it runs the daemon in a throwaway network namespace)');
} else {
  t.test('the daemon refuses every path it must not write, and changes nothing', async (t) => {
    const d = new TestDaemon();
    t.teardown(() => d.cleanup());
    await d.start();
    const outside = join(d.dir, 'outside');
    mkdirSync(outside);
    const victim = join(outside, 'victim');
    writeFileSync(victim, 'precious\n');
    await d.req('POST', '/networks', { name: 'n', network_type: 'null' });
    await d.req('POST', '/networks/n/endpoints', { name: 'e' });
    const join1 = (field: string, path: string) => d.req('POST', '/networks/n/endpoints/e/containers', { container_id: 'c1', host_name: 'web', [field]: path });

    symlinkSync(outside, join(d.filesDir, 'dirlink'));
    const cases: Array<[string, string, RegExp]> = [
      ['hosts_path', join(d.filesDir, 'dirlink', 'victim'), /hosts_path .*symlink/],
      ['resolv_conf_path', join(d.filesDir, 'dirlink', 'victim'), /resolv_conf_path .*symlink/],
      ['hosts_path', join(d.dataDir, 'CURRENT'), /hosts_path .*(own directory|not inside)/],
      ['hosts_path', d.socket, /hosts_path .*(socket|not inside)/],
      ['hosts_path', join(d.netnsDir, 'default'), /hosts_path .*(own directory|not inside)/],
      ['hosts_path', victim, /hosts_path .*not inside an allowed directory/],
    ];
    for (const [field, path, re] of cases) {
      const r = await join1(field, path);
      t.equal(r.status, 400, `${field} ${path} refused`);
      t.match(r.json?.message, re, 'naming the field and the rule');
    }
    t.equal(readFileSync(victim, 'utf8'), 'precious\n', 'the file outside is untouched');
    t.ok(readFileSync(join(d.dataDir, 'CURRENT'), 'utf8').startsWith('MANIFEST'), "the store's CURRENT is untouched");
    t.ok(lstatSync(d.socket).isSocket(), 'the socket is untouched');
    t.equal((await d.req('GET', '/networks/n/endpoints/e')).json.sandbox_key ?? '', '', 'no join happened');
    t.same(readdirSync(d.netnsDir).filter((f) => f !== '.lnetd-instance'), ['default'], 'no sandbox was made');
    t.equal((await d.req('GET', '/_ping')).status, 200);
  });

  t.test('a symlink at the target or at any temporary name is replaced or ignored, never followed', async (t) => {
    const d = new TestDaemon();
    t.teardown(() => d.cleanup());
    await d.start();
    const victim = join(d.dir, 'victim');
    writeFileSync(victim, 'precious\n');
    const hosts = join(d.filesDir, 'hosts');
    symlinkSync(victim, hosts);
    await d.req('POST', '/networks', { name: 'n', network_type: 'null' });
    await d.req('POST', '/networks/n/endpoints', { name: 'e' });
    // v1 named its temporary `.hosts.lnetd-<pid>-<ms>`: plant links for the next 20 s
    const pid = d.proc!.pid!;
    const now = Date.now();
    for (let ms = now; ms < now + 20_000; ms++) symlinkSync(victim, join(d.filesDir, `.hosts.lnetd-${pid}-${ms}`));
    const r = await d.req('POST', '/networks/n/endpoints/e/containers', { container_id: 'c1', host_name: 'web', hosts_path: hosts });
    t.equal(r.status, 200, r.text);
    t.ok(Date.now() < now + 20_000, 'the join ran inside the planted window');
    t.equal(readFileSync(victim, 'utf8'), 'precious\n', 'what the links point at is untouched');
    t.ok(lstatSync(hosts).isFile(), 'the link at the target was replaced by the file');
    t.match(readFileSync(hosts, 'utf8'), /localhost/);
    t.notOk(existsSync(join(d.filesDir, 'hosts.tmp')));
    const temps = readdirSync(d.filesDir).filter((f) => f.startsWith('.hosts.lnetd-') && !lstatSync(join(d.filesDir, f)).isSymbolicLink());
    t.same(temps, [], 'no temporary file of ours is left');
  });
}
