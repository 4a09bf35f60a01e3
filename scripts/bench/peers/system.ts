// Main-side proxy for a peer: a worker process inside the peer's host
// namespace does the execs and the timing; we send it one request at a time.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { onCleanup, stopPid } from '../cleanup.js';
import { createHostNs } from '../netns.js';
import type { ProcCount, System, Timing } from '../system.js';
import type { WorkerReply, WorkerRequest } from '../worker.js';

const WORKER = fileURLToPath(new URL('../worker.js', import.meta.url));

export class PeerSystem implements System {
  private child?: ChildProcess;
  private waiting: ((r: WorkerReply) => void)[] = [];
  hostNs = '';

  constructor(readonly name: string, private readonly tmpDir: string) {}

  async start(): Promise<void> {
    const host = createHostNs(this.name);
    this.hostNs = host;
    const dir = join(this.tmpDir, this.name);
    mkdirSync(dir, { recursive: true });
    const child = spawn('ip', ['netns', 'exec', host, process.execPath, WORKER, this.name, dir, `${host}-c`],
      { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child = child;
    const pid = child.pid ?? 0;
    onCleanup(`${this.name} worker pid ${pid}`, () => stopPid(pid));
    createInterface({ input: child.stdout! }).on('line', (l) => this.waiting.shift()?.(JSON.parse(l) as WorkerReply));
    child.on('exit', (code) => {
      for (const w of this.waiting.splice(0)) w({ ok: false, error: `${this.name} worker exited ${code}` });
    });
    await this.ask({ op: 'setup' });
  }

  private async ask(req: WorkerRequest): Promise<WorkerReply> {
    const reply = await new Promise<WorkerReply>((resolve) => {
      this.waiting.push(resolve);
      this.child!.stdin!.write(JSON.stringify(req) + '\n');
    });
    if (!reply.ok) throw new Error(`${this.name} ${req.op} ${req.i ?? ''}: ${reply.error}`);
    return reply;
  }

  async attach(i: number): Promise<Timing> {
    const r = await this.ask({ op: 'attach', i });
    return { ms: r.ms!, nsMs: r.nsMs!, hostVeth: r.hostVeth };
  }

  async detach(i: number): Promise<Timing> {
    const r = await this.ask({ op: 'detach', i });
    return { ms: r.ms!, nsMs: r.nsMs! };
  }

  async verify(i: number): Promise<string[]> {
    return (await this.ask({ op: 'verify', i })).problems!;
  }

  async processes(i: number): Promise<ProcCount> {
    const r = await this.ask({ op: 'calibrate', i });
    return { perAttach: r.attachProcs!, perDetach: r.detachProcs!, method: r.method!, spawnMs: r.spawnMs! };
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.stdin!.end(JSON.stringify({ op: 'quit' }) + '\n');
    await exited;
  }
}
