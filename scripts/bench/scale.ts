// scale: 1,000 (--scale) sequential attaches on one lnetd network beside
// the same 1,000 by the floor on one bridge, in chunks of 100 taken in
// alternating order, so both reach the same port counts at about the same
// time; totals are the sums of each system's attach times (its own clock for
// the floor, the client's for lnetd), so the ratio is free of the other's
// share of the wall clock. The floor's growth per port is the kernel's, and
// counts for both.
// memory: the daemon's RSS with all of them joined, then the time a restarted
// daemon takes until it answers with all of them from its store. The restart
// is timed once the machine is quiet again: 2,000 fresh interfaces leave the
// kernel work to do after the last attach has been answered (its IPv6 and
// namespace workers), and a restart straight after it measured that wait
// (~1 s more in a loaded minute) rather than lnetd's start-up. How long the
// bench waited is reported beside it.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
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
export interface MemoryResult { endpoints: number; rss_mb: number; startup_s: number; settle_s?: number }

/** Busy and total jiffies of all CPUs, from /proc/stat. */
function cpuJiffies(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);  // idle + iowait
  return { busy: total - idle, total };
}

/** Wait until the machine's CPUs are under 15% busy for two 250 ms windows in a row (at most maxS); returns the seconds waited. */
export async function settle(maxS = 15): Promise<number> {
  const t0 = performance.now();
  let quiet = 0;
  let a = cpuJiffies();
  while (quiet < 2 && performance.now() - t0 < maxS * 1000) {
    await new Promise((r) => setTimeout(r, 250));
    const b = cpuJiffies();
    const share = (b.busy - a.busy) / Math.max(1, b.total - a.total);
    quiet = share < 0.15 ? quiet + 1 : 0;
    a = b;
  }
  return (performance.now() - t0) / 1000;
}

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
    const settled = await settle();
    log(`scale: the machine settled in ${settled.toFixed(1)} s after the attaches; restarting lnetd`);
    const startup = await daemon.start(async () => {
      const r = await daemon.client.request('GET', `/networks/${net}/endpoints`);
      return r.status === 200 && (JSON.parse(r.body) as unknown[]).length === count;
    });
    await daemon.stop();
    const l = side(lt);
    const f = side(ft);
    return {
      scale: { containers: count, ...l, floor: f, x_floor: round3(l.total_s / f.total_s) },
      memory: { endpoints: count, rss_mb: round3(rss), startup_s: round3(startup), settle_s: round3(settled) },
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
