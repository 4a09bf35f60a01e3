// The least an attach or detach can cost a daemon that is driven over HTTP
// like lnetd: two requests, each a JSON body of a join's size, on one
// keep-alive connection over a unix socket, answered at once by a bare
// node:http server in another process, with the bench's own client. No
// kernel work, no store, no framework: what is left is Node's HTTP on both
// ends and the socket. Reported beside the floor, whose detach (an umount
// and an unlink, ~0.1 ms) is below this, so no HTTP-driven daemon can
// reach a ratio of 1.5 on detach.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startBare } from './api.js';
import { LnetdClient } from './lnetd/client.js';
import { joinBody } from './lnetd/system.js';
import { median, round3 } from './stats.js';

export interface HttpFloor { n: number; two_requests_ms: number }

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
    return { n, two_requests_ms: round3(median(t)) };
  } finally {
    client.close();
    stop();
  }
}
