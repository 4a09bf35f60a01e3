// Keyed async locks, each exclusive or shared. An operation takes every key it
// needs at once, in sorted order, so two operations can never wait on each
// other in a cycle. A shared key is held by any number of operations at once
// and by no exclusive holder: a join holds its network shared (and its
// endpoint exclusive), so joins on one network overlap their kernel round
// trips and store writes, while deleting the network (exclusive) waits for
// all of them. Waiters are served in arrival order: an exclusive waiter is
// not starved by a stream of shared ones.

interface Waiter { shared: boolean; grant: () => void }
interface Slot { readers: number; writer: boolean; queue: Waiter[] }

export class Locks {
  private slots = new Map<string, Slot>();

  /** Run fn holding `keys` exclusive and `shared` shared (a key in both is exclusive). */
  async with<T>(keys: string[], fn: () => Promise<T>, shared: string[] = []): Promise<T> {
    const excl = new Set(keys);
    const sorted = [...new Set([...keys, ...shared])].sort();
    const releases: Array<() => void> = [];
    try {
      for (const key of sorted) {
        const wait = this.acquire(key, !excl.has(key));
        if (wait) await wait;
        releases.push(() => this.release(key, !excl.has(key)));
      }
      return await fn();
    } finally {
      for (const release of releases.reverse()) release();
    }
  }

  /** Takes the key now (undefined) or returns what resolves once it is ours. */
  private acquire(key: string, shared: boolean): Promise<void> | undefined {
    let s = this.slots.get(key);
    if (!s) this.slots.set(key, (s = { readers: 0, writer: false, queue: [] }));
    if (s.queue.length === 0 && !s.writer && (shared || s.readers === 0)) {
      if (shared) s.readers++;
      else s.writer = true;
      return undefined;
    }
    return new Promise<void>((grant) => s.queue.push({ shared, grant }));
  }

  private release(key: string, shared: boolean): void {
    const s = this.slots.get(key)!;
    if (shared) s.readers--;
    else s.writer = false;
    // hand on in arrival order: one exclusive waiter, or every shared one up to the next exclusive
    while (s.queue.length && !s.writer) {
      const head = s.queue[0]!;
      if (!head.shared && s.readers > 0) break;
      s.queue.shift();
      if (head.shared) s.readers++;
      else s.writer = true;
      head.grant();
    }
    // drop the entry when nobody holds or waits, so the map doesn't grow
    if (!s.writer && s.readers === 0 && s.queue.length === 0) this.slots.delete(key);
  }
}
