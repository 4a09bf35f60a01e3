// Fail closed: after any write error the store takes no more writes until it
// has been reopened cleanly. LevelDB that failed to append to its log (a full
// disk) may have left a torn record there; later writes it accepts land after
// the tear and are dropped at the next open ("checksum mismatch"), so a write
// acknowledged after the first error is not durable. Reopening replays the
// log up to the tear and starts a new one; only then are writes taken again.

import { LnetdError, Unavailable } from '../errors/index.js';
import type { BatchOp, BatchOptions, Change, Kind, Store, Versioned, Watch } from './store.js';

export interface StoreHealth {
  ok: boolean;
  error?: string;          // the write error that failed the store
  since?: string;          // ISO time of that error
  reopen_attempts: number; // reopen attempts since it failed
  reopened: number;        // clean reopens since start
  revision: number;        // the store's revision (store.ts): moves on with every write, survives restarts
}

export class FailClosedStore implements Store {
  private failure?: { error: string; since: string };
  private attempts = 0;
  private reopens = 0;
  /** Called once per failure (the first write error after a clean state). */
  onFail?: (err: unknown) => void;

  constructor(readonly inner: Store) {}

  /** Records the inner store could not read (LevelStore), for reconcile and /_stats. */
  get unreadable(): Array<{ kind: Kind; key: string; error: string }> {
    return (this.inner as { unreadable?: Array<{ kind: Kind; key: string; error: string }> }).unreadable ?? [];
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  health(): StoreHealth {
    return { ok: !this.failure, ...this.failure, reopen_attempts: this.attempts, reopened: this.reopens, revision: this.inner.revision() };
  }

  /** One line for /_ping and the log; undefined while healthy. */
  problem(): string | undefined {
    const f = this.failure;
    return f && `store failed at ${f.since} (${f.error}): writes are refused until it is reopened cleanly`;
  }

  private async write<T>(fn: () => Promise<T>): Promise<T> {
    if (this.failure) throw new Unavailable(this.problem()!, 'STORE_UNAVAILABLE');
    try {
      return await fn();
    } catch (err) {
      // a lost compare-and-swap (or a value that can't be stored) wrote nothing: not a store failure
      if (err instanceof LnetdError || err instanceof TypeError) throw err;
      const e = err as NodeJS.ErrnoException & { cause?: { message?: string } };
      const error = [e?.code, e?.message, e?.cause?.message].filter(Boolean).join(': ') || String(err);
      this.failure = { error, since: new Date().toISOString() };
      this.attempts = 0;
      this.onFail?.(err);
      throw new Unavailable(this.problem()!, 'STORE_UNAVAILABLE');
    }
  }

  open(): Promise<void> { return this.inner.open(); }
  close(): Promise<void> { return this.inner.close(); }
  get<T>(kind: Kind, key: string): Promise<T | undefined> { return this.inner.get<T>(kind, key); }
  entries<T>(kind: Kind, prefix?: string): Promise<Array<[string, T]>> { return this.inner.entries<T>(kind, prefix); }
  read<T>(kind: Kind, key: string): Promise<Versioned<T> | undefined> { return this.inner.read<T>(kind, key); }
  range<T>(kind: Kind, prefix?: string): Promise<Array<Versioned<T>>> { return this.inner.range<T>(kind, prefix); }
  revision(): number { return this.inner.revision(); }
  watch(kind: Kind, prefix: string, from: number | undefined, fn: (c: Change) => void): Promise<Watch> { return this.inner.watch(kind, prefix, from, fn); }
  put(kind: Kind, key: string, value: unknown, opts?: BatchOptions): Promise<void> { return this.write(() => this.inner.put(kind, key, value, opts)); }
  del(kind: Kind, key: string, opts?: BatchOptions): Promise<void> { return this.write(() => this.inner.del(kind, key, opts)); }
  batch(ops: BatchOp[], opts?: BatchOptions): Promise<number> { return this.write(() => this.inner.batch(ops, opts)); }

  /** Close and open the inner store; writes are taken again only if that works.
   *  The caller holds every lock, so nothing writes meanwhile. */
  async reopen(): Promise<void> {
    this.attempts++;
    await this.inner.close().catch(() => undefined);
    await this.inner.open();
    this.failure = undefined;
    this.reopens++;
  }
}
