// Settings are checked before anything happens (issue 9 item 12): a daemon
// with a bad setting exits 2 with one line naming it, and has made no data
// dir, mounted nothing and changed nothing in its (throwaway) namespace.
// Start-up failures that are not settings are one line too (exit 1).

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lnetdArgv, mountsUnder, requireRoot, TestDaemon } from '../lib/daemon.js';

requireRoot(t);

t.setTimeout(90_000);

function run(d: TestDaemon, args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stderr: string } {
  const r = spawnSync('/usr/bin/nsenter', [`--net=${d.nsPath}`, ...lnetdArgv([
    '--socket', d.socket, '--data-dir', d.dataDir, '--netns-dir', d.netnsDir, '--run-dir', d.runDir, ...args])],
  { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } });
  return { status: r.status, stderr: r.stderr };
}

t.test('a bad setting changes nothing and is named in one line', async (t) => {
  const d = new TestDaemon();
  t.teardown(() => d.cleanup());
  const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
    [['--default-address-pools', '10.0.0.0/8'], {}, /^lnetd: --default-address-pools: /],
    [['--default-address-pools-v6', '10.0.0.0/8:24'], {}, /^lnetd: --default-address-pools-v6: 10\.0\.0\.0\/8 is an IPv4 pool/],
    [[], { LNETD_NETNS_POOL: 'abc' }, /^lnetd: LNETD_NETNS_POOL: "abc"/],
    [['--forward-drop', 'maybe'], {}, /^lnetd: --forward-drop: /],
    [[], { LNETD_FAULT: 'nowhere' }, /^lnetd: LNETD_FAULT=nowhere is not a fault step/],
  ];
  const cfg = join(d.dir, 'bad.json');
  writeFileSync(cfg, JSON.stringify({ default_address_pools: [{ base: '10.1.0.0/16', size: 'big' }] }));
  cases.push([['--config', cfg], {}, /^lnetd: config file .*bad\.json: default_address_pools: item 1/]);
  for (const [args, env, want] of cases) {
    const r = run(d, args, env);
    const what = [...args, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)].join(' ');
    t.equal(r.status, 2, `${what}: exit 2`);
    t.match(r.stderr, want, `${what}: names it`);
    t.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line, no stack trace`);
    t.notOk(existsSync(d.dataDir), `${what}: no data dir made`);
    t.same(mountsUnder(d.dir), [], `${what}: nothing mounted`);
  }
  t.same(JSON.parse(d.exec(['nft', '-j', 'list', 'tables']).stdout).nftables.filter((x: any) => x.table), [], 'no nftables table made');
});

t.test('start-up failures that are not settings: one line, exit 1', async (t) => {
  const d = new TestDaemon();
  t.teardown(() => d.cleanup());
  await d.start();
  const r = run(d, ['--data-dir', join(d.dir, 'data2'), '--netns-dir', join(d.dir, 'ns2'), '--run-dir', join(d.dir, 'run2')]);
  t.equal(r.status, 1, 'socket in use: exit 1');
  t.match(r.stderr, /^lnetd: socket .* is in use/, 'names the socket');
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  const locked = run(d, ['--socket', join(d.dir, 'b.sock'), '--docker-socket', join(d.dir, 'b-docker.sock'), '--netns-dir', join(d.dir, 'ns3'), '--run-dir', join(d.dir, 'run3')]);
  t.equal(locked.status, 1, 'data dir locked: exit 1');
  t.match(locked.stderr, /^lnetd: data dir .* is in use by another lnetd/, 'names the data dir');
  t.equal(locked.stderr.trim().split('\n').length, 1, 'one line');
  const nonft = run(d, ['--socket', join(d.dir, 'c.sock'), '--data-dir', join(d.dir, 'data4'), '--run-dir', join(d.dir, 'run4')], { PATH: '/nonexistent' });
  t.equal(nonft.status, 1, 'nft missing: exit 1');
  t.match(nonft.stderr, /^lnetd: nft \(nftables\) not found/, 'says nft is missing');
  t.notOk(existsSync(join(d.dir, 'data4')), 'before making anything');
  t.equal((await d.req('GET', '/_ping')).status, 200, 'the running daemon is untouched');
});
