// The store contract, run against LevelDB (classic-level) and memory-level.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLevelStore, openMemoryStore, type LevelStore } from '../../store/level.js';

const kinds: Array<[string, () => Promise<{ store: LevelStore; done: () => void }>]> = [
  ['memory-level', async () => ({ store: await openMemoryStore(), done: () => undefined })],
  ['classic-level', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lnetd-store-'));
    return { store: await openLevelStore(dir), done: () => rmSync(dir, { recursive: true, force: true }) };
  }],
];

for (const [name, open] of kinds) {
  t.test(name, async (t) => {
    const { store, done } = await open();
    t.teardown(async () => { await store.close(); done(); });
    t.equal(await store.get('networks', 'nope'), undefined, 'missing key is undefined');
    await store.put('networks', 'a', { version: 1, name: 'a' });
    t.same(await store.get('networks', 'a'), { version: 1, name: 'a' });
    t.equal(await store.get('endpoints', 'a'), undefined, 'kinds are separate');
    await store.batch([
      { type: 'put', kind: 'endpoints', key: 'e1', value: { n: 1 } },
      { type: 'put', kind: 'endpoints', key: 'e2', value: { n: 2 } },
      { type: 'put', kind: 'endpoints', key: 'f1', value: { n: 3 } },
      { type: 'del', kind: 'networks', key: 'a' },
    ]);
    t.equal(await store.get('networks', 'a'), undefined, 'batch delete');
    t.same((await store.entries('endpoints', 'e')).map(([k]) => k), ['e1', 'e2'], 'prefix iteration');
    t.equal((await store.entries('endpoints')).length, 3);
    await store.del('endpoints', 'e1');
    await store.del('endpoints', 'missing');
    t.same((await store.entries('endpoints')).map(([k]) => k), ['e2', 'f1']);
  });
}

for (const [name, open] of kinds) {
  t.test(`${name}: a batch that fails half way leaves nothing, and concurrent batches all land`, async (t) => {
    const { store, done } = await open();
    t.teardown(async () => { await store.close(); done(); });
    await store.put('networks', 'keep', { v: 1 });
    // the third op can't be written (a BigInt has no JSON): the first two must not land either
    await t.rejects(store.batch([
      { type: 'put', kind: 'networks', key: 'half1', value: { v: 1 } },
      { type: 'del', kind: 'networks', key: 'keep' },
      { type: 'put', kind: 'endpoints', key: 'bad', value: { n: 1n } },
      { type: 'put', kind: 'events', key: 'half2', value: { v: 2 } },
    ]));
    t.equal(await store.get('networks', 'half1'), undefined, 'no op before the failure landed');
    t.same(await store.get('networks', 'keep'), { v: 1 }, 'nor the delete');
    t.equal(await store.get('events', 'half2'), undefined, 'nor any after it');
    await Promise.all(Array.from({ length: 100 }, (_, i) => store.batch([
      { type: 'put', kind: 'endpoints', key: `c${String(i).padStart(3, '0')}`, value: { i } },
      { type: 'put', kind: 'events', key: `c${String(i).padStart(3, '0')}`, value: { i } },
    ])));
    t.equal((await store.entries('endpoints', 'c')).length, 100, 'every concurrent batch landed');
    t.equal((await store.entries('events', 'c')).length, 100, 'with both of its ops');
  });
}

t.test('a record that cannot be read is set aside, the rest is served', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lnetd-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { ClassicLevel } = await import('classic-level');
  const raw = new ClassicLevel<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  const sub = raw.sublevel<string, string>('networks', { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  await sub.put('good', JSON.stringify({ ok: true }));
  await sub.put('bad', '{not json');
  await raw.close();
  const store = await openLevelStore(dir);
  t.teardown(() => store.close());
  t.same(await store.entries('networks'), [['good', { ok: true }]]);
  t.same(store.unreadable.map((u) => u.key), ['bad']);
});

t.test('a second opener of the same directory is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lnetd-store-'));
  const first = await openLevelStore(dir);
  t.teardown(async () => { await first.close(); rmSync(dir, { recursive: true, force: true }); });
  const err = await openLevelStore(dir).then(() => undefined, (e) => e);
  t.ok(err, 'second open fails');
  t.equal(err?.cause?.code, 'LEVEL_LOCKED');
});
