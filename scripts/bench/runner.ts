// Rotated rounds: the N containers are split into rounds; in every round each
// system attaches its share, the order of systems rotating by one each round,
// so slow drift of the machine (thermal, page cache, other tenants) lands on
// all of them alike. Detaches go the same way once all N are attached, so each
// system reaches N containers at its peak.

import type { ProcCount, System } from './system.js';

export interface SystemResult {
  attach: number[]; detach: number[]; attachNs: number[]; detachNs: number[]; procs?: ProcCount;
}

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

async function phase(systems: System[], rounds: number[][], res: Map<string, SystemResult>, kind: 'attach' | 'detach', log: Log): Promise<void> {
  for (const [r, ids] of rounds.entries()) {
    for (const sys of rotate(systems, r)) {
      const out = res.get(sys.name)!;
      for (const i of ids) {
        const t = await sys[kind](i);
        (kind === 'attach' ? out.attach : out.detach).push(t.ms);
        if (t.nsMs !== undefined) (kind === 'attach' ? out.attachNs : out.detachNs).push(t.nsMs);
      }
    }
    log(`${kind} round ${r + 1}/${rounds.length} done`);
  }
}

/** Container 0 is a warm-up that stays attached throughout: the first attach
 * makes a peer's bridge and chains, and netavark deletes its bridge with the
 * last container, so neither one-time cost lands in the samples. */
export async function runRounds(systems: System[], n: number, rounds: number, log: Log): Promise<Map<string, SystemResult>> {
  const res = new Map<string, SystemResult>(systems.map((s) => [s.name, { attach: [], detach: [], attachNs: [], detachNs: [] }]));
  for (const s of systems) {
    await s.attach(0);
    const problems = await s.verify(0);
    if (problems.length) throw new Error(`${s.name}: an attach did not attach: ${problems.join('; ')}`);
  }
  const plan = chunks(n, rounds);
  await phase(systems, plan, res, 'attach', log);
  // Counted at the peak, with N attached, on an extra container outside the samples.
  for (const s of systems) res.get(s.name)!.procs = await s.processes(n + 1);
  await phase(systems, plan, res, 'detach', log);
  for (const s of systems) await s.detach(0);
  return res;
}
