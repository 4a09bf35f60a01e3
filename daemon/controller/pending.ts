// What endpoint creates have picked but not yet committed: names and
// addresses per network. A plain create picks its name and addresses holding
// its network's allocation lock, puts them here, lets the lock go and then
// waits for its commit (an fsync); the next create picks around what is
// here, so creates on one network share their store syncs instead of taking
// turns through them. The index (State) takes over at the commit; the create
// drops its hold right after, whether it committed or failed.

export class Pending {
  private readonly names = new Map<string, Map<string, number>>();
  private readonly addrs = new Map<string, Map<string, number>>();

  hasName(networkId: string, name: string): boolean {
    return this.names.get(networkId)?.has(name) ?? false;
  }

  hasAddress(networkId: string, addr: string): boolean {
    return this.addrs.get(networkId)?.has(addr) ?? false;
  }

  /** Hold a name and canonical addresses (no prefix) of a network; returns the release. */
  hold(networkId: string, name: string, addrs: string[]): () => void {
    const add = (m: Map<string, Map<string, number>>, k: string) => {
      let per = m.get(networkId);
      if (!per) m.set(networkId, (per = new Map()));
      per.set(k, (per.get(k) ?? 0) + 1);
    };
    const drop = (m: Map<string, Map<string, number>>, k: string) => {
      const per = m.get(networkId);
      const n = (per?.get(k) ?? 0) - 1;
      if (n > 0) per!.set(k, n);
      else per?.delete(k);
      if (per && per.size === 0) m.delete(networkId);
    };
    add(this.names, name);
    for (const a of addrs) add(this.addrs, a);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      drop(this.names, name);
      for (const a of addrs) drop(this.addrs, a);
    };
  }

  get size(): number {
    return this.names.size + this.addrs.size;
  }
}
