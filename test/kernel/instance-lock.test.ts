// One lnetd per network namespace (issue 9 item 3): a second daemon started in
// the namespace of a running one, with its own data dir, socket and netns
// dir, must stop before it changes anything, naming the first one's pid and
// data dir; and even past the lock (another --run-dir) it must not rebuild the
// firewall table the live daemon owns. The first keeps every bridge, veth,
// sandbox and rule, and real traffic between its containers keeps flowing.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { lnetdArgv, TestDaemon } from '../lib/daemon.js';

t.setTimeout(90_000);

const cid = (n: number) => n.toString(16).padStart(4, '0').repeat(16);

/** A second daemon in d's namespace with its own data dir, socket and netns dir. */
function second(d: TestDaemon, runDir: string): { status: number | null; stderr: string } {
  const own = join(d.dir, 'second');
  mkdirSync(own, { recursive: true });
  const r = spawnSync('nsenter', [`--net=${d.nsPath}`, ...lnetdArgv([
    '--socket', join(own, 'lnetd.sock'), '--data-dir', join(own, 'data'), '--netns-dir', join(own, 'netns'), '--run-dir', runDir, '--log-level', 'warn'])],
  { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stderr: r.stderr };
}

const snapshot = (d: TestDaemon) => ({
  links: JSON.parse(d.exec(['ip', '-j', 'link']).stdout).map((l: any) => `${l.ifname}/${l.ifindex}`).sort(),
  table: d.exec(['nft', 'list', 'table', 'inet', 'lnetd']).stdout,
});

t.test('a second lnetd in the same network namespace changes nothing of the first', async (t) => {
  const d = new TestDaemon();
  t.teardown(() => d.cleanup());
  await d.start();
  const net = await d.ok('POST', '/networks', { name: 'first', ipam: { subnet: '10.181.0.0/24' } });
  const keys: string[] = [];
  for (let i = 1; i <= 2; i++) {
    await d.ok('POST', `/networks/${net}/endpoints`, { name: `c${i}` });
    keys.push(await d.ok('POST', `/networks/${net}/endpoints/c${i}/containers`, { container_id: cid(i) }));
  }
  const before = snapshot(d);

  const same = second(d, d.runDir);
  t.equal(same.status, 1, 'the second daemon exits 1');
  t.match(same.stderr, `another lnetd already serves this network namespace (pid ${d.proc!.pid},`, 'names the pid of the first');
  t.match(same.stderr, d.dataDir, "and the first one's data dir");
  t.equal(same.stderr.trim().split('\n').length, 1, 'in one line');
  t.notOk(existsSync(join(d.dir, 'second', 'data')), 'it did not even make its data dir');
  t.same(snapshot(d), before, 'links and rules of the first are untouched');

  const other = second(d, join(d.dir, 'other-run'));
  t.equal(other.status, 1, 'past the lock (another run dir) it still stops');
  t.match(other.stderr, /table inet lnetd belongs to another running lnetd/, 'at the firewall table the live daemon owns');
  t.same(snapshot(d), before, 'still nothing of the first changed');

  for (const k of keys) t.ok(existsSync(k), `sandbox ${k} is still there`);
  const ping = d.exec(['nsenter', `--net=${keys[0]}`, 'ping', '-c', '1', '-W', '2', '10.181.0.3']);
  t.equal(ping.status, 0, 'containers of the first still reach each other');
  t.equal((await d.req('GET', '/_ping')).status, 200, 'and it serves');

  // after the first stops, its lock is free: a daemon with its data dir starts
  t.equal(await d.stop('SIGTERM'), 0);
  await d.start();
  t.equal((await d.ok('GET', `/networks/${net}/endpoints`)).length, 2, 'restart takes the lock again');
});
