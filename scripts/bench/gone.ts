// When a detached container's host veth is really gone, for every system
// alike: `floor watch` (native/floor.c) in the system's host namespace
// prints each RTM_DELLINK with the CLOCK_MONOTONIC time the kernel's
// notification arrived; process.hrtime is the same clock. lnetd (and the
// floor) leave the veth to the kernel, which deletes it when it reaps the
// namespace; the peers delete it before they answer. Either way the time to
// "gone" is measured from the moment the detach was asked for.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { onCleanup, stopPid } from './cleanup.js';
import { FLOOR_BIN } from './floor/process.js';

export class GoneWatcher {
  private readonly child: ChildProcess;
  private readonly deleted = new Map<string, bigint>();
  private readonly waiters = new Map<string, (ns: bigint) => void>();
  private readonly ready: Promise<void>;
  overruns = 0;

  constructor(hostNs: string) {
    this.child = spawn('nsenter', [`--net=/run/netns/${hostNs}`, FLOOR_BIN, 'watch'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const pid = this.child.pid ?? 0;
    onCleanup(`gone watcher pid ${pid}`, () => stopPid(pid));
    let started: () => void = () => undefined;
    this.ready = new Promise((r) => { started = r; });
    createInterface({ input: this.child.stdout! }).on('line', (l) => {
      const [what, name, ns] = l.split(' ');
      if (what === 'ready') started();
      else if (what === 'overrun') this.overruns++;
      else if (what === 'del' && name && ns && !this.deleted.has(name)) {
        const at = BigInt(ns);
        this.deleted.set(name, at);
        this.waiters.get(name)?.(at);
      }
    });
  }

  start(): Promise<void> { return this.ready; }

  /** ms from t0 (process.hrtime.bigint()) until link `name` was deleted; NaN after timeoutMs. */
  async goneAfter(name: string, t0: bigint, timeoutMs = 10_000): Promise<number> {
    const ms = (at: bigint): number => Number(at - t0) / 1e6;
    const have = this.deleted.get(name);
    if (have !== undefined) { this.deleted.delete(name); return ms(have); }
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.waiters.delete(name); resolve(NaN); }, timeoutMs);
      this.waiters.set(name, (at) => {
        clearTimeout(timer);
        this.waiters.delete(name);
        this.deleted.delete(name);
        resolve(ms(at));
      });
    });
  }

  stop(): void {
    stopPid(this.child.pid ?? 0);
  }
}
