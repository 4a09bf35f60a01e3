// Kernel-test helper: run a test inside a throwaway "host" network namespace
// so nothing it does can reach the real host's links, routes or rules.
// withHostNs() makes `lnetd-test-<random>` (no default route out), moves this
// process's main thread into it with the addon's setns (a NetlinkKernel made
// afterwards takes it as its own), and hands out a tmp dir for sandbox netns
// paths. Cleanup runs on t.teardown and on process exit/SIGINT/SIGTERM, also
// after a failure, and removes every namespace, mount, process and dir it made.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setns, unmount } from '../../drivers/linux/native.js';

export interface ExecResult { stdout: string; stderr: string; code: number | null }

export interface HostNs {
  name: string;             // ip netns name
  path: string;             // /run/netns/<name>
  dir: string;              // tmp dir for sandbox netns paths; anything mounted there is removed
  /** A fresh path in dir for a sandbox namespace. */
  nsPath(label: string): string;
  /** argv run inside the throwaway host namespace (ip -j …). */
  exec(argv: string[]): Promise<ExecResult>;
  /** `ip -j <args>` in the host namespace, parsed. */
  ipJson<T = unknown>(args: string[], ns?: string): Promise<T>;
  /** A long-running process in a namespace (servers); killed by pid at cleanup. */
  spawnIn(nsPath: string, argv: string[]): ChildProcess;
}

interface Teardown { teardown(fn: () => unknown): void }

/** Run argv inside the network namespace at nsPath (nsenter, never a shell). Never rejects. */
export function nsExec(nsPath: string, argv: string[], timeoutMs = 20_000): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = spawn('nsenter', [`--net=${nsPath}`, '--', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.pid && process.kill(child.pid, 'SIGKILL'), timeoutMs);
    const done = (code: number | null, extra = ''): void => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() + extra, code });
    };
    child.on('error', (e) => done(-1, String(e)));
    child.on('close', (code) => done(code));
  });
}

/** `ip -j <args>` inside nsPath, parsed; throws with ip's stderr on failure. */
export async function ipJson<T = unknown>(nsPath: string, args: string[]): Promise<T> {
  const r = await nsExec(nsPath, ['ip', '-j', ...args]);
  if (r.code !== 0) throw new Error(`ip -j ${args.join(' ')} in ${nsPath} failed: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout || '[]') as T;
}

function tryRun(errors: unknown[], fn: () => void): void {
  try { fn(); } catch (e) { errors.push(e); }
}

export function withHostNs(t: Teardown): HostNs {
  const name = `lnetd-test-${randomBytes(5).toString('hex')}`;
  const path = `/run/netns/${name}`;
  const children = new Set<ChildProcess>();
  const origFd = openSync('/proc/thread-self/ns/net', 'r');
  let dir = '';
  let cleaned = false;

  const cleanup = (): void => {
    if (cleaned) return;
    cleaned = true;
    const errors: unknown[] = [];
    for (const c of children) tryRun(errors, () => { if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGKILL'); });
    tryRun(errors, () => setns(origFd));
    tryRun(errors, () => closeSync(origFd));
    if (dir && existsSync(dir)) {
      for (const f of readdirSync(dir)) {
        const p = join(dir, f);
        try { unmount(p); } catch { /* not a mount */ }
        tryRun(errors, () => unlinkSync(p));
      }
      tryRun(errors, () => rmSync(dir, { recursive: true, force: true }));
    }
    // deleting the namespace reaps every bridge and veth the test left in it
    if (existsSync(path)) tryRun(errors, () => execFileSync('ip', ['netns', 'delete', name], { stdio: 'pipe' }));
    if (errors.length) process.stderr.write(`withHostNs cleanup of ${name}: ${errors.map(String).join('; ')}\n`);
  };
  const onSignal = (sig: NodeJS.Signals): void => { cleanup(); process.exit(sig === 'SIGINT' ? 130 : 143); };
  process.once('exit', cleanup);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  t.teardown(() => {
    cleanup();
    process.off('exit', cleanup);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  });

  try {
    execFileSync('ip', ['netns', 'add', name], { stdio: 'pipe' });
    execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up'], { stdio: 'pipe' });
    dir = mkdtempSync('/tmp/lnetd-test-');
    const fd = openSync(path, 'r');
    try { setns(fd); } finally { closeSync(fd); }
  } catch (err) {
    cleanup();
    throw err;
  }

  let n = 0;
  return {
    name, path, dir,
    nsPath: (label) => join(dir, `${label}-${++n}`),
    exec: (argv) => nsExec(path, argv),
    ipJson: <T>(args: string[], ns?: string) => ipJson<T>(ns ?? path, args),
    spawnIn(nsPath, argv) {
      const child = spawn('nsenter', [`--net=${nsPath}`, '--', ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
      children.add(child);
      child.on('exit', () => children.delete(child));
      return child;
    },
  };
}
