// The Store on abstract-level: classic-level (LevelDB) in the daemon,
// memory-level in unit tests, one implementation for both. The contract and
// its etcd mapping are in store.ts.
//
// Layout: one sublevel per kind; a value is `@<create>,<mod>;` + JSON text
// (a value without the header, from lnetd before revisions, reads as created
// and modified at revision 1, the revision a fresh store starts at: no JSON
// text starts with '@'). Sublevel `changes` keeps the last `history`
// revisions' changes (key: the revision, 16 digits; value: its changes) for
// watch replay; its newest entry is the store's revision, so revisions survive
// a restart exactly as the data does. `meta` holds the newest revision whose
// entry is deleted and (as a floor, for stores from before the change log)
// the revision; both are written with each compaction, COMPACT_STEP entries at
// a time, not on every write (the revision also at close, for an older build). Records, change entry and compaction go in one
// LevelDB batch per write: a chained batch on the root db with full keys
// (`!kind!key`, the sublevels' own prefixes), which costs about half of an
// array batch with a sublevel per op; the sublevels serve the reads.
//
// Writes go through one queue: the conditions of a batch are checked against
// the revision index (every key's create/mod revision, kept in memory, built
// from the reads the daemon makes at start-up anyway) in queue order, so compare-and-swap is atomic against concurrent
// callers. Batches that arrive while a write is on disk are written together
// next, in one LevelDB batch, each under its own revision (LevelDB's own group
// commit, done here so that one fsync serves them all). Values are parsed
// here, so that one record that can't be read is reported and set aside
// instead of failing start-up.

import type { AbstractLevel, AbstractSublevel } from 'abstract-level';
import { Conflict, Gone } from '../errors/index.js';
import type { BatchOp, BatchOptions, Change, Kind, Store, Versioned, Watch } from './store.js';

type Db = AbstractLevel<string | Buffer | Uint8Array, string, string>;
type Sub = AbstractSublevel<Db, string | Buffer | Uint8Array, string, string>;

const KINDS: Kind[] = ['networks', 'endpoints', 'sandboxes', 'ipam', 'journal', 'events'];

/** Revisions a store keeps the changes of, for watch replay (etcd: its compaction retention). */
export const DEFAULT_HISTORY = 1000;

export interface Unreadable { kind: Kind; key: string; error: string }
export interface LevelStoreOptions { history?: number }

const revKey = (rev: number) => String(rev).padStart(16, '0');
/** Entries of the change log deleted at a time once out of the history (one batch, with the meta keys). */
const COMPACT_STEP = 64;

/** create and mod revision of a stored value, and where its JSON starts. */
function header(text: string): { create: number; mod: number; at: number } {
  if (text[0] !== '@') return { create: 1, mod: 1, at: 0 };
  const semi = text.indexOf(';');
  const comma = text.indexOf(',');
  const create = Number(text.slice(1, comma));
  const mod = Number(text.slice(comma + 1, semi));
  if (semi < 0 || comma < 0 || comma > semi || !Number.isInteger(create) || !Number.isInteger(mod)) throw new Error('bad revision header');
  return { create, mod, at: semi + 1 };
}

/** [create, mod] of a stored value; one that can't be read still exists (its key is taken). */
function revsOf(text: string): [number, number] {
  try { const h = header(text); return [h.create, h.mod]; } catch { return [1, 1]; }
}

interface Pending { kind: 'batch'; ops: BatchOp[]; durable: boolean; resolve(rev: number): void; reject(err: unknown): void }
interface PendingWatch { kind: 'watch'; w: Watcher; from: number; resolve(w: Watch): void; reject(err: unknown): void }
interface Watcher { kind: Kind; prefix: string; fn: (c: Change) => void; closed: boolean }

export class LevelStore implements Store {
  private subs = new Map<Kind, Sub>();
  private prefixes = new Map<Kind, string>();
  private changesPrefix: string;
  private metaPrefix: string;
  private changes: Sub;
  private meta: Sub;
  /** create/mod revision of every key of the indexed kinds, by `kind\0key`. A kind is
   *  indexed by its first full range (the daemon reads every kind at start-up anyway)
   *  or, failing that, by a scan before its first write. */
  private revs = new Map<string, [number, number]>();
  private indexed = new Set<Kind>();
  private rev = 1;
  /** Revisions up to this are compacted: a watch can't start there (etcd's compact revision). */
  private compacted = 0;
  /** The change log's entries up to this are deleted (at most COMPACT_STEP behind compacted). */
  private dropped = 0;
  /** The revision meta holds (written with compactions and at close). */
  private metaRev = 1;
  /** A write failed since open: close writes nothing more. */
  private writeFailed = false;
  private queue: Array<Pending | PendingWatch> = [];
  private flushing = false;
  private watchers = new Set<Watcher>();
  readonly history: number;
  /** LevelDB writes made (one per group of batches): for tests and /_stats. */
  writes = 0;
  /** Of those, writes synced to disk (some batch in the group was durable). */
  syncs = 0;
  /** Records that could not be parsed on the last `entries` call, for logging. */
  readonly unreadable: Unreadable[] = [];

