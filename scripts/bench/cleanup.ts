// Everything the bench creates is registered here the moment it exists, and
// undone in reverse order on normal exit, on error and on SIGINT/SIGTERM/SIGHUP.
// Actions are synchronous so they also run from an 'exit' handler.

import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tryRun } from './proc.js';

/** Tags every name this run makes, so cleanup never touches another run's. */
export const RUN_ID = randomBytes(3).toString('hex');
export const PREFIX = 'lnetd-bench-';
const NETNS_DIR = '/run/netns';

type Action = { what: string; fn: () => void };
const actions: Action[] = [];
let done = false;

export function onCleanup(what: string, fn: () => void): void {
  actions.push({ what, fn });
}

export function cleanupAll(): void {
  if (done) return;
  done = true;
  for (const a of actions.reverse()) {
    try { a.fn(); } catch (e) { process.stderr.write(`bench cleanup: ${a.what}: ${String(e)}\n`); }
  }
  sweepRun();
}

export function installSignalHandlers(): void {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`bench: ${sig}, cleaning up\n`);
      cleanupAll();
      process.exit(130);
    });
  }
  process.on('exit', cleanupAll);
}

export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Delete a named namespace; if `ip` fails (e.g. the mount lived in a mount
 * namespace that is gone), lazily unmount and remove the file ourselves. */
export function deleteNetns(name: string): void {
  const path = `${NETNS_DIR}/${name}`;
  if (!existsSync(path)) return;
  if (tryRun('ip', ['netns', 'del', name]).code === 0 && !existsSync(path)) return;
  tryRun('umount', ['-l', path]);
  rmSync(path, { force: true });
}

/** Names in /run/netns that belong to this run. */
export function runNamespaces(): string[] {
  if (!existsSync(NETNS_DIR)) return [];
  return readdirSync(NETNS_DIR).filter((n) => n.startsWith(PREFIX) && n.includes(`-${RUN_ID}`));
}

/** Last line of defence: whatever namespace of this run is still there. */
export function sweepRun(): void {
  for (const n of runNamespaces()) deleteNetns(n);
}

/** Mount points at or below dir, deepest first (mountinfo escapes spaces as \040). */
export function mountsUnder(dir: string): string[] {
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const points = lines.map((l) => l.split(' ')[4] ?? '')
    .map((p) => p.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(dir + '/'));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

export function unmountUnder(dir: string): void {
  for (const p of mountsUnder(dir)) tryRun('umount', ['-l', p]);
}

/** Stop a child we started: SIGTERM, then SIGKILL if it lingers. By pid only. */
export function stopPid(pid: number, graceMs = 3000): void {
  if (!alive(pid)) return;
  try { process.kill(pid, 'SIGTERM'); } catch { return; }
  for (let waited = 0; waited < graceMs && alive(pid); waited += 20) sleepSync(20);
  if (alive(pid)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
}

/** Alive and not a zombie (a zombie we haven't reaped still answers kill 0). */
export function alive(pid: number): boolean {
  try { process.kill(pid, 0); } catch { return false; }
  try { return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8')); } catch { return false; }
}
