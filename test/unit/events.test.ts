// The event log through the controller: every committed change is one typed
// event in the same batch, numbered across restarts, bounded, published in
// order and only once durable.

import t from 'tap';
import { EventLog, type LnetdEvent } from '../../daemon/controller/events.js';
import { InProc } from '../lib/inproc.js';
import { openMemoryStore } from '../../store/level.js';

const CID = 'c0ffee'.repeat(10) + 'abcd';

function collect(p: InProc, from = 1): { list: LnetdEvent[]; close: () => void } {
  const list: LnetdEvent[] = [];
  const sub = p.c.events.subscribe(from, (e) => list.push(e));
  return { list, close: () => sub.close() };
}

t.test('a lifecycle emits one typed event per change, with what DNS needs', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  const start = p.c.events.lastSeq;
  t.same(collect(p).list.map((e) => `${e.type}.${e.action}:${e.network.name}`), ['network.create:none', 'network.create:host', 'network.create:bridge'], 'the predefined networks at first start');
  const seen = collect(p, start + 1);
  const net = (await p.req('POST', '/networks', { name: 'web', network_type: 'bridge', ipam: { subnet: '10.60.0.0/24' } })).json;
  const ep = (await p.req('POST', `/networks/${net}/endpoints`, { name: 'api' })).json;
  const key = (await p.req('POST', `/networks/${net}/endpoints/${ep}/containers`, { container_id: CID, host_name: 'h1' })).json;
  t.equal((await p.req('DELETE', `/networks/${net}/endpoints/${ep}/containers/${CID}`)).status, 200);
  t.equal((await p.req('DELETE', `/networks/${net}/endpoints/${ep}`)).status, 200);
  t.equal((await p.req('DELETE', `/networks/${net}`)).status, 200);
  seen.close();
  t.same(seen.list.map((e) => `${e.type}.${e.action}`), ['network.create', 'endpoint.create', 'container.join', 'container.leave', 'endpoint.delete', 'network.delete']);
  t.same(seen.list.map((e) => e.seq), [1, 2, 3, 4, 5, 6].map((n) => start + n), 'consecutive seqs');
  for (const e of seen.list) {
    t.same(e.network, { id: net, name: 'web', driver: 'bridge' }, `${e.type}.${e.action} names the network`);
    t.ok(!Number.isNaN(Date.parse(e.time)), 'time is RFC 3339');
  }
  const join = seen.list[2];
  if (join.type !== 'container') throw new Error('not a container event');
  t.match(join.endpoint, { id: ep, name: 'api', ipv4: '10.60.0.2/24', service: false });
  t.match(join.endpoint.mac, /^02:42:0a:3c:00:02$/);
  t.same(join.container, { id: CID, sandboxKey: key, ifname: 'eth0', hostName: 'h1' });
  const leave = seen.list[3];
  t.same(leave.type === 'container' && leave.container, join.container, 'the leave names the same sandbox and interface');
});

t.test('publish and backend attach are the same events, the endpoint marked as a service', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  const seen = collect(p, p.c.events.lastSeq + 1);
  const sid = (await p.req('POST', '/services', { name: 'svc', network_name: 'none' })).json;
  t.equal((await p.req('POST', `/services/${sid}/backend`, { container_id: CID })).status, 200);
  t.same(seen.list.map((e) => [`${e.type}.${e.action}`, 'endpoint' in e && e.endpoint.service]), [['endpoint.create', true], ['container.join', true]]);
});

t.test('a request that fails changes nothing and emits nothing', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  const before = p.c.events.lastSeq;
  t.equal((await p.req('POST', '/networks', { name: 'bridge' })).status, 409);
  t.equal((await p.req('POST', '/networks', { name: 'x', options: { mtu: 'huge' } })).status, 400);
  t.equal(p.c.events.lastSeq, before);
});

t.test('a failed batch publishes none of its events; later ones keep their order', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  const seen = collect(p, p.c.events.lastSeq + 1);
  const real = p.store.batch.bind(p.store);
  let failNext = true;
  p.store.batch = async (ops) => {
    if (failNext && ops.some((o) => o.kind === 'events')) { failNext = false; throw new Error('disk full'); }
    return real(ops);
  };
  t.equal((await p.req('POST', '/networks', { name: 'lost', network_type: 'null' })).status, 500);
  t.equal((await p.req('POST', '/networks', { name: 'kept', network_type: 'null' })).status, 200);
  t.same(seen.list.map((e) => e.network.name), ['kept']);
  t.same((await p.store.entries<LnetdEvent>('events')).map(([, e]) => e.network.name).filter((n) => n === 'lost'), [], 'nothing of it in the store');
});

