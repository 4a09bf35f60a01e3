// Who this daemon is, and the one-instance-per-network-namespace rule.
//
// Instance identity: a random id kept in the data dir (`lnetd-instance`),
// so it survives restarts and belongs to the records it explains. lnetd marks
// the kernel objects it makes with it, and reconcile sweeps only what carries
// it (a second daemon with another data dir never touches the first's).
//
// The namespace lock: `<run dir>/netns-<inode>.lock`, keyed by the inode of
// the network namespace the daemon serves, held with flock for the life of the
// process (the kernel drops it when the process dies, even by kill -9). It is
// taken before the daemon changes anything in the kernel, so a second lnetd in
// the same namespace stops before it can reconcile away the first's objects;
// the file says who holds it (pid, data dir, socket) for the refusal message.

import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { tryLock } from '../drivers/linux/native.js';

/** A start-up failure that is the operator's to fix: printed as one line, exit 1. */
export class StartupError extends Error {
  override name = 'StartupError';
}

/** The inode of the network namespace of the calling (main) thread. */
export function netnsInode(): number {
  return statSync('/proc/thread-self/ns/net').ino;
}

export interface LockHolder { pid: number; data_dir: string; socket: string; instance?: string; started: string }

/** Take the namespace lock or throw a StartupError naming the holder. The fd stays open (and locked) until the process exits. */
export function takeNetnsLock(runDir: string, me: Omit<LockHolder, 'pid' | 'started'>): { path: string; fd: number } {
  mkdirSync(runDir, { recursive: true, mode: 0o755 });
  const path = join(runDir, `netns-${netnsInode()}.lock`);
  // O_NOFOLLOW: a symlink planted at the lock's name is refused, never followed
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
  if (!tryLock(fd)) {
    const holder = readHolder(fd);
    closeSync(fd);
    const who = holder ? `pid ${holder.pid}, data dir ${holder.data_dir}, socket ${holder.socket}` : 'a process that left no details';
    throw new StartupError(`another lnetd already serves this network namespace (${who}; lock ${path}): stop it first; two daemons in one namespace would remove each other's bridges and rules`);
  }
  const info: LockHolder = { pid: process.pid, ...me, started: new Date().toISOString() };
  ftruncateSync(fd, 0);
  writeSync(fd, JSON.stringify(info) + '\n', 0);
  return { path, fd };
}

function readHolder(fd: number): LockHolder | undefined {
  try {
    const buf = Buffer.alloc(Math.min(fstatSync(fd).size, 4096));
    readSync(fd, buf, 0, buf.length, 0);
    return JSON.parse(buf.toString()) as LockHolder;
  } catch {
    return undefined;
  }
}

const ID_FILE = 'lnetd-instance';
const ID_RE = /^[0-9a-f]{16}$/;

/** The instance id kept in the data dir; made on first start. */
export function instanceId(dataDir: string): string {
  const file = join(dataDir, ID_FILE);
  try {
    const id = readFileSync(file, 'utf8').trim();
    if (ID_RE.test(id)) return id;
    throw new StartupError(`${file} does not hold an lnetd instance id (16 hex digits): restore it or remove it to start as a new instance`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const id = randomBytes(8).toString('hex');
  writeFileSync(file, id + '\n', { flag: 'wx', mode: 0o600 });
  return id;
}

/** The mount namespace compared with PID 1's: a private one (ip netns exec,
 *  PrivateMounts=, PrivateTmp=) hides every sandbox mount from the runtimes,
 *  and the mounts vanish when the daemon exits. The namespace links of PID 1
 *  may be unreadable (no ptrace access, as in some containers); then the id of
 *  the root mount tells, since a new mount namespace copies every mount under
 *  a new id. */
export function privateMountNs(proc = '/proc'): { ours: string; init: string } | undefined {
  let ours = nsLink(`${proc}/self`);
  let init = nsLink(`${proc}/1`);
  if (!ours || !init) {
    ours = rootMount(`${proc}/self`);
    init = rootMount(`${proc}/1`);
  }
  return ours && init && ours !== init ? { ours, init } : undefined;
}

function nsLink(pidDir: string): string | undefined {
  try {
    return `mnt:[${statSync(`${pidDir}/ns/mnt`).ino}]`;
  } catch {
    return undefined;
  }
}

/** The root mount is the first line of mountinfo: read its head only (with
 *  1,000 sandboxes, each a bind mount, the whole file is ~200 KB, twice, at
 *  every start), the whole file only when the head does not hold it. */
function rootMount(pidDir: string): string | undefined {
  const find = (text: string) => text.split('\n').find((l) => l.split(' ')[4] === '/');
  try {
    const fd = openSync(`${pidDir}/mountinfo`, 'r');
    let head: string;
    try {
      const buf = Buffer.alloc(16384);
      head = buf.toString('utf8', 0, readSync(fd, buf, 0, buf.length, null));
    } finally {
      closeSync(fd);
    }
    // a line cut off at the end of the head is not taken
    const root = find(head.slice(0, head.lastIndexOf('\n') + 1)) ?? find(readFileSync(`${pidDir}/mountinfo`, 'utf8'));
    return root ? `root mount id ${root.split(' ')[0]}` : undefined;
  } catch {
    return undefined;
  }
}
