// The store compliance suite (store/store.ts's contract, shaped after etcd's):
// every backend runs it, LevelDB (classic-level) and memory-level now, etcd
// next. Each case fails when its property is missing (checked by breaking the
// code once per property: a CAS that does not compare, a batch written op by
// op, a watch that skips or repeats a change, no compaction check).

import type { Test } from 'tap';
import type { Change, Store, Watch } from '../../store/store.js';

export interface Backend {
  name: string;
  /** A fresh, empty, open store with the given history (revisions whose changes it keeps). */
  open(opts?: { history?: number }): Promise<Store>;
  /** Close it and open the same data again (a restart). */
  reopen(store: Store): Promise<Store>;
  /** Remove what open made. */
  done(store: Store): Promise<void>;
}

const code = (err: unknown) => (err as { code?: string })?.code;
const pad = (i: number) => String(i).padStart(3, '0');

/** Collect what a watch delivers. */
function collector(): { got: Change[]; fn: (c: Change) => void } {
  const got: Change[] = [];
  return { got, fn: (c) => { got.push(c); } };
}

export function storeSuite(t: Test, b: Backend): void {
  const withStore = (name: string, fn: (t: Test, s: Store, reopen: () => Promise<Store>) => Promise<void>, opts?: { history?: number }) =>
    t.test(`${b.name}: ${name}`, async (t) => {
      let s = await b.open(opts);
      t.teardown(() => b.done(s));
      await fn(t, s, async () => (s = await b.reopen(s)));
    });

  withStore('get, put, del, batch and prefix iteration', async (t, s) => {
    t.equal(await s.get('networks', 'nope'), undefined, 'missing key is undefined');
    t.equal(await s.read('networks', 'nope'), undefined, 'and read says so too');
    await s.put('networks', 'a', { version: 1, name: 'a' });
    t.same(await s.get('networks', 'a'), { version: 1, name: 'a' });
    t.equal(await s.get('endpoints', 'a'), undefined, 'kinds are separate');
    await s.batch([
      { type: 'put', kind: 'endpoints', key: 'e1', value: { n: 1 } },
      { type: 'put', kind: 'endpoints', key: 'e2', value: { n: 2 } },
      { type: 'put', kind: 'endpoints', key: 'f1', value: { n: 3 } },
      { type: 'del', kind: 'networks', key: 'a' },
    ]);
    t.equal(await s.get('networks', 'a'), undefined, 'batch delete');
    t.same((await s.entries('endpoints', 'e')).map(([k]) => k), ['e1', 'e2'], 'prefix iteration');
    t.equal((await s.entries('endpoints')).length, 3);
    await s.del('endpoints', 'e1');
    await s.del('endpoints', 'missing');
    t.same((await s.entries('endpoints')).map(([k]) => k), ['e2', 'f1']);
  });

  withStore('one store-wide revision: each batch moves it on by one; keys carry create and mod revisions; both survive a restart', async (t, s, reopen) => {
    t.equal(s.revision(), 1, 'a fresh store is at revision 1 (as etcd is)');
    t.equal(await s.batch([{ type: 'put', kind: 'networks', key: 'a', value: 1 }, { type: 'put', kind: 'endpoints', key: 'b', value: 2 }]), 2, 'a batch answers its revision');
    t.equal(s.revision(), 2, 'one revision per batch, whatever its size');
    await s.put('networks', 'a', 10);
    t.equal(s.revision(), 3);
    t.same(await s.read('networks', 'a'), { key: 'a', value: 10, createRevision: 2, modRevision: 3 }, 'a put moves the mod revision, not the create revision');
    t.same(await s.read('endpoints', 'b'), { key: 'b', value: 2, createRevision: 2, modRevision: 2 });
    await s.del('endpoints', 'b');
    await s.put('endpoints', 'b', 3);
    t.same(await s.read('endpoints', 'b'), { key: 'b', value: 3, createRevision: 5, modRevision: 5 }, 'created again after a delete: a new create revision');
    t.same((await s.range('networks')).map((v) => [v.key, v.modRevision]), [['a', 3]], 'range answers revisions');
    s = await reopen();
    t.equal(s.revision(), 5, 'the revision survives a restart');
    t.same(await s.read('networks', 'a'), { key: 'a', value: 10, createRevision: 2, modRevision: 3 }, 'and so do the key revisions');
    await s.put('networks', 'c', 1);
    t.equal(s.revision(), 6, 'and counting goes on after it, never back');
    s = await reopen();
    t.same((await s.range('endpoints')).map((v) => [v.key, v.modRevision]), [['b', 5]], 'after a restart, a full range first');
    await t.rejects(s.batch([{ type: 'put', kind: 'endpoints', key: 'b', value: 4, ifRevision: 0 }]), { code: 'REVISION_MISMATCH' }, 'then compare-and-swap knows the key is there');
    await s.batch([{ type: 'put', kind: 'endpoints', key: 'b', value: 4, ifRevision: 5 }]);
    t.same(await s.read('endpoints', 'b'), { key: 'b', value: 4, createRevision: 5, modRevision: 7 }, 'and at which revision');
  });

  withStore('compare-and-swap: put or delete only at a revision, or only if absent', async (t, s) => {
    await s.batch([{ type: 'put', kind: 'ipam', key: 'k', value: 'first', ifRevision: 0 }]);
    const at = (await s.read('ipam', 'k'))!.modRevision;
    const lost = await s.batch([{ type: 'put', kind: 'ipam', key: 'k', value: 'again', ifRevision: 0 }]).then(() => undefined, (e) => e);
    t.equal(code(lost), 'REVISION_MISMATCH', 'create-if-absent on a present key fails with REVISION_MISMATCH');
    t.equal(lost?.kind, 'conflict', 'a conflict');
    t.equal(await s.get('ipam', 'k'), 'first', 'and writes nothing');
    await s.batch([{ type: 'put', kind: 'ipam', key: 'k', value: 'second', ifRevision: at }]);
    t.equal(await s.get('ipam', 'k'), 'second', 'a put at the current revision lands');
    await t.rejects(s.batch([{ type: 'put', kind: 'ipam', key: 'k', value: 'stale', ifRevision: at }]), { code: 'REVISION_MISMATCH' }, 'a put at a stale revision fails');
    await t.rejects(s.batch([{ type: 'del', kind: 'ipam', key: 'k', ifRevision: at }]), { code: 'REVISION_MISMATCH' }, 'so does a delete');
    t.equal(await s.get('ipam', 'k'), 'second');
    await s.batch([{ type: 'del', kind: 'ipam', key: 'k', ifRevision: (await s.read('ipam', 'k'))!.modRevision }]);
    t.equal(await s.get('ipam', 'k'), undefined, 'a delete at the current revision lands');
    await t.rejects(s.batch([{ type: 'del', kind: 'ipam', key: 'k', ifRevision: at }]), { code: 'REVISION_MISMATCH' }, 'a conditional delete of an absent key fails');
    const rev = s.revision();
    await t.rejects(s.batch([
      { type: 'put', kind: 'networks', key: 'other', value: 1 },
      { type: 'put', kind: 'ipam', key: 'k2', value: 1, ifRevision: 7777 },
    ]), { code: 'REVISION_MISMATCH' });
    t.equal(await s.get('networks', 'other'), undefined, 'a batch whose condition fails writes none of its ops');
    t.equal(s.revision(), rev, 'and takes no revision');
  });

  withStore('a batch that fails half way leaves nothing', async (t, s) => {
    await s.put('networks', 'keep', { v: 1 });
    const rev = s.revision();
    // the third op can't be written (a BigInt has no JSON): the first two must not land either
    await t.rejects(s.batch([
      { type: 'put', kind: 'networks', key: 'half1', value: { v: 1 } },
      { type: 'del', kind: 'networks', key: 'keep' },
      { type: 'put', kind: 'endpoints', key: 'bad', value: { n: 1n } },
      { type: 'put', kind: 'events', key: 'half2', value: { v: 2 } },
    ]));
    t.equal(await s.get('networks', 'half1'), undefined, 'no op before the failure landed');
    t.same(await s.get('networks', 'keep'), { v: 1 }, 'nor the delete');
    t.equal(await s.get('events', 'half2'), undefined, 'nor any after it');
    t.equal(s.revision(), rev, 'no revision taken');
    await Promise.all(Array.from({ length: 100 }, (_, i) => s.batch([
      { type: 'put', kind: 'endpoints', key: `c${pad(i)}`, value: { i } },
      { type: 'put', kind: 'events', key: `c${pad(i)}`, value: { i } },
    ])));
    t.equal((await s.entries('endpoints', 'c')).length, 100, 'every concurrent batch landed');
    t.equal((await s.entries('events', 'c')).length, 100, 'with both of its ops');
    t.equal(s.revision(), rev + 100, 'each under a revision of its own');
  });

  withStore('CAS races: 50 concurrent read-modify-write increments end at exactly 50; of 20 concurrent creates exactly one wins', async (t, s) => {
    let conflicts = 0;
    const increment = async () => {
      for (;;) {
        const cur = await s.read<number>('ipam', 'counter');
        try {
          await s.batch([{ type: 'put', kind: 'ipam', key: 'counter', value: (cur?.value ?? 0) + 1, ifRevision: cur?.modRevision ?? 0 }]);
          return;
        } catch (err) {
          if (code(err) !== 'REVISION_MISMATCH') throw err;
          conflicts++;
        }
      }
    };
    await Promise.all(Array.from({ length: 50 }, increment));
    t.equal(await s.get('ipam', 'counter'), 50, 'no increment lost');
    t.ok(conflicts > 0, `the writers did race (${conflicts} lost compare-and-swaps, retried)`);
    // while another write is on its way to the disk, so the creates meet in the store's queue
    const other = s.put('ipam', 'other', 1);
    const tries = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => s.batch([{ type: 'put', kind: 'ipam', key: 'owner', value: i, ifRevision: 0 }])));
    const won = tries.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    t.equal(won.length, 1, 'exactly one create-if-absent wins');
    t.ok(tries.every((r) => r.status === 'fulfilled' || code(r.reason) === 'REVISION_MISMATCH'), 'the others lose with REVISION_MISMATCH');
    t.equal(await s.get('ipam', 'owner'), won[0], 'and the winner\'s value is what is stored');
    await other;
  });

  withStore('watch: every change of kind and prefix, in revision order, exactly once, live and replayed from a past revision', async (t, s) => {
    await s.put('endpoints', 'x-before', 0);
    const from = s.revision() + 1;
    const live = collector();
    const w1 = await s.watch('endpoints', 'x', undefined, live.fn);
    const write = (i: number) => s.batch([
      { type: 'put', kind: 'endpoints', key: `x${pad(i)}`, value: i },
      { type: 'put', kind: 'endpoints', key: `y${pad(i)}`, value: i },
      { type: 'put', kind: 'networks', key: `x${pad(i)}`, value: i },
      ...(i % 4 === 3 ? [{ type: 'del' as const, kind: 'endpoints' as const, key: `x${pad(i - 1)}` }] : []),
    ]);
    // 150 changes to replay, and writes landing one by one while the replay runs:
    // its replay and live part must meet with no gap and no repeat
    await Promise.all(Array.from({ length: 150 }, (_, i) => write(i)));
    const replayed = collector();
    const starting = s.watch('endpoints', 'x', from, replayed.fn);
    for (let i = 150; i < 200; i++) await write(i);
    const w2: Watch = await starting;
    await s.del('endpoints', 'x-before');
    const expect: string[] = [];
    for (let i = 0; i < 200; i++) {
      expect.push(`put x${pad(i)} ${i}`);
      if (i % 4 === 3) expect.push(`del x${pad(i - 1)}`);
    }
    expect.push('del x-before');
    const show = (cs: Change[]) => cs.map((c) => (c.type === 'put' ? `put ${c.key} ${String(c.value)}` : `del ${c.key}`));
    t.same(show(live.got), expect, 'a live watch gets each change of its kind and prefix once, in order (other kinds and prefixes left out)');
    t.same(show(replayed.got), expect, 'a watch from a past revision gets the same, replay then live, no gap and no repeat');
    const revs = replayed.got.map((c) => c.revision);
    t.ok(revs.every((r, i) => i === 0 || r >= revs[i - 1]!), 'revisions never go back');
    t.equal(revs[0], from, 'the replay starts at the revision asked for');
    t.equal(revs.at(-1), s.revision(), 'and reaches the store\'s revision');
    t.same(live.got.map((c) => c.revision), revs, 'each change carries the revision of its batch');
    w1.close();
    await s.put('endpoints', 'x-after', 1);
    t.equal(live.got.length, expect.length, 'a closed watch gets nothing more');
    t.equal(replayed.got.length, expect.length + 1, 'the other still does');
    w2.close();
  });

  withStore('watch from a revision compaction dropped fails with Gone (etcd: compacted); kept ones replay, also after a restart', async (t, s, reopen) => {
    for (let i = 0; i < 20; i++) await s.put('sandboxes', `s${pad(i)}`, i);
    const rev = s.revision();
    const oldest = rev - 5 + 1;
    const err = await s.watch('sandboxes', '', oldest - 1, () => undefined).then(() => undefined, (e) => e);
    t.equal(code(err), 'REVISION_COMPACTED', 'a compacted revision is refused');
    t.equal(err?.kind, 'gone', 'as gone');
    t.match(err?.message, String(oldest), 'naming the oldest revision kept');
    const kept = collector();
    (await s.watch('sandboxes', '', oldest, kept.fn)).close();
    t.same(kept.got.map((c) => c.revision), [oldest, oldest + 1, oldest + 2, oldest + 3, oldest + 4], 'the kept revisions replay');
    s = await reopen();
    await t.rejects(s.watch('sandboxes', '', oldest - 1, () => undefined), { code: 'REVISION_COMPACTED' }, 'still gone after a restart');
    const again = collector();
    (await s.watch('sandboxes', '', oldest, again.fn)).close();
    t.equal(again.got.length, 5, 'and the kept ones still replay');
  }, { history: 5 });
}
