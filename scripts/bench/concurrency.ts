// concurrency: C clients attaching at once to one lnetd network (each its own
// keep-alive connection, create endpoint + join in a loop) against C floor
// processes attaching at once on one bridge, for each C asked for, the two
// in rotating order. Reports attaches per second (all of them over the wall
// time) and latency percentiles; afterwards everything is detached, off the
// clock, and the bench waits until the kernel has reaped every veth so one
// level's leftovers never slow the next.

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { deleteNetns } from './cleanup.js';
import { createHostNs } from './netns.js';
import { median, percentile, round3 } from './stats.js';
import { rotate } from './runner.js';
import { GoneWatcher } from './gone.js';
import { Daemon } from './lnetd/daemon.js';
import { LnetdClient } from './lnetd/client.js';
import { NETWORK_BODY, attachOne, detachOne } from './lnetd/system.js';
import { hostVethName } from '../../drivers/bridge/bridge.js';
import { FloorProcess } from './floor/process.js';
import { FLOOR_BRIDGE, createFloorHost, type FloorHost } from './floor/host.js';

export interface Level { clients: number; attaches: number; per_s: number; median_ms: number; p99_ms: number }
export interface ConcurrencyResult { lnetd: Level[]; floor: Level[] }

type Log = (m: string) => void;

function level(clients: number, wallMs: number, lat: number[]): Level {
  return {
    clients, attaches: lat.length, per_s: round3((lat.length * 1000) / wallMs),
    median_ms: round3(median(lat)), p99_ms: round3(percentile(lat, 99)),
  };
}

/** Run `total` jobs on `workers` workers, each taking the next index when free. */
async function spread(workers: number, total: number, job: (w: number, k: number) => Promise<number>): Promise<{ wallMs: number; lat: number[] }> {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: workers }, async (_v, w) => {
    for (let k = next++; k < total; k = next++) lat.push(await job(w, k));
  }));
  return { wallMs: performance.now() - t0, lat };
}

async function waitGone(w: GoneWatcher, names: string[], t0: bigint): Promise<void> {
  const lost = (await Promise.all(names.map((n) => w.goneAfter(n, t0, 30_000)))).filter(Number.isNaN).length;
  if (lost) throw new Error(`concurrency: ${lost} host veths still there 30 s after their detach`);
}

class LnetdSide {
  private daemon?: Daemon;
  private net = '';
  private watcher?: GoneWatcher;
  constructor(private readonly host: string, private readonly dir: string) {}

  async start(): Promise<void> {
    this.daemon = new Daemon(this.host, this.dir);
    await this.daemon.start();
    this.net = await this.daemon.client.call<string>('POST', '/networks', NETWORK_BODY);
    this.watcher = new GoneWatcher(this.host);
    await this.watcher.start();
  }

  async level(c: number, total: number, base: number): Promise<Level> {
    const clients = Array.from({ length: c }, () => new LnetdClient(this.daemon!.socket));
    const done: { ep: string; cid: string; w: number }[] = [];
    try {
      const { wallMs, lat } = await spread(c, total, async (w, k) => {
        const cid = randomBytes(32).toString('hex');
        const t = performance.now();
        const { ep } = await attachOne(clients[w]!, this.net, `k${base + k}`, cid);
        const ms = performance.now() - t;
        done.push({ ep, cid, w });
        return ms;
      });
      const t0 = process.hrtime.bigint();
      await spread(c, done.length, async (w, k) => { await detachOne(clients[w]!, this.net, done[k]!.ep, done[k]!.cid); return 0; });
      await waitGone(this.watcher!, done.map((d) => hostVethName(d.ep)), t0);
      return level(c, wallMs, lat);
    } finally {
      for (const cl of clients) cl.close();
    }
  }

  async stop(): Promise<void> {
    this.watcher?.stop();
    await this.daemon?.stop();
  }
}

class FloorSide {
  private host?: FloorHost;
  private procs: FloorProcess[] = [];
  private watcher?: GoneWatcher;
  constructor(private readonly tmpDir: string) {}

  async start(max: number): Promise<void> {
    this.host = createFloorHost(this.tmpDir, 'floor-conc', '10.236');
    this.procs = Array.from({ length: max }, () => new FloorProcess(this.host!.ns, this.host!.netnsDir, FLOOR_BRIDGE, this.host!.prefix16));
    this.watcher = new GoneWatcher(this.host.ns);
    await this.watcher.start();
  }

  async level(c: number, total: number, base: number): Promise<Level> {
    const { wallMs, lat } = await spread(c, total, async (w, k) => (await this.procs[w]!.attach(base + k)).ms);
    const t0 = process.hrtime.bigint();
    await spread(c, total, async (w, k) => this.procs[w]!.detach(base + k));
    await waitGone(this.watcher!, Array.from({ length: total }, (_v, k) => `veth${base + k}`), t0);
    return level(c, wallMs, lat);
  }

  async stop(): Promise<void> {
    this.watcher?.stop();
    for (const p of this.procs) await p.stop();
    if (this.host) deleteNetns(this.host.ns);
  }
}

export async function concurrency(tmpDir: string, levels: number[], total: number, log: Log): Promise<ConcurrencyResult> {
  const host = createHostNs('conc');
  const lnetd = new LnetdSide(host, join(tmpDir, 'conc'));
  const floor = new FloorSide(tmpDir);
  const out: ConcurrencyResult = { lnetd: [], floor: [] };
  try {
    await lnetd.start();
    await floor.start(Math.max(...levels));
    let base = 1;
    for (const [r, c] of levels.entries()) {
      for (const side of rotate(['floor', 'lnetd'] as const, r)) {
        const l = side === 'floor' ? await floor.level(c, total, base) : await lnetd.level(c, total, base);
        out[side].push(l);
      }
      base += total;
      log(`concurrency: ${c} clients done`);
    }
    return out;
  } finally {
    await lnetd.stop();
    await floor.stop();
    deleteNetns(host);
  }
}
