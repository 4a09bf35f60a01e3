// The store contract: small on purpose, and shaped after etcd v3's so that a
// cluster store (etcd, for global-scope records) can sit behind it beside
// LevelDB. Values are JSON. How the parts map onto etcd:
//
// - revision: one store-wide counter that every successful batch moves on by
//   one (etcd's header revision; a batch is one etcd txn). A fresh store is at
//   revision 1, as etcd is; each key carries its create revision and its mod
//   revision (etcd's create_revision / mod_revision), read with `read`/`range`.
// - compare-and-swap: an op in a batch may carry `ifRevision`: the write
//   happens only if the key's mod revision is exactly that, 0 meaning "the key
//   is absent" (etcd's Compare(ModRevision(key), "=", r) in a txn's if-list).
//   A batch whose condition fails writes nothing and rejects with Conflict
//   REVISION_MISMATCH naming the key (etcd: the txn's succeeded is false).
// - watch(kind, prefix, fromRevision): every change to matching keys, in
//   revision order, exactly once, starting at fromRevision (etcd's watch with
//   start_revision); 0 or undefined means "from the next change". Past
//   changes are kept for a bounded number of revisions; asking for a
//   revision older than that rejects with Gone REVISION_COMPACTED (etcd's
//   ErrCompacted), naming the oldest revision still kept.
// - leases (a key that disappears when its owner stops renewing it) come with
//   the etcd store, for liveness of multi-host records; LevelDB needs none.
//
// Writes are durable when they resolve (LevelDB: synced to disk), except a
// batch written with { durable: false }, which survives a crash of lnetd but
// not of the machine (see BatchOptions).

export type Kind = 'networks' | 'endpoints' | 'sandboxes' | 'ipam' | 'journal' | 'events';

export interface BatchOp {
  type: 'put' | 'del';
  kind: Kind;
  key: string;
  value?: unknown;
  /** Compare-and-swap: write only if the key's mod revision is this (0: only if absent). */
  ifRevision?: number;
}

export interface BatchOptions {
  /** false: the batch need not reach the disk before it resolves (LevelDB
   *  without fsync: it is in the OS's page cache, so it survives a kill of
   *  lnetd but not a power cut). Only for what is worthless after a reboot
   *  anyway, such as a journal intent guarding kernel objects that do not
   *  survive one. Default true. */
  durable?: boolean;
}

/** A value with its revisions (etcd's KeyValue). */
export interface Versioned<T> {
  key: string;
  value: T;
  createRevision: number;  // the revision that created the key (since its last delete)
  modRevision: number;     // the revision of its last put
}

/** One change a watch delivers (etcd's Event: PUT or DELETE with its kv). */
export interface Change {
  type: 'put' | 'del';
  kind: Kind;
  key: string;
  value?: unknown;         // put only
  revision: number;        // the revision of the batch that made the change
}

export interface Watch {
  /** Stop delivering. */
  close(): void;
}

export interface Store {
  open(): Promise<void>;
  close(): Promise<void>;
  get<T>(kind: Kind, key: string): Promise<T | undefined>;
  /** The value with its create and mod revision, or undefined when absent. */
  read<T>(kind: Kind, key: string): Promise<Versioned<T> | undefined>;
  put(kind: Kind, key: string, value: unknown, opts?: BatchOptions): Promise<void>;
  del(kind: Kind, key: string, opts?: BatchOptions): Promise<void>;
  /** All operations commit together, under one new revision, or not at all;
   *  resolves with that revision. A failed ifRevision writes nothing
   *  (Conflict REVISION_MISMATCH). */
  batch(ops: BatchOp[], opts?: BatchOptions): Promise<number>;
  /** Every [key, value] of a kind whose key starts with prefix. Unreadable values are reported, not thrown. */
  entries<T>(kind: Kind, prefix?: string): Promise<Array<[string, T]>>;
  /** As entries, with each key's revisions (etcd's range). */
  range<T>(kind: Kind, prefix?: string): Promise<Array<Versioned<T>>>;
  /** The store's current revision (that of the last successful batch). */
  revision(): number;
  /** Deliver every change of kind under prefix from fromRevision on (see above). */
  watch(kind: Kind, prefix: string, fromRevision: number | undefined, fn: (c: Change) => void): Promise<Watch>;
}
