// Store faults through the real daemon: a record that can't be read (corrupted
// with classic-level directly while the daemon is stopped) is logged and set
// aside; the daemon starts and serves everything else, and kernel objects the
// unreadable record explains are kept for the operator, not swept.

import t from 'tap';
import { spawn } from 'node:child_process';
import { ClassicLevel } from 'classic-level';
import { lnetdArgv, request, requireRoot, TestDaemon } from '../lib/daemon.js';

requireRoot(t);

t.setTimeout(60_000);

/** Start the daemon like TestDaemon does, but keep its log (stdout, pino JSON lines). */
async function startLogging(d: TestDaemon): Promise<() => string> {
  let out = '';
  const argv = [`--net=${d.nsPath}`, ...lnetdArgv([...d.ownArgs(), '--log-level', 'warn'])];
  const proc = spawn('nsenter', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  d.proc = proc;  // so d.stop() and d.cleanup() end it
  proc.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  proc.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
  for (let i = 0; i < 300; i++) {
    if (proc.exitCode !== null) throw new Error(`lnetd exited ${proc.exitCode}: ${out}`);
    if ((await request(d.socket, 'GET', '/_ping').catch(() => undefined))?.status === 200) return () => out;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`lnetd did not start: ${out}`);
}

t.test('an unreadable record is logged and set aside; the rest is served', async (t) => {
  const d = new TestDaemon();
  t.teardown(() => d.cleanup());
  await d.start();
  const keep = await d.ok('POST', '/networks', { name: 'keep', ipam: { subnet: '10.151.0.0/24' } });
  const broken = await d.ok('POST', '/networks', { name: 'broken', ipam: { subnet: '10.152.0.0/24' } });
  const e1 = await d.ok('POST', `/networks/${keep}/endpoints`, { name: 'e1' });
  const e2 = await d.ok('POST', `/networks/${keep}/endpoints`, { name: 'e2' });
  t.equal(await d.stop('SIGTERM'), 0);

  const db = new ClassicLevel<string, string>(d.dataDir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  await db.sublevel<string, string>('networks', { keyEncoding: 'utf8', valueEncoding: 'utf8' }).put(broken, '{"version":1,"id":');
  await db.sublevel<string, string>('endpoints', { keyEncoding: 'utf8', valueEncoding: 'utf8' }).put(e2, '\u0000\u00ff not json');
  await db.close();

  const log = await startLogging(d);
  const names = (await d.ok('GET', '/networks')).map((n: any) => n.name).sort();
  t.same(names, ['bridge', 'host', 'keep', 'none'], 'the readable networks are served');
  t.same((await d.ok('GET', `/networks/${keep}/endpoints`)).map((e: any) => e.id), [e1], 'the readable endpoint is served');
  t.equal((await d.ok('GET', '/_stats')).unreadable_records, 2, '/_stats counts the unreadable records');
  const lines = log().split('\n').filter((l) => l.includes('unreadable record set aside')).map((l) => JSON.parse(l));
  t.same(lines.map((l) => `${l.kind}/${l.key}`).sort(), [`endpoints/${e2}`, `networks/${broken}`].sort(), 'each is logged with its kind and key');
  t.ok(lines.every((l) => typeof l.error === 'string' && l.error.length > 0), 'with the parse error');
  const links = JSON.parse(d.exec(['ip', '-j', 'link']).stdout).map((l: any) => l.ifname);
  t.ok(links.includes(`lnet-${broken.slice(0, 8)}`), 'the bridge the unreadable record explains is kept, not swept');
  const e3 = await d.req('POST', `/networks/${keep}/endpoints`, { name: 'e3' });
  t.equal(e3.status, 200, 'the daemon still creates');
  t.equal((await d.req('DELETE', `/networks/${keep}/endpoints/${e1}`)).status, 200, 'and deletes');
  t.equal(await d.stop('SIGTERM'), 0, 'and stops cleanly');
  await d.start();
  t.equal((await d.ok('GET', '/_stats')).unreadable_records, 2, 'still set aside after another restart');
});

t.test('the store revision (/_stats store.revision) moves on with every acknowledged change and survives a restart', async (t) => {
  const d = new TestDaemon();
  t.teardown(() => d.cleanup());
  await d.start();
  const r0 = (await d.ok('GET', '/_stats')).store.revision;
  t.ok(Number.isInteger(r0) && r0 > 1, `a started daemon has written (revision ${r0})`);
  const net = await d.ok('POST', '/networks', { name: 'rev', ipam: { subnet: '10.153.0.0/24' } });
  const r1 = (await d.ok('GET', '/_stats')).store.revision;
  t.ok(r1 > r0, 'a network create moves it on');
  t.equal((await d.req('POST', '/networks', { name: 'rev' })).status, 409, 'a refused create');
  t.equal((await d.ok('GET', '/_stats')).store.revision, r1, 'writes nothing');
  await d.ok('POST', `/networks/${net}/endpoints`, { name: 'e' });
  const r2 = (await d.ok('GET', '/_stats')).store.revision;
  t.equal(r2, r1 + 1, 'an endpoint create is one batch: one revision');
  t.equal(await d.stop('SIGTERM'), 0);
  await d.start();
  t.ok((await d.ok('GET', '/_stats')).store.revision >= r2, 'after a restart it goes on from where it was, never back');
});
