// Reconcile on the real kernel when the records are wrong (issue 9 item 2):
// the data dir is replaced by an empty one of the same instance (a restored
// backup taken before the containers joined). Everything the records fail to
// explain is live, so nothing is deleted: it is quarantined and reported, the
// containers keep talking, and only POST /_reconcile?apply=true removes it.

import t from 'tap';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TestDaemon } from '../lib/daemon.js';
import { ping } from '../lib/traffic.js';

t.setTimeout(120_000);

const cid = (n: number) => n.toString(16).padStart(4, '0').repeat(16);

const links = (d: TestDaemon): any[] => JSON.parse(d.exec(['ip', '-j', '-d', 'link']).stdout);

t.test('wrong records: live objects are quarantined until an operator confirms', async (t) => {
  const d = new TestDaemon();
  t.teardown(() => d.cleanup());
  await d.start();
  const net = await d.ok('POST', '/networks', { name: 'm', ipam: { subnet: '10.201.0.0/24' } });
  const keys: string[] = [];
  for (let i = 1; i <= 3; i++) {
    await d.ok('POST', `/networks/${net}/endpoints`, { name: `c${i}` });
    keys.push(await d.ok('POST', `/networks/${net}/endpoints/c${i}/containers`, { container_id: cid(i) }));
  }
  const id = readFileSync(join(d.dataDir, 'lnetd-instance'), 'utf8').trim();
  const bridge = `lnet-${net.slice(0, 8)}`;
  const ours = links(d).filter((l) => l.ifname === bridge || /^lv[0-9a-f]{11}$/.test(l.ifname));
  t.equal(ours.length, 4, 'a bridge and three veths');
  t.ok(ours.every((l) => l.ifalias === `lnetd:${id}`), 'each carries the instance mark (ip -d link: alias)');
  t.match(d.exec(['nft', 'list', 'table', 'inet', 'lnetd']).stdout, `instance=${id}`, 'so does the nft table');

  // the same instance on records that know nothing of them
  t.equal(await d.stop('SIGTERM'), 0);
  const saved = join(d.dir, 'instance');
  copyFileSync(join(d.dataDir, 'lnetd-instance'), saved);
  rmSync(d.dataDir, { recursive: true, force: true });
  mkdirSync(d.dataDir);
  copyFileSync(saved, join(d.dataDir, 'lnetd-instance'));
  await d.start();
  const names = links(d).map((l) => l.ifname);
  t.ok(ours.every((l) => names.includes(l.ifname)), 'nothing was deleted');
  t.ok(ping(keys[0], '10.201.0.1'), 'a container still reaches its gateway over the kept bridge');
  const report = await d.ok('GET', '/_reconcile');
  t.equal(report.mark, `lnetd:${id}`);
  t.same(report.quarantined.map((s: any) => s.name).sort(), [...ours.map((l) => l.ifname), ...keys.map((k) => k.split('/').pop())].sort(), 'GET /_reconcile lists the bridge, veths and sandboxes');
  t.ok(report.quarantined.every((s: any) => typeof s.live === 'string'), 'each with why it is live');
  t.equal((await d.ok('GET', '/_stats')).quarantined, 7, '/_stats counts them');
  t.same((await d.ok('POST', '/_reconcile')).quarantined.length, 7, 'POST without apply is a dry run');
  t.ok(links(d).some((l) => l.ifname === bridge), 'which removed nothing');
  t.equal((await d.req('POST', '/_reconcile?apply=maybe')).status, 400, 'apply must be true or false');

  await d.ok('POST', '/_reconcile?apply=true');
  const after = links(d).map((l) => l.ifname);
  t.notOk(ours.some((l) => after.includes(l.ifname)), 'apply=true removes them');
  t.same((await d.ok('GET', '/_reconcile')).quarantined, [], 'and the quarantine is empty');
});
