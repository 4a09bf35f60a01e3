// The two outputs: the JSON of issue 4's exact shape and a table for people.

import { cpus, release, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { type Summary, median, round3, summarize } from './stats.js';
import type { SystemResult } from './runner.js';
import type { ScaleResult, MemoryResult } from './scale.js';
import type { ApiResult } from './api.js';

export interface SystemJson { attach: Summary; detach: Summary; processes_per_attach: number }
export interface BenchJson {
  date: string; machine: string; n: number;
  systems: Record<string, SystemJson>;
  scale: ScaleResult | null; api: ApiResult | null; memory: MemoryResult | null;
}

export function machine(): string {
  const os = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Linux';
  const cpu = cpus();
  return `${cpu.length} vCPU ${cpu[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GB RAM, ${os}, kernel ${release()}, Node ${process.version}`;
}

export function toJson(n: number, res: Map<string, SystemResult>, extra: Pick<BenchJson, 'scale' | 'api' | 'memory'>): BenchJson {
  const systems: Record<string, SystemJson> = {};
  for (const [name, r] of res) {
    systems[name] = { attach: summarize(r.attach), detach: summarize(r.detach), processes_per_attach: round3(r.procs?.perAttach ?? NaN) };
  }
  return { date: new Date().toISOString(), machine: machine(), n, systems, ...extra };
}

const pad = (s: string, w: number): string => (s.length >= w ? s : s + ' '.repeat(w - s.length));
const lpad = (s: string, w: number): string => (s.length >= w ? s : ' '.repeat(w - s.length) + s);
const f = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : '-');

function systemsTable(j: BenchJson, res: Map<string, SystemResult>): string[] {
  const l = j.systems.lnetd;
  const head = ['system', 'attach med', 'p95', 'detach med', 'p95', 'netns add', 'procs/attach', 'lnetd attach x', 'lnetd detach x'];
  const widths = [10, 11, 8, 11, 8, 10, 13, 15, 15];
  const rows = [head.map((h, k) => (k ? lpad(h, widths[k]!) : pad(h, widths[k]!))).join(' ')];
  for (const [name, s] of Object.entries(j.systems)) {
    const r = res.get(name)!;
    const ratioA = l && name !== 'lnetd' ? f(l.attach.median_ms / s.attach.median_ms) : '';
    const ratioD = l && name !== 'lnetd' ? f(l.detach.median_ms / s.detach.median_ms) : '';
    const cells = [name, f(s.attach.median_ms), f(s.attach.p95_ms), f(s.detach.median_ms), f(s.detach.p95_ms),
      r.attachNs.length ? f(median(r.attachNs)) : 'in join', f(s.processes_per_attach, 1), ratioA, ratioD];
    rows.push(cells.map((c, k) => (k ? lpad(c, widths[k]!) : pad(c, widths[k]!))).join(' '));
  }
  return rows;
}

function procLine(name: string, r: SystemResult): string {
  const p = r.procs!;
  const detach = p.perDetach !== undefined ? `, ${p.perDetach}/detach` : '';
  // Top-level execs per attach from the Node worker: ip netns add + the tool (iproute2: two ip).
  const spawn = p.spawnMs !== undefined ? `; Node exec of true ${f(p.spawnMs)} ms, paid ${name === 'iproute2' ? 3 : 2}x per attach` : '';
  return `  ${name}: ${f(p.perAttach, 1)} processes/attach${detach} (${p.method})${spawn}`;
}

export function table(j: BenchJson, res: Map<string, SystemResult>): string {
  const out = [`lnetd bench ${j.date}  n=${j.n}`, j.machine, '', 'ms per container; attach includes creating the network namespace for every system', ''];
  out.push(...systemsTable(j, res));
  for (const [name, r] of res) if (r.procs) out.push(procLine(name, r));
  if (j.scale) out.push('', `scale:  ${j.scale.containers} sequential attaches in ${f(j.scale.total_s)} s; median first 100 ${f(j.scale.first100_median_ms)} ms, last 100 ${f(j.scale.last100_median_ms)} ms`);
  if (j.api) out.push(`api:    GET /networks (${j.api.networks} networks, ${j.api.connections} connections): lnetd ${f(j.api.lnetd_rps, 0)} req/s (p99 ${f(j.api.lnetd_p99_ms)} ms), bare node ${f(j.api.bare_node_rps, 0)} req/s, ratio ${f(j.api.lnetd_rps / j.api.bare_node_rps)}`);
  if (j.memory) out.push(`memory: RSS ${f(j.memory.rss_mb, 1)} MB with ${j.memory.endpoints} endpoints; restart until they are served ${f(j.memory.startup_s, 3)} s`);
  out.push('', ...targets(j));
  return out.join('\n') + '\n';
}

/** Issue 4's targets, each marked met or missed, so a run reads as a verdict. */
function targets(j: BenchJson): string[] {
  const l = j.systems.lnetd;
  const t: [string, boolean | undefined][] = [];
  const s = j.systems;
  if (l) {
    const peers = [s.cni, s.netavark].filter((x): x is SystemJson => !!x).map((x) => x.attach.median_ms);
    if (peers.length) t.push([`attach <= 0.25x faster of cni/netavark (${f(0.25 * Math.min(...peers))} ms)`, l.attach.median_ms <= 0.25 * Math.min(...peers)]);
    if (s.iproute2) t.push([`attach <= 1.0x iproute2 floor (${f(s.iproute2.attach.median_ms)} ms)`, l.attach.median_ms <= s.iproute2.attach.median_ms]);
    if (s.netavark) t.push([`detach <= 0.25x netavark (${f(0.25 * s.netavark.detach.median_ms)} ms)`, l.detach.median_ms <= 0.25 * s.netavark.detach.median_ms]);
  }
  if (j.scale) {
    t.push([`${j.scale.containers} attaches <= 5 s`, j.scale.total_s <= 5]);
    t.push(['last 100 <= 1.2x first 100', j.scale.last100_median_ms <= 1.2 * j.scale.first100_median_ms]);
  }
  if (j.api) t.push(['api >= 0.7x bare node, p99 < 5 ms', j.api.lnetd_rps >= 0.7 * j.api.bare_node_rps && j.api.lnetd_p99_ms < 5]);
  if (j.memory) t.push(['RSS <= 100 MB, start-up <= 1 s', j.memory.rss_mb <= 100 && j.memory.startup_s <= 1]);
  return t.length ? ['targets:', ...t.map(([what, ok]) => `  ${ok ? 'met   ' : 'MISSED'} ${what}`)] : [];
}
