// What the daemon does when its store fails a write (store/guard.ts): log it,
// refuse writes (503 STORE_FAILED; /_ping answers 503 naming the failure),
// and try to reopen the store every few seconds. A reopen holds every lock,
// so no operation runs meanwhile; after it the index is reloaded from what
// the store really holds and the journal is recovered again, re-checking each
// intent against the records (an operation whose commit failed is finished
// or undone exactly as after a crash).

import type { FailClosedStore } from '../store/guard.js';
import type { Controller } from './controller/controller.js';
import { recoverJournal } from './controller/recover.js';

export const DEFAULT_REOPEN_MS = 5000;

/** Run fn holding every lock a writing operation can take. */
export async function withAllLocks<T>(c: Controller, fn: () => Promise<T>): Promise<T> {
  for (;;) {
    const ids = [...c.state.networks.keys()];
    const keys = ['networks', 'ports', ...ids.map((id) => `net:${id}`)];
    const out = await c.locks.with(keys, async () => {
      if (c.state.networks.size !== ids.length || ids.some((id) => !c.state.networks.has(id))) return { again: true as const };
      return { again: false as const, value: await fn() };
    });
    if (!out.again) return out.value;
  }
}

export interface StoreSupervisor { stop(): void }

export function superviseStore(c: Controller, store: FailClosedStore, reopenMs = DEFAULT_REOPEN_MS): StoreSupervisor {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped || timer) return;
    timer = setTimeout(() => { timer = undefined; void attempt(); }, reopenMs);
    timer.unref();
  };
  const attempt = async () => {
    try {
      const recovered = await withAllLocks(c, async () => {
        await store.reopen();
        await c.state.reload(store);
        const n = await recoverJournal(c);
        c.hostPorts.sync();  // reservations follow the reloaded records
        return n;
      });
      c.log.warn({ store: store.health(), recovered_intents: recovered }, 'store reopened cleanly: writes are taken again');
    } catch (err) {
      c.log.error({ err, store: store.health() }, 'store reopen failed; trying again');
      schedule();
    }
  };
  store.onFail = (err) => {
    c.log.error({ err, store: store.health() }, 'store failed a write: refusing writes until it is reopened cleanly');
    schedule();
  };
  return { stop() { stopped = true; if (timer) clearTimeout(timer); } };
}
