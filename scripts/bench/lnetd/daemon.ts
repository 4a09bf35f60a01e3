// Starts the real daemon (dist/bundle/lnetd.mjs, what npm start runs) inside a host namespace via
// nsenter: only the network namespace changes, so the sandboxes it
// bind-mounts under its netns dir stay visible to us for cleanup.

import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alive, onCleanup, stopPid, unmountUnder } from '../cleanup.js';
import { LnetdClient } from './client.js';
import { DAEMON_NODE_FLAGS } from '../../../daemon/node-flags.js';
import { buildBundle, bundleStale } from '../../bundle.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** LNETD_BENCH_DAEMON points at another build of the daemon, to compare two. */
export const DAEMON_MAIN = process.env.LNETD_BENCH_DAEMON ?? join(REPO_ROOT, 'dist/bundle/lnetd.mjs');

/** Pools big enough for the api stage's 100 networks and the scale stage's
 * 1,000 endpoints on one network. */
const POOL_ARGS = ['--default-address-pools', '10.64.0.0/10:20'];

/** Extra node flags for every daemon the bench starts (--profile sets --cpu-prof). */
export const nodeFlags: string[] = [...DAEMON_NODE_FLAGS];

/** CPU time, ms: user and sys (all threads, also those that ended). */
export interface CpuMs { user: number; sys: number }

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const TICK_MS = 10;

export function cpuSince(a: CpuMs, b: CpuMs): CpuMs {
  return { user: b.user - a.user, sys: b.sys - a.sys };
}

export class Daemon {
  readonly socket: string;
  readonly dockerSocket: string;
  readonly netnsDir: string;
  readonly client: LnetdClient;
  /** The same daemon's Docker Engine API surface (its own socket). */
  readonly docker: LnetdClient;
  private pid = 0;
  private exited: Promise<void> = Promise.resolve();

  constructor(readonly hostNs: string, readonly dir: string, readonly extraArgs: string[] = []) {
    this.socket = join(dir, 'lnetd.sock');
    this.dockerSocket = join(dir, 'docker.sock');
    this.netnsDir = join(dir, 'netns');
    this.client = new LnetdClient(this.socket);
    this.docker = new LnetdClient(this.dockerSocket);
    mkdirSync(dir, { recursive: true });
    onCleanup(`lnetd mounts under ${dir}`, () => unmountUnder(this.netnsDir));
  }

  get processId(): number { return this.pid; }

  /** Spawn and wait until ready(); resolves with seconds from spawn to ready. */
  async start(ready: () => Promise<boolean> = () => this.pinged(), timeoutMs = 30_000): Promise<number> {
    // after `npx tsc` alone the bundle is behind dist/
    if (!process.env.LNETD_BENCH_DAEMON && bundleStale()) await buildBundle();
    const log = openSync(join(this.dir, 'daemon.log'), 'a');
    const args = [`--net=/run/netns/${this.hostNs}`, process.execPath, ...nodeFlags, DAEMON_MAIN,
      '--socket', this.socket, '--docker-socket', this.dockerSocket, '--data-dir', join(this.dir, 'data'), '--netns-dir', this.netnsDir, '--run-dir', join(this.dir, 'run'),
      '--log-level', 'warn', ...POOL_ARGS, ...this.extraArgs];
    const t0 = performance.now();
    const child = spawn('nsenter', args, { cwd: REPO_ROOT, stdio: ['ignore', log, log] });
    closeSync(log);
    const pid = child.pid ?? 0;
    this.pid = pid;
    onCleanup(`lnetd daemon pid ${pid}`, () => stopPid(pid));
    this.exited = new Promise((resolve) => child.on('exit', () => resolve()));
    for (;;) {
      if (!alive(pid)) throw new Error(`lnetd exited during start-up: ${this.logTail()}`);
      if (await ready().catch(() => false)) return (performance.now() - t0) / 1000;
      if (performance.now() - t0 > timeoutMs) throw new Error(`lnetd not ready after ${timeoutMs} ms: ${this.logTail()}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  async pinged(): Promise<boolean> {
    const r = await this.client.request('GET', '/_ping');
    return r.status === 200 && r.body.replace(/"/g, '').trim() === 'OK';
  }

  /** SIGTERM and wait for exit; kernel objects stay (by design), mounts are ours to undo. */
  async stop(): Promise<void> {
    this.client.close();
    this.docker.close();
    if (!this.pid || !alive(this.pid)) return;
    process.kill(this.pid, 'SIGTERM');
    const timer = setTimeout(() => { if (alive(this.pid)) process.kill(this.pid, 'SIGKILL'); }, 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  /** The daemon's CPU time so far (the bench runs node directly under nsenter's exec, so the pid is node's). */
  cpuMs(): CpuMs {
    // fields after the command name: state is 3rd, utime 14th, stime 15th of the whole line
    const f = readFileSync(`/proc/${this.pid}/stat`, 'utf8').split(') ').pop()!.split(' ');
    return { user: Number(f[11]) * TICK_MS, sys: Number(f[12]) * TICK_MS };
  }

  rssMb(): number {
    const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'))?.[1]);
    return kb / 1024;
  }

  async processesStarted(): Promise<number> {
    const s = await this.client.call<{ processes_started: number }>('GET', '/_stats');
    return s.processes_started;
  }

  logTail(): string {
    try { return readFileSync(join(this.dir, 'daemon.log'), 'utf8').slice(-2000).trim(); } catch { return '(no log)'; }
  }
}
