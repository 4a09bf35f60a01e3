// Typed access to our nsutil addon (native/nsutil.c): the namespace syscalls
// Node has no binding for. Every call is synchronous on the calling thread;
// setns() moves only that thread, which is why callers must not await between
// entering a namespace and leaving it.

import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { closeSync, constants as fsc, existsSync, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync, statfsSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface NsUtil {
  unshareNet(): void;
  setns(fd: number): void;
  bindMount(src: string, dst: string): void;
  unmount(path: string): void;
  unmountNoFollow(path: string): void;
  openDirNoSymlinks(path: string): number;
  mountTmpfs(path: string): void;
  makeNetns(): Promise<number>;
  tryLock(fd: number): boolean;
  rtnlBatches(parts: Array<[number, Buffer, number, boolean]>): Promise<Array<Array<[number, number]>>>;
  bindPort(family: number, proto: number, addr: string, port: number): number;
}

const ADDON = join('native', 'build', 'Release', 'nsutil.node');

/** The repo root: the first ancestor holding the built addon, so this works from
 *  drivers/linux/ (sources run directly) and from dist/drivers/linux/ alike. */
function addonPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, ADDON);
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) throw new Error(`nsutil addon not found above ${fileURLToPath(import.meta.url)}: run scripts/build.sh`);
    dir = up;
  }
}

let loaded: NsUtil | undefined;
function addon(): NsUtil {
  loaded ??= createRequire(import.meta.url)(addonPath()) as NsUtil;
  return loaded;
}

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([k, v]) => [v, k]));
// Linux errnos Node's table lacks that the kernel answers us: a bridge refuses
// its 1,024th port with EXFULL (port numbers are 10 bits, and 0 is none)
if (!errnoNames.has(54)) errnoNames.set(54, 'EXFULL');

/** The addon names only a few errno codes; recover the rest from `errno` so
 *  callers can test `code` (EEXIST, ENOENT …) whatever the failure. */
function call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw withCode(err);
  }
}

/** call() for the addon's pool-thread work: its promise rejects with the code set. */
async function callAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw withCode(err);
  }
}

function withCode(err: unknown): unknown {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.errno === 'number') e.code = errnoNames.get(e.errno) ?? e.code;
  return e;
}

/** Move the calling thread into a fresh, empty network namespace. */
/** An fd on a fresh network namespace, made on a libuv pool thread. */
export function makeNetns(): Promise<number> {
  return callAsync(() => addon().makeNetns());
}

/** Datagrams of rtnetlink requests, each [nsFd, datagram, lastSeq, keep],
 *  sent and answered one after the other on one libuv pool thread, in the
 *  namespace behind each nsFd (always explicit: pool threads need not be in
 *  the main thread's namespace), so the kernel's work inside sendmsg never
 *  stalls the main thread. Resolves, for each part sent, with the [seq,
 *  errno] of every answer read up to the one for its lastSeq (errno 0: an
 *  ACK); a part whose answers hold an error is the last one sent.
 *  keep: the pool thread keeps its socket in that namespace for the next
 *  job (the daemon's own namespace only: a socket holds a namespace alive). */
export function rtnlBatches(parts: Array<[number, Buffer, number, boolean]>): Promise<Array<Array<[number, number]>>> {
  return callAsync(() => addon().rtnlBatches(parts));
}

/** The name of an errno number (EEXIST …), as Node's own errors carry it. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? String(errno);
}

export function unshareNet(): void {
  call(() => addon().unshareNet());
}

/** Move the calling thread into the network namespace behind fd. */
export function setns(fd: number): void {
  call(() => addon().setns(fd));
}

/** A socket bound to addr:port (never listened on; '' = every address of
 *  the family), close-on-exec: the reservation of a published host port.
 *  Errors carry the errno's code (EADDRINUSE, EADDRNOTAVAIL, EMFILE …). */
export function bindPort(family: 4 | 6, proto: number, addr: string, port: number): number {
  return call(() => addon().bindPort(family, proto, addr, port));
}

