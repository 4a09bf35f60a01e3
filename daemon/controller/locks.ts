// Keyed async locks. An operation takes every key it needs at once, in sorted
// order, so two operations can never wait on each other in a cycle.

export class Locks {
  private tails = new Map<string, Promise<void>>();

  async with<T>(keys: string[], fn: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const releases: Array<() => void> = [];
    for (const key of sorted) releases.push(await this.acquire(key));
    try {
      return await fn();
    } finally {
      for (const release of releases.reverse()) release();
    }
  }

  private async acquire(key: string): Promise<() => void> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => { release = resolve; });
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    await prev;
    return () => {
      release();
      // Drop the entry when nobody queued behind us, so the map doesn't grow.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }
}
