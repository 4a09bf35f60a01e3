// Parallel requests against the real daemon: one name wins, every container
// gets its own sandbox.

import t from 'tap';
import { existsSync } from 'node:fs';
import { requireRoot, TestDaemon } from '../lib/daemon.js';

requireRoot(t);

const d = new TestDaemon();
t.teardown(() => d.cleanup());
t.before(() => d.start());

t.test('50 parallel creates of one name: exactly one 200, the rest 409', async (t) => {
  const replies = await Promise.all(Array.from({ length: 50 }, () => d.req('POST', '/networks', { name: 'race', network_type: 'bridge' })));
  t.equal(replies.filter((r) => r.status === 200).length, 1);
  t.equal(replies.filter((r) => r.status === 409 && r.json.code === 'NAME_IN_USE').length, 49);
});

t.test('100 parallel joins of different containers: all succeed, each its own sandbox', async (t) => {
  const net = (await d.req('POST', '/networks', { name: 'crowd', network_type: 'null' })).json;
  const eps = await Promise.all(Array.from({ length: 100 }, (_, i) => d.req('POST', `/networks/${net}/endpoints`, { name: `e${i}` })));
  t.ok(eps.every((r) => r.status === 200));
  const cid = (i: number) => i.toString(16).padStart(12, '0').padEnd(64, 'c');
  const joins = await Promise.all(eps.map((e, i) => d.req('POST', `/networks/${net}/endpoints/${e.json}/containers`, { container_id: cid(i) })));
  t.ok(joins.every((r) => r.status === 200), 'all joined');
  const keys = new Set(joins.map((r) => r.json));
  t.equal(keys.size, 100, 'distinct sandboxes');
  t.ok([...keys].every((k) => existsSync(k)), 'every sandbox exists');
  const leaves = await Promise.all(eps.map((e, i) => d.req('DELETE', `/networks/${net}/endpoints/${e.json}/containers/${cid(i)}`)));
  t.ok(leaves.every((r) => r.status === 200), 'all left');
  t.ok([...keys].every((k) => !existsSync(k)), 'every sandbox gone');
});