/** flock(fd, LOCK_EX|LOCK_NB): true when taken, false when another holds it. */
export function tryLock(fd: number): boolean {
  return call(() => addon().tryLock(fd));
}

/** Bind-mount src on dst (dst must exist). */
export function bindMount(src: string, dst: string): void {
  call(() => addon().bindMount(src, dst));
}

/** Lazy unmount: a namespace still used by a process lives on for it. */
export function unmount(path: string): void {
  call(() => addon().unmount(path));
}

/** Lazy unmount that does not follow a symlink at path (UMOUNT_NOFOLLOW). */
export function unmountNoFollow(path: string): void {
  call(() => addon().unmountNoFollow(path));
}

/** An O_PATH fd on the directory at path, opened without following any
 *  symlink in it (openat2 RESOLVE_NO_SYMLINKS): ELOOP when one is there. */
export function openDirNoSymlinks(path: string): number {
  return call(() => addon().openDirNoSymlinks(path));
}

// Namespace files: the synchronous steps around them, shared by everything that
// mounts or enters a namespace. Node's fs calls here are the *Sync ones on
// purpose: async ones run on the libuv pool, whose threads never moved.

const SELF = '/proc/thread-self/ns/net';
const NSFS_MAGIC = 0x6e736673;
const code = (err: unknown): string | undefined => (err as NodeJS.ErrnoException)?.code;

/** Open the calling thread's own namespace (kept as the way home after setns). */
export function openOwnNetns(): number {
  return openSync(SELF, 'r');
}

/** Run fn inside the namespace behind fd and come home to ownFd, synchronously. */
export function inNetns<T>(fd: number, ownFd: number, fn: () => T): T {
  setns(fd);
  try {
    return fn();
  } finally {
    setns(ownFd);
  }
}

/** True when path is a mounted namespace file (nsfs). */
export function isNetnsPath(path: string): boolean {
  try {
    return statfsSync(path).type === NSFS_MAGIC;
  } catch {
    return false;
  }
}

/** The mode of the mount-point files lnetd makes (`ip netns` makes 0000, an
 *  editor or touch 0644): a leftover of ours (a crash between creating the
 *  file and mounting on it) can be told from a file someone else put there. */
export const MOUNT_POINT_MODE = 0o440;

/** An empty regular file lnetd made and nothing is mounted on: safe to reuse or remove. */
function isOurMountPoint(path: string): boolean {
  const st = lstatSync(path, { throwIfNoEntry: false });
  return !!st && st.isFile() && st.size === 0 && (st.mode & 0o7777) === MOUNT_POINT_MODE && !isNetnsPath(path);
}

function taken(path: string, err: unknown): Error {
  const what = isNetnsPath(path) ? 'a live namespace is mounted there' : 'something lnetd did not make is there (a symlink, a directory or a file of someone else\'s)';
  return Object.assign(new Error(`${path}: ${what}`), { code: 'EEXIST', cause: err });
}

/** The file to mount a namespace on: made here without following a symlink
 *  (O_EXCL|O_NOFOLLOW), or a leftover empty file of our own; never anything else. */
function makeMountPoint(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  let fd: number;
  try {
    fd = openSync(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, MOUNT_POINT_MODE);
  } catch (err) {
    if (code(err) === 'EEXIST' && isOurMountPoint(path)) return;
    throw code(err) === 'EEXIST' ? taken(path, err) : err;
  }
  try { fchmodSync(fd, MOUNT_POINT_MODE); } finally { closeSync(fd); }  // whatever the umask
}

/** A fresh namespace bind-mounted at path; `inside` runs in it (e.g. to open
 *  its socket) before the thread goes home to ownFd. On failure only what this
 *  call made is undone: a path that was taken is never unmounted or removed. */