  constructor(private readonly db: Db, opts: LevelStoreOptions = {}) {
    this.history = opts.history ?? DEFAULT_HISTORY;
    if (!Number.isInteger(this.history) || this.history < 1) throw new RangeError(`store history must be a positive integer, not ${this.history}`);
    const sub = (name: string) => db.sublevel<string, string>(name, { keyEncoding: 'utf8', valueEncoding: 'utf8' }) as unknown as Sub;
    for (const kind of KINDS) this.subs.set(kind, sub(kind));
    this.changes = sub('changes');
    this.meta = sub('meta');
    for (const [kind, s] of this.subs) this.prefixes.set(kind, s.prefix);
    this.changesPrefix = this.changes.prefix;
    this.metaPrefix = this.meta.prefix;
  }

  /** The full LevelDB key prefix of a kind's sublevel (`!kind!`): writes go to the
   *  root db with full keys, one chained batch, no per-op sublevel prefixing. */
  private prefix(kind: Kind): string {
    const p = this.prefixes.get(kind);
    if (p === undefined) throw new Error(`unknown store kind ${kind}`);
    return p;
  }

  private sub(kind: Kind): Sub {
    const s = this.subs.get(kind);
    if (!s) throw new Error(`unknown store kind ${kind}`);
    return s;
  }

  async open(): Promise<void> {
    await this.db.open();
    // a sublevel closes with its parent and stays closed when the parent reopens
    for (const sub of [...this.subs.values(), this.changes, this.meta]) await sub.open();
    // meta's revision is written only now and then (with compaction): the newest
    // change log entry, one per revision, is the store's revision
    let last = 0;
    for await (const key of this.changes.keys({ reverse: true, limit: 1 })) last = Number(key);
    this.metaRev = Number((await this.meta.get('revision')) ?? 1);
    this.rev = Math.max(this.metaRev, last);
    this.compacted = Number((await this.meta.get('compacted')) ?? 0);
    this.revs.clear();
    this.indexed.clear();
    this.writeFailed = false;
    // a smaller history than the last run kept: drop what is now too old
    const keepFrom = this.rev - this.history + 1;
    if (keepFrom - 1 > this.compacted) {
      await this.changes.clear({ lt: revKey(keepFrom) });
      this.compacted = keepFrom - 1;
      await this.meta.put('compacted', String(this.compacted), { sync: true } as never);
    }
    this.dropped = this.compacted;
  }

  async close(): Promise<void> {
    // meta's revision for a build from before it was written only now and then
    // (one that reads the revision from there alone); the change log has it anyway
    if (this.db.status === 'open' && this.rev > this.metaRev && !this.writeFailed) {
      await this.meta.put('revision', String(this.rev), { sync: true } as never).catch(() => undefined);
    }
    await this.db.close();
  }

  revision(): number {
    return this.rev;
  }

  async get<T>(kind: Kind, key: string): Promise<T | undefined> {
    return (await this.read<T>(kind, key))?.value;
  }

  async read<T>(kind: Kind, key: string): Promise<Versioned<T> | undefined> {
    const text = await this.sub(kind).get(key);
    if (text === undefined) return undefined;
    const h = header(text);
    return { key, value: JSON.parse(text.slice(h.at)) as T, createRevision: h.create, modRevision: h.mod };
  }

  put(kind: Kind, key: string, value: unknown, opts?: BatchOptions): Promise<void> {
    return this.batch([{ type: 'put', kind, key, value }], opts).then(() => undefined);
  }

  del(kind: Kind, key: string, opts?: BatchOptions): Promise<void> {
    return this.batch([{ type: 'del', kind, key }], opts).then(() => undefined);
  }

  batch(ops: BatchOp[], opts: BatchOptions = {}): Promise<number> {
    if (ops.length === 0) return Promise.resolve(this.rev);
    return new Promise((resolve, reject) => {
      this.queue.push({ kind: 'batch', ops, durable: opts.durable !== false, resolve, reject });
      void this.flush();
    });
  }

