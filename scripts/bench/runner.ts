// Rotated rounds: the N containers are split into rounds; in every round each
// system attaches its share, the order of systems rotating by one each round,
// so slow drift of the machine (thermal, page cache, other tenants) lands on
// all of them alike. Detaches go the same way once all N are attached, so each
// system reaches N containers at its peak.

import type { ProcCount, System } from './system.js';
import { GoneWatcher } from './gone.js';

/** gone: ms from asking for the detach until the host veth was deleted (NaN: never seen). */
export interface SystemResult {
  attach: number[]; detach: number[]; gone: number[]; attachNs: number[]; detachNs: number[]; procs?: ProcCount;
  /** Daemons only: CPU time (ms) summed over the samples, user and sys apart. */
  cpu?: { attach: Cpu; detach: Cpu };
}
interface Cpu { user: number; sys: number; n: number }

export function chunks(n: number, rounds: number): number[][] {
  const r = Math.max(1, Math.min(rounds, n));
  const out: number[][] = [];
  for (let k = 0; k < r; k++) {
    const from = Math.floor((k * n) / r) + 1;
    const to = Math.floor(((k + 1) * n) / r);
    out.push(Array.from({ length: to - from + 1 }, (_v, j) => from + j));
  }
  return out;
}

export function rotate<T>(xs: readonly T[], by: number): T[] {
  const k = xs.length ? by % xs.length : 0;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

type Log = (msg: string) => void;

interface Run { res: Map<string, SystemResult>; watchers: Map<string, GoneWatcher>; veths: Map<string, string> }

/** A detach, then (off its own clock) the wait until its host veth is gone, so
 * no system's deferred kernel work runs into the next sample. */
async function detachOne(sys: System, i: number, run: Run, out?: SystemResult): Promise<void> {
  const t0 = process.hrtime.bigint();
  const t = await sys.detach(i);
  const veth = run.veths.get(`${sys.name}/${i}`);
  const gone = veth ? await run.watchers.get(sys.name)!.goneAfter(veth, t0) : NaN;
  if (!out) return;
  out.detach.push(t.ms);
  out.gone.push(gone);
  if (t.nsMs !== undefined) out.detachNs.push(t.nsMs);
}

async function attachOne(sys: System, i: number, run: Run, out?: SystemResult): Promise<void> {
  const t = await sys.attach(i);
  if (t.hostVeth) run.veths.set(`${sys.name}/${i}`, t.hostVeth);
  if (!out) return;
  out.attach.push(t.ms);
  if (t.nsMs !== undefined) out.attachNs.push(t.nsMs);
}

async function phase(systems: System[], rounds: number[][], run: Run, kind: 'attach' | 'detach', log: Log): Promise<void> {
  for (const [r, ids] of rounds.entries()) {
    for (const sys of rotate(systems, r)) {
      const out = run.res.get(sys.name)!;
      for (const i of ids) await (kind === 'attach' ? attachOne : detachOne)(sys, i, run, out);
      sys.pause?.();
    }
    log(`${kind} round ${r + 1}/${rounds.length} done`);
  }
}

/** Container 0 is a warm-up that stays attached throughout: the first attach
 * makes a peer's bridge and chains, and netavark deletes its bridge with the
 * last container, so neither one-time cost lands in the samples. */
export async function runRounds(systems: System[], n: number, rounds: number, log: Log): Promise<Map<string, SystemResult>> {
  const res = new Map<string, SystemResult>(systems.map((s) => [s.name, { attach: [], detach: [], gone: [], attachNs: [], detachNs: [] }]));
  const run: Run = { res, watchers: new Map(), veths: new Map() };
  try {
    for (const s of systems) {
      const w = new GoneWatcher(s.hostNs);
      run.watchers.set(s.name, w);
      await w.start();
      await attachOne(s, 0, run);
      const problems = await s.verify(0);
      if (problems.length) throw new Error(`${s.name}: an attach did not attach: ${problems.join('; ')}`);
    }
    const plan = chunks(n, rounds);
    await phase(systems, plan, run, 'attach', log);
    // Counted at the peak, with N attached, on an extra container outside the samples.
    for (const s of systems) res.get(s.name)!.procs = await s.processes(n + 1);
    await phase(systems, plan, run, 'detach', log);
    for (const s of systems) { const c = s.cpu?.(); if (c) res.get(s.name)!.cpu = c; }
    for (const s of systems) await detachOne(s, 0, run);
    for (const [name, w] of run.watchers) if (w.overruns) log(`${name}: the link watcher lost notifications ${w.overruns} times`);
  } finally {
    for (const w of run.watchers.values()) w.stop();
  }
  return res;
}
