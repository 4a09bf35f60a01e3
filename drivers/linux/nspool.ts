// A few network namespaces made ahead of time. Making one costs ~0.6 ms of
// kernel time in unshare(); on the join path that is time a container waits,
// made ahead it runs on a libuv pool thread beside the main thread. A join
// takes a ready namespace (an open fd) and only bind-mounts it; an empty pool
// falls back to making one in line. Pooled namespaces are only fds: if the
// daemon dies they die with it, leaving nothing to clean up.

import { closeSync } from 'node:fs';
import { makeNetns } from './native.js';

export class NetnsPool {
  private readonly ready: number[] = [];
  private filling = 0;
  private closed = false;

  constructor(private readonly size = 4, private readonly onError: (msg: string) => void = () => undefined) {}

  /** A ready namespace fd (the caller owns it), or undefined when none is
   *  ready. Refilling is the owner's call (refill()): making a namespace takes
   *  the kernel's RTNL lock, so it had better not run beside the veth of the
   *  join that just took one. */
  take(): number | undefined {
    return this.ready.shift();
  }

  /** None ready: the caller makes its own (on a pool thread too). */
  get empty(): boolean {
    return this.ready.length === 0;
  }

  /** Fewer than half ready: refill now, whatever else is running. */
  get low(): boolean {
    return this.ready.length + this.filling < this.size / 2;
  }

  /** Keep size namespaces ready or on their way; one at a time, so the pool never takes every pool thread. */
  refill(): void {
    if (this.closed || this.filling || this.ready.length >= this.size) return;
    this.filling++;
    makeNetns().then(
      (fd) => {
        this.filling--;
        if (this.closed) closeSync(fd);
        else { this.ready.push(fd); this.refill(); }
      },
      (err: Error) => {
        this.filling--;
        this.onError(err.message);  // don't spin on a failing kernel: the next take() asks again
      },
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const fd of this.ready.splice(0)) closeSync(fd);
  }
}
