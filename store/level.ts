// The Store on abstract-level: classic-level (LevelDB) in the daemon,
// memory-level in unit tests, one implementation for both.
// Values are stored as UTF-8 JSON text and parsed here, so that one record
// that can't be read is reported and set aside instead of failing start-up.

import type { AbstractLevel, AbstractSublevel } from 'abstract-level';
import type { BatchOp, Kind, Store } from './store.js';

type Db = AbstractLevel<string | Buffer | Uint8Array, string, string>;
type Sub = AbstractSublevel<Db, string | Buffer | Uint8Array, string, string>;

const KINDS: Kind[] = ['networks', 'endpoints', 'sandboxes', 'ipam', 'journal', 'events'];

export interface Unreadable { kind: Kind; key: string; error: string }

export class LevelStore implements Store {
  private subs = new Map<Kind, Sub>();
  /** Records that could not be parsed on the last `entries` call, for logging. */
  readonly unreadable: Unreadable[] = [];

  constructor(private readonly db: Db) {
    for (const kind of KINDS) {
      this.subs.set(kind, db.sublevel<string, string>(kind, { keyEncoding: 'utf8', valueEncoding: 'utf8' }) as unknown as Sub);
    }
  }

  private sub(kind: Kind): Sub {
    const s = this.subs.get(kind);
    if (!s) throw new Error(`unknown store kind ${kind}`);
    return s;
  }

  async open(): Promise<void> {
    await this.db.open();
    // a sublevel closes with its parent and stays closed when the parent reopens
    for (const sub of this.subs.values()) await sub.open();
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  async get<T>(kind: Kind, key: string): Promise<T | undefined> {
    const text = await this.sub(kind).get(key);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  async put(kind: Kind, key: string, value: unknown): Promise<void> {
    await this.sub(kind).put(key, JSON.stringify(value));
  }

  async del(kind: Kind, key: string): Promise<void> {
    await this.sub(kind).del(key);
  }

  async batch(ops: BatchOp[]): Promise<void> {
    if (ops.length === 0) return;
    // One batch on the root database spans every sublevel: all or nothing.
    const chained = this.db.batch();
    for (const op of ops) {
      const sublevel = this.sub(op.kind);
      if (op.type === 'put') chained.put(op.key, JSON.stringify(op.value), { sublevel } as never);
      else chained.del(op.key, { sublevel } as never);
    }
    await chained.write();
  }

  async entries<T>(kind: Kind, prefix = ''): Promise<Array<[string, T]>> {
    const range = prefix ? { gte: prefix, lt: prefix + '\xff' } : {};
    const out: Array<[string, T]> = [];
    for await (const [key, text] of this.sub(kind).iterator(range)) {
      try {
        out.push([key, JSON.parse(text) as T]);
      } catch (err) {
        if (!this.unreadable.some((u) => u.kind === kind && u.key === key)) this.unreadable.push({ kind, key, error: (err as Error).message });
      }
    }
    return out;
  }
}

/** LevelDB on disk. Opening fails with LEVEL_LOCKED when another daemon holds the directory. */
export async function openLevelStore(dir: string): Promise<LevelStore> {
  const { ClassicLevel } = await import('classic-level');
  const store = new LevelStore(new ClassicLevel<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' }) as unknown as Db);
  await store.open();
  return store;
}

/** An in-memory level, for unit tests. */
export async function openMemoryStore(): Promise<LevelStore> {
  const { MemoryLevel } = await import('memory-level');
  const store = new LevelStore(new MemoryLevel<string, string>({ keyEncoding: 'utf8', valueEncoding: 'utf8' }) as unknown as Db);
  await store.open();
  return store;
}
