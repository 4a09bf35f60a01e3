// The least an attach or detach can cost a daemon that is driven over HTTP
// like lnetd: two requests, each a JSON body of a join's size, on one
// keep-alive connection over a unix socket, answered at once by a bare
// node:http server in another process, with the bench's own client. No
// kernel work, no store, no framework: what is left is Node's HTTP on both
// ends and the socket. Reported beside the floor, whose detach (an umount
// and an unlink, ~0.1 ms) is below this, so no HTTP-driven daemon can
// reach a ratio of 1.5 on detach.
//
// Beside it, one synced LevelDB write of an endpoint-sized record in the
// bench's tmp dir (the file system lnetd's data dir is on): what an attach's
// create and a detach's endpoint delete must wait for before they are
// answered ("nothing is acknowledged that isn't durable"). The floor plus
// both is the least a daemon shaped like lnetd (HTTP, synced records) can do.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startBare } from './api.js';
import { LnetdClient } from './lnetd/client.js';
import { joinBody } from './lnetd/system.js';
import { median, round3 } from './stats.js';

export interface HttpFloor { n: number; two_requests_ms: number; sync_write_ms: number }

export async function httpFloor(tmpDir: string, n: number): Promise<HttpFloor> {
  const dir = join(tmpDir, 'http-floor');
  mkdirSync(dir, { recursive: true });
  // an answer the size of lnetd's join answer (the sandbox key)
  const stop = await startBare(dir, JSON.stringify(`/run/lnetd/netns/${'0'.repeat(64)}`));
  const client = new LnetdClient(join(dir, 'bare.sock'));
  try {
    const body = joinBody('f'.repeat(64));
    const pair = async (): Promise<number> => {
      const t0 = process.hrtime.bigint();
      await client.call('POST', `/networks/${'a'.repeat(64)}/endpoints`, { name: 'c', exposed_ports: [], port_mapping: null });
      await client.call('POST', `/networks/${'a'.repeat(64)}/endpoints/${'b'.repeat(64)}/containers`, body);
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    for (let k = 0; k < Math.min(n, 200); k++) await pair(); // JIT warm-up on both ends
    const t: number[] = [];
    for (let k = 0; k < n; k++) t.push(await pair());
    return { n, two_requests_ms: round3(median(t)), sync_write_ms: await syncWrite(join(tmpDir, 'sync-floor'), n) };
  } finally {
    client.close();
    stop();
  }
}

/** Median of n synced puts of a ~700-byte JSON value into a fresh LevelDB (classic-level, as lnetd's store). */
async function syncWrite(dir: string, n: number): Promise<number> {
  const { ClassicLevel } = await import('classic-level');
  const db = new ClassicLevel<string, string>(dir);
  await db.open();
  try {
    const value = JSON.stringify({ id: 'e'.repeat(64), name: 'c1', networkId: 'a'.repeat(64), pad: 'x'.repeat(480) });
    const t: number[] = [];
    for (let k = 0; k < n + 50; k++) {
      const t0 = process.hrtime.bigint();
      await db.put(`endpoints!${k}`, value, { sync: true });
      if (k >= 50) t.push(Number(process.hrtime.bigint() - t0) / 1e6);  // the first 50: warm-up
    }
    return round3(median(t));
  } finally {
    await db.close();
  }
}
