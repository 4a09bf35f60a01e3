// scale: many containers attached one after another to one lnetd network;
// memory: the daemon's RSS with all of them joined, then the time a restarted
// daemon takes until it answers with all of them from its store.

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { deleteNetns } from './cleanup.js';
import { createHostNs } from './netns.js';
import { median, round3 } from './stats.js';
import { Daemon } from './lnetd/daemon.js';
import { NETWORK_BODY, attachOne } from './lnetd/system.js';

export interface ScaleResult { containers: number; total_s: number; first100_median_ms: number; last100_median_ms: number }
export interface MemoryResult { endpoints: number; rss_mb: number; startup_s: number }

export async function scaleAndMemory(tmpDir: string, count: number, log: (m: string) => void): Promise<{ scale: ScaleResult; memory: MemoryResult }> {
  const host = createHostNs('scale');
  const daemon = new Daemon(host, join(tmpDir, 'scale'));
  try {
    await daemon.start();
    const net = await daemon.client.call<string>('POST', '/networks', NETWORK_BODY);
    const times: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      await attachOne(daemon.client, net, `s${i}`, randomBytes(32).toString('hex'));
      times.push(performance.now() - t);
      if ((i + 1) % 250 === 0) log(`scale: ${i + 1}/${count} attached`);
    }
    const totalS = (performance.now() - t0) / 1000;
    const rss = daemon.rssMb();
    await daemon.stop();
    const startup = await daemon.start(async () => {
      const r = await daemon.client.request('GET', `/networks/${net}/endpoints`);
      return r.status === 200 && (JSON.parse(r.body) as unknown[]).length === count;
    });
    await daemon.stop();
    return {
      scale: {
        containers: count, total_s: round3(totalS),
        first100_median_ms: round3(median(times.slice(0, 100))), last100_median_ms: round3(median(times.slice(-100))),
      },
      memory: { endpoints: count, rss_mb: round3(rss), startup_s: round3(startup) },
    };
  } finally {
    await daemon.stop();
    deleteNetns(host);
  }
}