  watch(kind: Kind, prefix: string, fromRevision: number | undefined, fn: (c: Change) => void): Promise<Watch> {
    const w: Watcher = { kind, prefix, fn, closed: false };
    return new Promise((resolve, reject) => {
      // in the write queue: no change lands between the replay and the live part
      this.queue.push({ kind: 'watch', w, from: fromRevision || 0, resolve, reject });
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length) {
        const head = this.queue[0]!;
        if (head.kind === 'watch') {
          this.queue.shift();
          await this.startWatch(head);
          continue;
        }
        let n = 0;
        while (n < this.queue.length && this.queue[n]!.kind === 'batch') n++;
        await this.writeGroup(this.queue.splice(0, n) as Pending[]);
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Index the revisions of a kind (in the write queue: no write lands meanwhile). */
  private async index(kind: Kind): Promise<void> {
    const pre = this.prefix(kind);
    for await (const [key, text] of this.sub(kind).iterator()) this.revs.set(pre + key, revsOf(text));
    this.indexed.add(kind);
  }

  /** Check, number and write a group of batches in one LevelDB batch. */
  private async writeGroup(group: Pending[]): Promise<void> {
    for (const p of group) {
      for (const op of p.ops) {
        if (this.indexed.has(op.kind)) continue;
        try {
          await this.index(op.kind);
        } catch (err) {
          for (const q of group) q.reject(err);
          return;
        }
      }
    }
    // Change objects are only made for watchers (none in the daemon today)
    const watched = this.watchers.size > 0;
    const overlay = new Map<string, [number, number] | null>();
    const current = (k: string) => (overlay.has(k) ? overlay.get(k) ?? undefined : this.revs.get(k));
    // the group's LevelDB ops, flat, with full keys: values[i] undefined is a delete
    const keys: string[] = [];
    const values: Array<string | undefined> = [];
    const done: Array<{ p: Pending; rev: number; changes?: Change[] }> = [];
    let rev = this.rev;
    for (const p of group) {
      const mark = keys.length;
      const mine = new Map<string, [number, number] | null>();
      const changes: Change[] | undefined = watched ? [] : undefined;
      let logged = '';
      try {
        // every compare is made against the state before the batch (an etcd txn's if-list)
        for (const op of p.ops) {
          if (op.ifRevision === undefined) continue;
          const have = current(this.prefix(op.kind) + op.key)?.[1] ?? 0;
          if (have !== op.ifRevision) {
            throw new Conflict(`${op.kind}/${op.key} is at revision ${have === 0 ? '0 (absent)' : have}, not ${op.ifRevision === 0 ? '0 (absent)' : op.ifRevision}: it changed meanwhile; read it again and retry`, 'REVISION_MISMATCH');
          }
        }
        const next = rev + 1;
        for (const op of p.ops) {
          const k = this.prefix(op.kind) + op.key;
          const before = mine.has(k) ? mine.get(k) ?? undefined : current(k);
          if (op.type === 'put') {
            const json = JSON.stringify(op.value);
            if (json === undefined) throw new TypeError(`${op.kind}/${op.key}: a put needs a JSON value`);
            const create = before ? before[0] : next;
            keys.push(k);
            values.push(`@${create},${next};${json}`);
            mine.set(k, [create, next]);
            changes?.push({ type: 'put', kind: op.kind, key: op.key, value: op.value, revision: next });
            logged += `${logged ? ',' : ''}{"type":"put","kind":"${op.kind}","key":${JSON.stringify(op.key)},"value":${json}}`;
          } else if (before) {
            keys.push(k);
            values.push(undefined);
            mine.set(k, null);
            changes?.push({ type: 'del', kind: op.kind, key: op.key, revision: next });
            logged += `${logged ? ',' : ''}{"type":"del","kind":"${op.kind}","key":${JSON.stringify(op.key)}}`;
          }
        }
      } catch (err) {
        keys.length = mark;
        values.length = mark;
        p.reject(err);
        continue;
      }
      if (!logged) { done.push({ p, rev, changes }); continue; }
      rev++;
      for (const [k, v] of mine) overlay.set(k, v);
      keys.push(this.changesPrefix + revKey(rev));
      values.push(`[${logged}]`);
      done.push({ p, rev, changes });
    }
    // Compaction: changes of revisions before the last `history` are no longer
    // replayed from now on; their entries are deleted COMPACT_STEP at a time (with
    // the meta keys), not one per write. open() drops any left over.
    const compacted = Math.max(this.compacted, rev - this.history);
    let dropped = this.dropped;
    if (keys.length && compacted - dropped >= COMPACT_STEP) {
      for (let r = dropped + 1; r <= compacted; r++) {
        keys.push(this.changesPrefix + revKey(r));
        values.push(undefined);
      }
      dropped = compacted;
      keys.push(this.metaPrefix + 'compacted', this.metaPrefix + 'revision');
      values.push(String(dropped), String(rev));
    }
    if (keys.length) {
      const sync = group.some((p) => p.durable);
      let b: ReturnType<Db['batch']> | undefined;
      try {
        b = this.db.batch();
        for (let i = 0; i < keys.length; i++) {
          const v = values[i];
          if (v === undefined) b.del(keys[i]!);
          else b.put(keys[i]!, v);
        }
        this.writes++;
        if (sync) this.syncs++;
        await b.write({ sync } as never);
      } catch (err) {
        this.writeFailed = true;
        await b?.close().catch(() => undefined);
        for (const d of done) d.p.reject(err);
        return;
      }
    }
    for (const [k, v] of overlay) v ? this.revs.set(k, v) : this.revs.delete(k);
    this.rev = rev;
    this.compacted = compacted;
    if (dropped !== this.dropped) this.metaRev = rev;
    this.dropped = dropped;
    for (const d of done) {
      d.p.resolve(d.rev);
      if (d.changes) for (const c of d.changes) this.deliver(c);
    }
  }

  private deliver(c: Change, only?: Watcher): void {
    for (const w of only ? [only] : this.watchers) {
      if (w.closed || w.kind !== c.kind || !c.key.startsWith(w.prefix)) continue;
      // a watcher that throws is its own problem: the others still get the change
      try { w.fn(c); } catch { /* ignored */ }
    }
  }

  /** Replay the kept changes from `from` on, then deliver live ones (see store.ts). */
  private async startWatch(p: PendingWatch): Promise<void> {
    try {
      if (p.from > 0 && p.from <= this.compacted) {
        throw new Gone(`revision ${p.from} is compacted: this store keeps the changes of revisions ${this.compacted + 1} to ${this.rev}; read the current state (range) and watch from its revision + 1`, 'REVISION_COMPACTED');
      }
      if (p.from > 0 && p.from <= this.rev) {
        for await (const [key, text] of this.changes.iterator({ gte: revKey(p.from), lte: revKey(this.rev) })) {
          const revision = Number(key);
          for (const c of JSON.parse(text) as Array<Omit<Change, 'revision'>>) this.deliver({ ...c, revision }, p.w);
        }
      }
    } catch (err) {
      p.reject(err);
      return;
    }
    this.watchers.add(p.w);
    p.resolve({ close: () => { p.w.closed = true; this.watchers.delete(p.w); } });
  }

  async entries<T>(kind: Kind, prefix = ''): Promise<Array<[string, T]>> {
    return (await this.range<T>(kind, prefix)).map((v) => [v.key, v.value]);
  }

  async range<T>(kind: Kind, prefix = ''): Promise<Array<Versioned<T>>> {
    const range = prefix ? { gte: prefix, lt: prefix + '\xff' } : {};
    const out: Array<Versioned<T>> = [];
    // a whole kind read while nothing is written indexes it on the way (start-up's reads)
    const index = !prefix && !this.indexed.has(kind) ? new Map<string, [number, number]>() : undefined;
    const rev = this.rev;
    const pre = this.prefix(kind);
    for await (const [key, text] of this.sub(kind).iterator(range)) {
      index?.set(pre + key, revsOf(text));
      try {
        const h = header(text);
        out.push({ key, value: JSON.parse(text.slice(h.at)) as T, createRevision: h.create, modRevision: h.mod });
      } catch (err) {
        if (!this.unreadable.some((u) => u.kind === kind && u.key === key)) this.unreadable.push({ kind, key, error: (err as Error).message });
      }
    }
    if (index && this.rev === rev && !this.flushing && !this.indexed.has(kind)) {
      for (const [k, v] of index) this.revs.set(k, v);
      this.indexed.add(kind);
    }
    return out;
  }
}

/** LevelDB on disk. Opening fails with LEVEL_LOCKED when another daemon holds the directory. */
export async function openLevelStore(dir: string, opts?: LevelStoreOptions): Promise<LevelStore> {
  const { ClassicLevel } = await import('classic-level');
  const store = new LevelStore(new ClassicLevel<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' }) as unknown as Db, opts);
  await store.open();
  return store;
}

/** An in-memory level, for unit tests. */
export async function openMemoryStore(opts?: LevelStoreOptions): Promise<LevelStore> {
  const { MemoryLevel } = await import('memory-level');
  const store = new LevelStore(new MemoryLevel<string, string>({ keyEncoding: 'utf8', valueEncoding: 'utf8' }) as unknown as Db, opts);
  await store.open();
  return store;
}