t.test('numbering and since survive a restart; the log keeps the last max events', async (t) => {
  const store = await openMemoryStore();
  const a = await new InProc().start({ store, eventsMax: 5 });
  for (let i = 0; i < 6; i++) await a.req('POST', '/networks', { name: `n${i}`, network_type: 'null' });
  const last = a.c.events.lastSeq;
  t.equal(last, 9, '3 predefined + 6');
  t.equal(a.c.events.firstSeq, 5, 'the oldest kept is max places back');
  t.equal((await store.entries('events')).length, 5, 'the store holds max events');
  await a.stopServing();
  const b = await new InProc().start({ store, eventsMax: 5 });
  t.teardown(() => b.close());
  t.equal(b.c.events.lastSeq, last, 'numbering continues after a restart');
  t.same(b.c.events.replay(7).map((e) => e.network.name), ['n3', 'n4', 'n5']);
  t.throws(() => b.c.events.replay(4), { code: 'SINCE_TOO_OLD', message: /oldest kept is seq 5/ });
  await b.req('POST', '/networks', { name: 'after', network_type: 'null' });
  t.equal(b.c.events.lastSeq, last + 1);
  // a lower max at the next start trims the store to it
  await b.stopServing();
  const c = await new InProc().start({ store, eventsMax: 2 });
  t.equal(c.c.events.firstSeq, 9);
  t.equal((await store.entries('events')).length, 2);
  await c.stopServing();
});

t.test('the kept events wrap around max slots: always the newest max, oldest first, whatever the position', async (t) => {
  const store = await openMemoryStore();
  t.teardown(() => store.close());
  const log = new EventLog(store, { error: () => undefined }, 3);
  const seen: number[] = [];
  log.subscribe(undefined, (e) => seen.push(e.seq));
  for (let i = 1; i <= 8; i++) {
    const p = log.prepare([{ type: 'network', action: 'create', network: { id: `id${i}`, name: `n${i}`, driver: 'null' } }]);
    await store.batch(p.ops);
    log.settle(p, true);
    const want = Array.from({ length: Math.min(i, 3) }, (_, k) => Math.max(1, i - 2) + k);
    t.same(log.replay(1 + (i > 3 ? i - 3 : 0)).map((e) => e.seq), want, `after ${i}: the newest ${want.length}, in order`);
    t.equal(log.size, want.length);
    t.equal(log.firstSeq, want[0]);
    t.equal(log.lastSeq, i);
    t.same(log.replay(i).map((e) => e.seq), [i], 'since the newest: just it');
    t.same(log.replay(i + 1), [], 'since after the newest: nothing');
    if (i > 3) t.throws(() => log.replay(i - 3), { code: 'SINCE_TOO_OLD' }, 'dropped ones are gone');
  }
  t.same(seen, [1, 2, 3, 4, 5, 6, 7, 8], 'every one published once, in order');
  t.equal(log.seqAtTime(0 + Date.parse(log.replay(6)[0]!.time)), 6, 'seqAtTime finds the first kept at or after a time');
  t.equal(log.seqAtTime(Date.now() + 60_000), 9, 'a time after the newest: the next seq');
});

t.test('reconcile emits through the same path: a sandbox whose namespace went is a leave', async (t) => {
  const p = await new InProc().start();
  const net = (await p.req('POST', '/networks', { name: 'gone', network_type: 'null' })).json;
  const ep = (await p.req('POST', `/networks/${net}/endpoints`, { name: 'e' })).json;
  const key = (await p.req('POST', `/networks/${net}/endpoints/${ep}/containers`, { container_id: CID })).json;
  const from = p.c.events.lastSeq + 1;
  await p.kernel.deleteNetns(key);  // e.g. a reboot: the sandbox is gone
  const q = await p.restart();
  t.teardown(() => q.close());
  const after = q.c.events.replay(from);
  t.same(after.map((e) => `${e.type}.${e.action}`), ['container.leave']);
  t.match(after[0], { container: { id: CID, sandboxKey: key, ifname: 'eth0' }, endpoint: { id: ep } });
});
