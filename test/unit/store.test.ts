// The store contract (test/lib/store-suite.ts), run against LevelDB
// (classic-level, in a tmp dir) and memory-level, and what only LevelDB has.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLevelStore, openMemoryStore, type LevelStore } from '../../store/level.js';
import type { Store } from '../../store/store.js';
import { storeSuite, type Backend } from '../lib/store-suite.js';
import { FailClosedStore } from '../../store/guard.js';

const backends: Backend[] = [
  {
    name: 'memory-level',
    open: (opts) => openMemoryStore(opts),
    // a memory level keeps its data across close and open: a restart of the same process
    reopen: async (s) => { await s.close(); await s.open(); return s; },
    done: (s) => s.close(),
  },
  (() => {
    const dirs = new Map<Store, string>();
    return {
      name: 'classic-level',
      open: async (opts) => {
        const dir = mkdtempSync(join(tmpdir(), 'lnetd-store-'));
        const s = await openLevelStore(dir, opts);
        dirs.set(s, dir);
        return s;
      },
      reopen: async (s) => {
        const dir = dirs.get(s)!;
        await s.close();
        const again = await openLevelStore(dir, { history: (s as LevelStore).history });
        dirs.set(again, dir);
        return again;
      },
      done: async (s) => { await s.close(); rmSync(dirs.get(s)!, { recursive: true, force: true }); },
    } satisfies Backend;
  })(),
];

for (const b of backends) storeSuite(t, b);

t.test('a record written before revisions (no header) reads at revision 1 and takes part in CAS', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lnetd-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { ClassicLevel } = await import('classic-level');
  const raw = new ClassicLevel<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  await raw.sublevel<string, string>('networks', { keyEncoding: 'utf8', valueEncoding: 'utf8' }).put('old', JSON.stringify({ v: 1 }));
  await raw.close();
  const store = await openLevelStore(dir);
  t.teardown(() => store.close());
  t.same(await store.read('networks', 'old'), { key: 'old', value: { v: 1 }, createRevision: 1, modRevision: 1 });
  await t.rejects(store.batch([{ type: 'put', kind: 'networks', key: 'old', value: 2, ifRevision: 0 }]), { code: 'REVISION_MISMATCH' }, 'it is present');
  await store.batch([{ type: 'put', kind: 'networks', key: 'old', value: 2, ifRevision: 1 }]);
  t.same(await store.read('networks', 'old'), { key: 'old', value: 2, createRevision: 1, modRevision: 2 });
});

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

t.test('a lost compare-and-swap is not a store failure: the fail-closed guard passes it on and keeps taking writes', async (t) => {
  const store = new FailClosedStore(await openMemoryStore());
  t.teardown(() => store.close());
  await store.put('ipam', 'k', 1);
  await t.rejects(store.batch([{ type: 'put', kind: 'ipam', key: 'k', value: 2, ifRevision: 0 }]), { code: 'REVISION_MISMATCH' });
  t.equal(store.failed, false, 'the store has not failed');
  const seen: string[] = [];
  const w = await store.watch('ipam', '', store.revision(), (c) => seen.push(`${c.type} ${c.key} ${c.revision}`));
  await store.put('ipam', 'k', 3);
  w.close();
  t.same(seen, ['put k 2', 'put k 3'], 'watch and revisions pass through the guard');
  t.same(await store.read('ipam', 'k'), { key: 'k', value: 3, createRevision: 2, modRevision: 3 });
});

t.test('the change log is compacted in steps, not per write; the revision comes back from it after a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lnetd-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { ClassicLevel } = await import('classic-level');
  const raw = async (dropMetaRevision = false) => {
    const db = new ClassicLevel<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    // as after a crash: meta's revision is written only with a compaction and at close
    if (dropMetaRevision) await db.sublevel<string, string>('meta', { keyEncoding: 'utf8', valueEncoding: 'utf8' }).put('revision', '150');
    const changes = await db.sublevel<string, string>('changes', { keyEncoding: 'utf8', valueEncoding: 'utf8' }).keys().all();
    const meta = Object.fromEntries(await db.sublevel<string, string>('meta', { keyEncoding: 'utf8', valueEncoding: 'utf8' }).iterator().all());
    await db.close();
    return { changes: changes.map(Number), meta };
  };
  let store = await openLevelStore(dir, { history: 10 });
  for (let i = 0; i < 200; i++) await store.put('ipam', `k${i % 7}`, i);
  t.equal(store.revision(), 201);
  await t.rejects(store.watch('ipam', '', 191, () => undefined), { code: 'REVISION_COMPACTED' }, 'only the last 10 revisions replay');
  await store.close();
  let disk = await raw(true);
  t.equal(disk.changes.at(-1), 201, 'the newest entry is the revision');
  t.ok(disk.changes.length >= 10 && disk.changes.length < 10 + 64, `between 10 and 10 + 64 entries on disk (${disk.changes.length})`);
  t.equal(disk.changes[0], Number(disk.meta.compacted) + 1, 'entries start after the compacted mark');
  store = await openLevelStore(dir, { history: 10 });
  t.teardown(() => store.close());
  t.equal(store.revision(), 201, 'the revision survives a restart (from the change log, meta\'s lagging one set as after a crash)');
  await t.rejects(store.watch('ipam', '', 191, () => undefined), { code: 'REVISION_COMPACTED' }, 'still compacted after it');
  const seen: number[] = [];
  (await store.watch('ipam', '', 192, (c) => seen.push(c.revision))).close();
  t.same(seen, [192, 193, 194, 195, 196, 197, 198, 199, 200, 201], 'and the kept ones replay');
  await store.put('ipam', 'k0', 'next');
  t.same(await store.read('ipam', 'k0'), { key: 'k0', value: 'next', createRevision: 2, modRevision: 202 }, 'counting goes on after it');
  await store.close();
  disk = await raw();
  t.equal(disk.meta.revision, '202', 'a close writes meta\'s revision (for a build that reads only that)');
  t.same(disk.changes, [192, 193, 194, 195, 196, 197, 198, 199, 200, 201, 202], 'the start dropped the entries out of its history (192 goes with the next step)');
  store = await openLevelStore(dir, { history: 10 });
});

t.test('a write to a closed store rejects, it does not hang (memory-level and classic-level)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lnetd-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const s of [await openMemoryStore(), await openLevelStore(dir)]) {
    await s.put('networks', 'x', 1);
    await s.close();
    const r = await Promise.race([s.put('networks', 'y', 2).then(() => 'resolved', (e) => `rejected ${e?.code}`), new Promise((res) => setTimeout(() => res('hung'), 2000))]);
    t.equal(r, 'rejected LEVEL_DATABASE_NOT_OPEN');
  }
});
