// Writing a file whose path came from outside (a runtime's hosts and
// resolv.conf) as root, safely:
// - the directory is opened with openat2(RESOLVE_NO_SYMLINKS) (native addon):
//   a symlink anywhere in the path is ELOOP, so a planted directory link can't
//   redirect the write, and the file lands in the directory the path names;
// - the new content goes to a temporary file with a random name, created with
//   O_CREAT|O_EXCL|O_NOFOLLOW in that directory (a pre-made file or symlink of
//   that name is refused, not followed), then renamed over the target, which
//   replaces the directory entry (a symlink there is replaced, never followed),
//   so a reader sees the old file or the new one, never half.
// Everything goes through /proc/self/fd/<dir fd>, which names the opened
// directory itself. Callers check the path against the FilePolicy first.

import { randomBytes } from 'node:crypto';
import { closeSync, constants as fsc } from 'node:fs';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { openDirNoSymlinks } from '../../drivers/linux/native.js';

/** The temporary name's prefix for a target, so recovery can sweep what a kill left. */
export const tempPrefix = (name: string): string => `.${name}.lnetd-`;

/** Run fn with the directory of path opened without following symlinks. */
async function inDir<T>(path: string, fn: (dir: string, name: string) => Promise<T>): Promise<T> {
  const name = basename(path);
  if (!name || name === '.' || name === '..') throw Object.assign(new Error(`${path}: not a file name`), { code: 'EISDIR' });
  const fd = openDirNoSymlinks(dirname(path));
  try {
    return await fn(`/proc/self/fd/${fd}`, name);
  } finally {
    closeSync(fd);
  }
}

/** Replace the file at path with text, atomically, without following any symlink. */
export async function writeFileNoFollow(path: string, text: string | Buffer, mode = 0o644): Promise<void> {
  await inDir(path, async (dir, name) => {
    const tmp = `${dir}/${tempPrefix(name)}${randomBytes(12).toString('hex')}`;
    const fh = await open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, mode);
    try {
      await fh.writeFile(text);
      await fh.chmod(mode);  // whatever the umask
    } catch (err) {
      await fh.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    await fh.close();
    try {
      await rename(tmp, `${dir}/${name}`);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  });
}

/** Remove the temporary files a kill between write and rename left beside path. */
export async function sweepTemporaries(path: string): Promise<void> {
  await inDir(path, async (dir, name) => {
    const prefix = tempPrefix(name);
    for (const n of await readdir(dir)) if (n.startsWith(prefix)) await unlink(`${dir}/${n}`).catch(() => undefined);
  }).catch(() => undefined);
}
