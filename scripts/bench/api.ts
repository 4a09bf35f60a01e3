// api: GET /networks with M networks in the store, C concurrent keep-alive
// connections over the unix socket for S seconds (autocannon), then the same
// load on a bare node:http server answering the same bytes, in the same run.

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { deleteNetns, onCleanup, stopPid } from './cleanup.js';
import { createHostNs } from './netns.js';
import { round3 } from './stats.js';
import { Daemon } from './lnetd/daemon.js';

export interface ApiResult {
  networks: number; connections: number; lnetd_rps: number; bare_node_rps: number; lnetd_p99_ms: number; bare_node_p99_ms: number;
  rps_x_bare: number; p99_x_bare: number;
}

const BARE = fileURLToPath(new URL('./bare-server.js', import.meta.url));

async function load(socketPath: string, connections: number, seconds: number): Promise<{ rps: number; p99: number }> {
  const r = await autocannon({ url: 'http://localhost/networks', socketPath, connections, duration: seconds });
  if (r.errors || r.non2xx || r.timeouts) throw new Error(`api load on ${socketPath}: ${r.errors} errors, ${r.non2xx} non-2xx, ${r.timeouts} timeouts`);
  return { rps: r.requests.average, p99: r.latency.p99 };
}

/** A bare node:http server in a process of its own, answering every request with `body` on DIR/bare.sock. */
export async function startBare(dir: string, body: string): Promise<() => void> {
  const socket = join(dir, 'bare.sock');
  const file = join(dir, 'networks.json');
  writeFileSync(file, body);
  const child = spawn(process.execPath, [BARE, socket, file], { stdio: ['pipe', 'pipe', 'inherit'] });
  const pid = child.pid ?? 0;
  onCleanup(`bare server pid ${pid}`, () => stopPid(pid));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`bare server exited ${c}`)));
  });
  return () => stopPid(pid);
}

export async function apiBench(tmpDir: string, networks: number, connections: number, seconds: number): Promise<ApiResult> {
  const host = createHostNs('api');
  const dir = join(tmpDir, 'api');
  const daemon = new Daemon(host, dir);
  let stopBare = (): void => {};
  try {
    await daemon.start();
    const have = (await daemon.client.call<unknown[]>('GET', '/networks')).length;
    for (let k = have; k < networks; k++) {
      await daemon.client.call('POST', '/networks', { name: `api${k}`, network_type: 'bridge', options: {} });
    }
    const listing = await daemon.client.request('GET', '/networks');
    const count = (JSON.parse(listing.body) as unknown[]).length;
    stopBare = await startBare(dir, listing.body);
    // A second of warm-up each, so neither side is measured while JIT-cold.
    await load(daemon.socket, connections, 1);
    await load(join(dir, 'bare.sock'), connections, 1);
    const lnetd = await load(daemon.socket, connections, seconds);
    const bare = await load(join(dir, 'bare.sock'), connections, seconds);
    return {
      networks: count, connections, lnetd_rps: round3(lnetd.rps), bare_node_rps: round3(bare.rps),
      lnetd_p99_ms: round3(lnetd.p99), bare_node_p99_ms: round3(bare.p99),
      rps_x_bare: round3(lnetd.rps / bare.rps),
      // autocannon counts whole milliseconds: two zero p99s are equal, not undefined
      p99_x_bare: bare.p99 > 0 ? round3(lnetd.p99 / bare.p99) : lnetd.p99 > 0 ? Infinity : 1,
    };
  } finally {
    stopBare();
    await daemon.stop();
    deleteNetns(host);
  }
}
