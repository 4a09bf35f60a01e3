// Forwarding (issue 9 item 13): lnetd turns IP forwarding on for its bridges
// and says so; where it was the one to turn it on, forwarded traffic that is
// neither to nor from an lnetd bridge is dropped in lnetd's own table, so the
// host does not start routing between its other interfaces. Checked with real
// traffic: two "outside" namespaces A and B routed through the test host
// namespace, and a container on an lnetd bridge.

import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { TestDaemon } from '../lib/daemon.js';
import { ping } from '../lib/traffic.js';

t.setTimeout(120_000);

function sh(argv: string[]): void {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
}

/** A namespace wired to d's host namespace by a veth, on 10.191.<n>.0/24, routed to the other one through the host. */
function outside(t: Test, d: TestDaemon, n: number): string {
  const name = `lnetd-test-fw${n}-${randomBytes(3).toString('hex')}`;
  sh(['ip', 'netns', 'add', name]);
  t.teardown(() => { spawnSync('ip', ['netns', 'del', name]); });
  const host = `fwh${n}${randomBytes(2).toString('hex')}`;
  sh(['ip', '-n', d.name, 'link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name]);
  sh(['ip', '-n', d.name, 'addr', 'add', `10.191.${n}.1/24`, 'dev', host]);
  sh(['ip', '-n', d.name, 'link', 'set', host, 'up']);
  sh(['ip', '-n', name, 'addr', 'add', `10.191.${n}.2/24`, 'dev', 'eth0']);
  sh(['ip', '-n', name, 'link', 'set', 'eth0', 'up']);
  sh(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  sh(['ip', '-n', name, 'route', 'add', '10.191.0.0/16', 'via', `10.191.${n}.1`]);
  return `/run/netns/${name}`;
}

const table = (d: TestDaemon) => d.exec(['nft', 'list', 'table', 'inet', 'lnetd']).stdout;
const sysctl = (d: TestDaemon, key: string) => d.exec(['sysctl', '-n', key]).stdout.trim();

t.test('where lnetd turned forwarding on, it forwards only for its bridges', async (t) => {
  const d = new TestDaemon();
  t.teardown(() => d.cleanup());
  t.equal(sysctl(d, 'net.ipv4.ip_forward'), '0', 'a fresh namespace forwards nothing');
  const a = outside(t, d, 1);
  outside(t, d, 2);
  await d.start();
  t.equal(sysctl(d, 'net.ipv4.ip_forward'), '1', 'lnetd turned IPv4 forwarding on');
  const logged = d.stdout.split('\n').filter((l) => l.includes('turned IP forwarding on')).map((l) => JSON.parse(l));
  t.equal(logged.length, 1, 'and logged it');
  t.ok(logged[0]?.changes.some((c: any) => c.sysctl === 'net.ipv4.ip_forward' && c.from === '0' && c.to === '1'), 'naming the sysctl, old and new value');
  t.match(table(d), /nfproto ipv4 .*drop/, "a drop for other forwarded traffic in lnetd's table");

  const net = await d.ok('POST', '/networks', { name: 'fw', ipam: { subnet: '10.192.0.0/24' } });
  await d.ok('POST', `/networks/${net}/endpoints`, { name: 'c1' });
  const key = await d.ok('POST', `/networks/${net}/endpoints/c1/containers`, { container_id: 'f'.repeat(64) });
  t.ok(ping(key, '10.191.1.2'), 'a container reaches the outside (traffic from a bridge)');
  t.notOk(ping(a, '10.191.2.2'), 'A does not reach B through the host: not lnetd traffic');

  t.equal(await d.stop('SIGTERM'), 0);
  await d.start(['--forward-drop', 'off']);
  t.notMatch(table(d), /nfproto ipv4 .*drop/, '--forward-drop off: no drop rule');
  t.ok(ping(a, '10.191.2.2'), 'and A reaches B');

  t.equal(await d.stop('SIGTERM'), 0);
  await d.start();
  t.match(table(d), /nfproto ipv4 .*drop/, 'a restart remembers that lnetd turned forwarding on');
  t.notOk(ping(a, '10.191.2.2'), 'A is cut off from B again');
  t.ok(ping(key, '10.191.1.2'), 'while the container still reaches A');
});

t.test('forwarding that was on before lnetd is left as it was', async (t) => {
  const d = new TestDaemon();
  t.teardown(() => d.cleanup());
  d.exec(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  d.exec(['sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
  const a = outside(t, d, 3);
  outside(t, d, 4);
  await d.start();
  t.notOk(d.stdout.includes('turned IP forwarding on'), 'nothing changed, nothing logged');
  t.notMatch(table(d), /nfproto ipv[46] .*drop/, 'no drop rule');
  t.ok(ping(a, '10.191.4.2'), 'the host still routes between its interfaces');
});
