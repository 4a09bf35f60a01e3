// One floor process (native/floor.c, `floor run`): the kernel work of an
// attach and a detach and nothing else, timed by its own clock. Driven over
// its stdin/stdout, one request at a time, like the other systems.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { onCleanup, stopPid } from '../cleanup.js';
import { REPO_ROOT } from '../lnetd/daemon.js';

export const FLOOR_BIN = join(REPO_ROOT, 'native/build/floor');

/** Where an attach's time went, by the floor's own clock (ms). */
export interface FloorAttach { ms: number; nsMs: number; vethMs: number; insideMs: number }

export class FloorProcess {
  private readonly child: ChildProcess;
  private readonly waiting: ((line: string) => void)[] = [];

  /** hostNs: the namespace with the bridge; netnsDir: a tmpfs for the namespace files. */
  constructor(hostNs: string, netnsDir: string, bridge: string, prefix16: string) {
    this.child = spawn('nsenter', [`--net=/run/netns/${hostNs}`, FLOOR_BIN, 'run', netnsDir, bridge, prefix16],
      { stdio: ['pipe', 'pipe', 'inherit'] });
    const pid = this.child.pid ?? 0;
    onCleanup(`floor pid ${pid}`, () => stopPid(pid));
    createInterface({ input: this.child.stdout! }).on('line', (l) => this.waiting.shift()?.(l));
    this.child.on('exit', (code) => { for (const w of this.waiting.splice(0)) w(`err floor exited ${code}`); });
  }

  private ask(req: string): Promise<number[]> {
    return new Promise((resolve, reject) => {
      this.waiting.push((line) => {
        const [status, ...rest] = line.split(' ');
        if (status === 'ok') resolve(rest.map(Number));
        else reject(new Error(`floor ${req}: ${rest.join(' ')}`));
      });
      this.child.stdin!.write(req + '\n');
    });
  }

  async attach(i: number): Promise<FloorAttach> {
    const [ms, nsMs, vethMs, insideMs] = await this.ask(`attach ${i}`);
    return { ms: ms!, nsMs: nsMs!, vethMs: vethMs!, insideMs: insideMs! };
  }

  async detach(i: number): Promise<number> {
    return (await this.ask(`detach ${i}`))[0]!;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin!.end('quit\n');
    await exited;
  }
}
