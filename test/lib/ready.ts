// Readiness checks instead of sleeps: wait for the thing a test needs (a
// process inside a namespace, a pool filled, a stream open), polled, with a
// generous deadline so a loaded machine does not fail them. A failed wait
// names what never became true.

import { statSync } from 'node:fs';

/** Poll check until it holds; throws `never: <what>` after timeoutMs. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`never: ${what} (waited ${timeoutMs} ms)`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const inode = (path: string): number | undefined => {
  try { return statSync(path).ino; } catch { return undefined; }
};

/** Wait until process pid runs inside the network namespace mounted at nsPath (e.g. an `nsenter --net=… sleep` holder). */
export function waitInNetns(pid: number | undefined, nsPath: string): Promise<void> {
  const want = inode(nsPath);
  return waitFor(`pid ${pid} in the namespace at ${nsPath}`, () => pid !== undefined && want !== undefined && inode(`/proc/${pid}/ns/net`) === want);
}

/** Wait until process pid has a network namespace of its own (e.g. `unshare --net sleep`), not the caller's. */
export function waitOwnNetns(pid: number | undefined): Promise<void> {
  const mine = inode('/proc/thread-self/ns/net');
  return waitFor(`pid ${pid} in a network namespace of its own`, () => {
    const ino = pid === undefined ? undefined : inode(`/proc/${pid}/ns/net`);
    return ino !== undefined && ino !== mine;
  });
}
