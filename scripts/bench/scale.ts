// scale: 1,000 (--scale) sequential attaches on one lnetd network beside
// the same 1,000 by the floor on one bridge, in chunks of 100 taken in
// alternating order, so both reach the same port counts at about the same
// time; totals are the sums of each system's attach times (its own clock for
// the floor, the client's for lnetd), so the ratio is free of the other's
// share of the wall clock. The floor's growth per port is the kernel's, and
// counts for both.
// memory: the daemon's RSS with all of them joined, then the time a restarted
// daemon takes until it answers with all of them from its store.

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { deleteNetns, unmountUnder } from './cleanup.js';
import { createHostNs } from './netns.js';
import { median, round3 } from './stats.js';
import { Daemon } from './lnetd/daemon.js';
import { NETWORK_BODY, attachOne } from './lnetd/system.js';
import { FloorProcess } from './floor/process.js';
import { FLOOR_BRIDGE, createFloorHost } from './floor/host.js';

export interface ScaleSide { total_s: number; first100_median_ms: number; last100_median_ms: number }
export interface ScaleResult extends ScaleSide { containers: number; floor: ScaleSide; x_floor: number }
export interface MemoryResult { endpoints: number; rss_mb: number; startup_s: number }

const CHUNK = 100;

function side(times: number[]): ScaleSide {
  return {
    total_s: round3(times.reduce((a, b) => a + b, 0) / 1000),
    first100_median_ms: round3(median(times.slice(0, CHUNK))), last100_median_ms: round3(median(times.slice(-CHUNK))),
  };
}

export async function scaleAndMemory(tmpDir: string, count: number, log: (m: string) => void): Promise<{ scale: ScaleResult; memory: MemoryResult }> {
  const host = createHostNs('scale');
  const daemon = new Daemon(host, join(tmpDir, 'scale'));
  const fh = createFloorHost(tmpDir, 'floor-scale', '10.237');
  const floor = new FloorProcess(fh.ns, fh.netnsDir, FLOOR_BRIDGE, fh.prefix16);
  try {
    await daemon.start();
    const net = await daemon.client.call<string>('POST', '/networks', NETWORK_BODY);
    const lt: number[] = [];
    const ft: number[] = [];
    const lnetdChunk = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i++) {
        const t = performance.now();
        await attachOne(daemon.client, net, `s${i}`, randomBytes(32).toString('hex'));
        lt.push(performance.now() - t);
      }
    };
    const floorChunk = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i++) ft.push((await floor.attach(i + 1)).ms);
    };
    for (let from = 0, k = 0; from < count; from += CHUNK, k++) {
      const to = Math.min(count, from + CHUNK);
      if (k % 2) { await lnetdChunk(from, to); await floorChunk(from, to); } else { await floorChunk(from, to); await lnetdChunk(from, to); }
      if (to % 250 === 0 || to === count) log(`scale: ${to}/${count} attached`);
    }
    await floor.stop();
    const rss = daemon.rssMb();
    await daemon.stop();
    const startup = await daemon.start(async () => {
      const r = await daemon.client.request('GET', `/networks/${net}/endpoints`);
      return r.status === 200 && (JSON.parse(r.body) as unknown[]).length === count;
    });
    await daemon.stop();
    const l = side(lt);
    const f = side(ft);
    return {
      scale: { containers: count, ...l, floor: f, x_floor: round3(l.total_s / f.total_s) },
      memory: { endpoints: count, rss_mb: round3(rss), startup_s: round3(startup) },
    };
  } finally {
    await floor.stop();
    await daemon.stop();
    // 2,000 namespaces released now, not at the end of the run
    unmountUnder(daemon.netnsDir);
    unmountUnder(fh.netnsDir);
    deleteNetns(host);
    deleteNetns(fh.ns);
  }
}
