// The store interface: small on purpose, so that a global-scope store (etcd)
// can sit beside LevelDB later. Values are JSON.

export type Kind = 'networks' | 'endpoints' | 'sandboxes' | 'ipam' | 'journal' | 'events';

export interface BatchOp {
  type: 'put' | 'del';
  kind: Kind;
  key: string;
  value?: unknown;
}

export interface Store {
  open(): Promise<void>;
  close(): Promise<void>;
  get<T>(kind: Kind, key: string): Promise<T | undefined>;
  put(kind: Kind, key: string, value: unknown): Promise<void>;
  del(kind: Kind, key: string): Promise<void>;
  /** All operations commit together or not at all. */
  batch(ops: BatchOp[]): Promise<void>;
  /** Every [key, value] of a kind whose key starts with prefix. Unreadable values are reported, not thrown. */
  entries<T>(kind: Kind, prefix?: string): Promise<Array<[string, T]>>;
}