export function mountNewNetns<T>(path: string, ownFd: number, inside: () => T): T {
  makeMountPoint(path);
  let mounted = false;
  try {
    unshareNet();
    try {
      bindMount(SELF, path);
      mounted = true;
      return inside();
    } finally {
      setns(ownFd);
    }
  } catch (err) {
    if (mounted) try { unmountNoFollow(path); } catch { /* already gone */ }
    try { unlinkSync(path); } catch { /* already gone */ }
    throw err;
  }
}

/** Bind a namespace held open by fd (made ahead of time) at path. On failure
 *  the mount point this call made goes; a path that was taken stays as it was. */
export function mountNetnsFd(path: string, fd: number): void {
  makeMountPoint(path);
  try {
    // /proc/self/fd/N is the nsfs file itself, as /proc/PID/ns/net is for `ip netns attach`
    bindMount(`/proc/self/fd/${fd}`, path);
  } catch (err) {
    try { unlinkSync(path); } catch { /* already gone */ }
    throw err;
  }
}

/** /proc names of a live process's namespace or of an open fd (the CNI plugin
 *  passes its own fd this way: it works across mount namespaces). */
const PROC_NETNS = /^\/proc\/[1-9][0-9]*\/(task\/[1-9][0-9]*\/ns\/net|ns\/net|fd\/[0-9]+)$/;

/** Open a runtime's network namespace: a /proc form above (a magic link, so
 *  followed) or a plain netns file (not followed if a symlink). Non-blocking
 *  and without a controlling tty, so a FIFO or a device opened by mistake can't
 *  hang or claim anything; then the fd must be on nsfs and setns(CLONE_NEWNET)
 *  must take it (the kernel's own test of "a network namespace"; we come
 *  straight home to ownFd). Returns an fd the caller closes, and the inode. */
export function openRuntimeNetns(source: string, ownFd: number): { fd: number; ino: number } {
  const follow = PROC_NETNS.test(source);
  const flags = fsc.O_RDONLY | fsc.O_NONBLOCK | fsc.O_NOCTTY | (follow ? 0 : fsc.O_NOFOLLOW);
  const fd = openSync(source, flags);
  const notNetns = () => Object.assign(new Error(`${source} is not a network namespace`), { code: 'ENOTNETNS' });
  try {
    if (statfsSync(`/proc/self/fd/${fd}`).type !== NSFS_MAGIC) throw notNetns();
    try { inNetns(fd, ownFd, () => undefined); } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EINVAL') throw notNetns();
      throw err;
    }
    return { fd, ino: fstatSync(fd).ino };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

const TMPFS_MAGIC = 0x01021994;

/** Put the netns directory on a tmpfs of its own (files there cost ~10 µs to
 *  make, against 0.3-1.3 ms on this machine's ext4), unless it already is one
 *  or already holds entries (mounting over them would hide live namespaces).
 *  Returns what it did, for the log. */
export function ensureNetnsTmpfs(dir: string, entries: number): 'tmpfs' | 'mounted' | 'skipped' {
  if (statfsSync(dir).type === TMPFS_MAGIC) return 'tmpfs';
  if (entries > 0) return 'skipped';
  call(() => addon().mountTmpfs(dir));
  return 'mounted';
}

/** Bind the calling thread's namespace at path. */
export function mountOwnNetns(path: string): void {
  makeMountPoint(path);
  bindMount(SELF, path);
}

/** Lazy-unmount and remove a namespace file; missing is success. Never
 *  follows a symlink, and removes only an empty regular file (the mount point):
 *  anything else at path is left in place and reported. Returns the errors. */
export function unmountNetns(path: string): unknown[] {
  const errors: unknown[] = [];
  try { unmountNoFollow(path); } catch (err) {
    if (code(err) !== 'EINVAL' && code(err) !== 'ENOENT') errors.push(err);  // EINVAL: not a mount
  }
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return errors;
  if (!st.isFile() || st.size !== 0) {
    errors.push(taken(path, undefined));
    return errors;
  }
  try { unlinkSync(path); } catch (err) {
    if (code(err) !== 'ENOENT') errors.push(err);
  }
  return errors;
}
