// The two outputs: JSON for machines and a table for people. Every system's
// figures are also given as ratios to the floor measured in the same run,
// since only ratios within one run mean anything on a noisy VM.

import { cpus, release, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { type Summary, median, round3, summarize } from './stats.js';
import type { SystemResult } from './runner.js';
import type { ScaleResult, MemoryResult } from './scale.js';
import type { ApiResult } from './api.js';
import type { HttpFloor } from './http-floor.js';
import type { ConcurrencyResult, Level } from './concurrency.js';

export interface SystemJson {
  attach: Summary; detach: Summary;
  /** From asking for the detach until the host veth was really deleted (by the system or by the kernel's reaping). */
  gone: Summary;
  attach_x_floor: number; detach_x_floor: number; gone_x_floor: number;
  processes_per_attach: number;
  /** Daemons only: their CPU time (all threads) per attach and per detach, ms, from /proc/<pid>/stat
   *  (10 ms ticks summed over every sample): the figure a loaded machine disturbs least. */
  cpu_per_attach?: CpuJson; cpu_per_detach?: CpuJson;
}
export interface CpuJson { user_ms: number; sys_ms: number; total_ms: number }
export interface FloorParts { netns_ms: number; veth_ms: number; inside_ms: number }
export interface BenchJson {
  date: string; machine: string; n: number;
  systems: Record<string, SystemJson>;
  floor_parts: FloorParts | null;
  /** Two requests to a bare node:http server: the least an HTTP-driven attach or detach costs. */
  http_floor: HttpFloor | null;
  concurrency: ConcurrencyResult | null;
  scale: ScaleResult | null; api: ApiResult | null; memory: MemoryResult | null;
}

export function machine(): string {
  const os = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Linux';
  const cpu = cpus();
  return `${cpu.length} vCPU ${cpu[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GB RAM, ${os}, kernel ${release()}, Node ${process.version}`;
}

const ratio = (a: number, b: number): number => round3(a / b);

function cpuJson(c: { user: number; sys: number; n: number }): CpuJson {
  return { user_ms: round3(c.user / c.n), sys_ms: round3(c.sys / c.n), total_ms: round3((c.user + c.sys) / c.n) };
}

export function toJson(n: number, res: Map<string, SystemResult>, extra: Omit<BenchJson, 'date' | 'machine' | 'n' | 'systems'>): BenchJson {
  const systems: Record<string, SystemJson> = {};
  const fl = res.get('floor');
  const floor = fl && { attach: median(fl.attach), detach: median(fl.detach), gone: median(fl.gone.filter(Number.isFinite)) };
  for (const [name, r] of res) {
    const gone = r.gone.filter(Number.isFinite);
    systems[name] = {
      attach: summarize(r.attach), detach: summarize(r.detach), gone: summarize(gone.length === r.gone.length ? gone : []),
      attach_x_floor: floor ? ratio(median(r.attach), floor.attach) : NaN,
      detach_x_floor: floor ? ratio(median(r.detach), floor.detach) : NaN,
      gone_x_floor: floor ? ratio(median(gone), floor.gone) : NaN,
      processes_per_attach: round3(r.procs?.perAttach ?? NaN),
      ...(r.cpu ? { cpu_per_attach: cpuJson(r.cpu.attach), cpu_per_detach: cpuJson(r.cpu.detach) } : {}),
    };
  }
  return { date: new Date().toISOString(), machine: machine(), n, systems, ...extra };
}

const pad = (s: string, w: number): string => (s.length >= w ? s : s + ' '.repeat(w - s.length));
const lpad = (s: string, w: number): string => (s.length >= w ? s : ' '.repeat(w - s.length) + s);
const f = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : '-');
const x = (r: number): string => (Number.isFinite(r) ? `${r.toFixed(2)}x` : '-');

const LABEL: Record<string, string> = { floor: 'floor', lnetd: 'lnetd', 'lnetd-docker': 'lnetd connect', cni: 'cni', netavark: 'netavark', iproute2: 'iproute2 (peer)' };

function systemsTable(j: BenchJson, res: Map<string, SystemResult>): string[] {
  const head = ['system', 'attach', 'p95', 'x floor', 'detach', 'p95', 'x floor', 'gone', 'x floor', 'netns add', 'procs'];
  const widths = [16, 8, 8, 8, 8, 8, 8, 8, 8, 10, 6];
  const row = (cells: string[]): string => cells.map((c, k) => (k ? lpad(c, widths[k]!) : pad(c, widths[k]!))).join(' ');
  const rows = [row(head)];
  for (const [name, s] of Object.entries(j.systems)) {
    const r = res.get(name)!;
    rows.push(row([LABEL[name] ?? name, f(s.attach.median_ms), f(s.attach.p95_ms), x(s.attach_x_floor),
      f(s.detach.median_ms), f(s.detach.p95_ms), x(s.detach_x_floor), f(s.gone.median_ms), x(s.gone_x_floor),
      r.attachNs.length ? f(median(r.attachNs)) : name === 'floor' ? f(j.floor_parts?.netns_ms ?? NaN) : 'in join',
      f(s.processes_per_attach, 1)]));
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

function levelLine(l: Level, fl?: Level): string {
  const vs = fl ? `; floor ${f(fl.per_s, 0)}/s, p99 ${f(fl.p99_ms)} ms; lnetd ${x(l.per_s / fl.per_s)} the floor's rate` : '';
  return `  ${String(l.clients).padStart(2)} at once: lnetd ${f(l.per_s, 0)} attaches/s, median ${f(l.median_ms)} ms, p99 ${f(l.p99_ms)} ms${vs}`;
}

export function table(j: BenchJson, res: Map<string, SystemResult>): string {
  const out = [`lnetd bench ${j.date}  n=${j.n}`, j.machine, '',
    'ms per container (medians); attach includes creating the network namespace for every system;',
    'gone: from asking for the detach until the host veth is really deleted', ''];
  out.push(...systemsTable(j, res));
  if (j.floor_parts) out.push(`  floor: namespace ${f(j.floor_parts.netns_ms)} ms, veth message ${f(j.floor_parts.veth_ms)} ms, inside message ${f(j.floor_parts.inside_ms)} ms`);
  const fl = j.systems.floor;
  if (j.http_floor && fl) {
    const h = j.http_floor.two_requests_ms;
    out.push(`  bare HTTP: two requests to a bare node:http server over a unix socket ${f(h)} ms (n=${j.http_floor.n}): ${x(h / fl.attach.median_ms)} the floor's attach, ${x(h / fl.detach.median_ms)} its detach`);
    const b = bounds(j);
    if (b) out.push(`  synced LevelDB write ${f(j.http_floor.sync_write_ms)} ms; floor + bare HTTP + that write, the least a daemon driven over HTTP that syncs its records can do: attach ${x(b.attach)}, detach ${x(b.detach)} the floor`);
  }
  for (const [name, r] of res) if (r.procs) out.push(procLine(name, r));
  if (j.systems['lnetd-docker']) out.push('  lnetd connect: the Docker API\'s POST /networks/{id}/connect (endpoint + join in one request and one operation); detach: /disconnect');
  for (const [name, s] of Object.entries(j.systems)) {
    if (!s.cpu_per_attach || !s.cpu_per_detach) continue;
    const c = (x: CpuJson): string => `${f(x.total_ms)} ms (user ${f(x.user_ms)}, sys ${f(x.sys_ms)})`;
    out.push(`  ${LABEL[name] ?? name}: daemon CPU per attach ${c(s.cpu_per_attach)}, per detach ${c(s.cpu_per_detach)}`);
  }
  if (j.concurrency) {
    out.push('', 'concurrency (clients against as many floor processes):');
    for (const l of j.concurrency.lnetd) out.push(levelLine(l, j.concurrency.floor.find((fl) => fl.clients === l.clients)));
  }
  if (j.scale) {
    const s = j.scale;
    out.push('', `scale:  ${s.containers} sequential attaches: lnetd ${f(s.total_s)} s (first 100 median ${f(s.first100_median_ms)} ms, last 100 ${f(s.last100_median_ms)} ms), floor ${f(s.floor.total_s)} s (${f(s.floor.first100_median_ms)} / ${f(s.floor.last100_median_ms)} ms): ${x(s.x_floor)}`);
  }
  if (j.api) out.push(`api:    GET /networks (${j.api.networks} networks, ${j.api.connections} connections): lnetd ${f(j.api.lnetd_rps, 0)} req/s, p99 ${f(j.api.lnetd_p99_ms)} ms; bare node ${f(j.api.bare_node_rps, 0)} req/s, p99 ${f(j.api.bare_node_p99_ms)} ms: ${x(j.api.rps_x_bare)} throughput, ${x(j.api.p99_x_bare)} p99`);
  if (j.memory) out.push(`memory: RSS ${f(j.memory.rss_mb, 1)} MB with ${j.memory.endpoints} endpoints; restart until they are served ${f(j.memory.startup_s, 3)} s${j.memory.settle_s !== undefined ? ` (timed once the machine was quiet again, ${f(j.memory.settle_s, 1)} s after the attaches)` : ''}`);
  out.push('', ...targets(j));
  return out.join('\n') + '\n';
}

/** floor + two bare requests + one synced write, as a ratio to the floor's attach and detach. */
export function bounds(j: BenchJson): { attach: number; detach: number } | undefined {
  const fl = j.systems.floor;
  const h = j.http_floor;
  if (!fl || !h || h.sync_write_ms === undefined) return undefined;
  const extra = h.two_requests_ms + h.sync_write_ms;
  return { attach: (fl.attach.median_ms + extra) / fl.attach.median_ms, detach: (fl.detach.median_ms + extra) / fl.detach.median_ms };
}

/** Issue 13's targets, each marked met or missed, so a run reads as a verdict. */
export function targets(j: BenchJson): string[] {
  const l = j.systems.lnetd;
  const t: [string, boolean][] = [];
  if (l && j.systems.floor) {
    const b = bounds(j);
    const least = (r: number | undefined): string => (r === undefined ? '' : `; HTTP + synced write alone: ${x(r)}`);
    t.push([`attach <= 1.5x floor (${x(l.attach_x_floor)}${least(b?.attach)})`, l.attach_x_floor <= 1.5]);
    t.push([`detach <= 1.5x floor (${x(l.detach_x_floor)}${least(b?.detach)})`, l.detach_x_floor <= 1.5]);
  }

  const c = j.concurrency;
  if (c && c.lnetd.length) {
    const top = c.lnetd.reduce((a, b) => (b.clients > a.clients ? b : a));
    const fl = c.floor.find((z) => z.clients === top.clients);
    if (fl) t.push([`${top.clients} clients >= 0.8x ${top.clients} floor processes (${x(top.per_s / fl.per_s)})`, top.per_s >= 0.8 * fl.per_s]);
    // the floor's own p99 with as many processes, against its sequential median: what the kernel and the two cores allow anyone
    const own = fl && j.systems.floor ? `; the floor's own: ${x(fl.p99_ms / j.systems.floor.attach.median_ms)}` : '';
    if (l) t.push([`p99 with ${top.clients} clients <= 3x sequential median (${x(top.p99_ms / l.attach.median_ms)}${own})`, top.p99_ms <= 3 * l.attach.median_ms]);
  }
  if (j.scale) {
    const s = j.scale;
    // the floor's total plus two bare requests and a synced write per attach
    const h = j.http_floor;
    const least = h && h.sync_write_ms !== undefined ? `; HTTP + synced write alone: ${x((s.floor.total_s + (s.containers * (h.two_requests_ms + h.sync_write_ms)) / 1000) / s.floor.total_s)}` : '';
    t.push([`${s.containers} sequential attaches <= 1.3x the floor's total (${x(s.x_floor)}${least})`, s.x_floor <= 1.3]);
  }
  if (j.api) t.push([`api >= 0.9x bare node throughput, p99 <= 1.2x its p99 (${x(j.api.rps_x_bare)}, ${x(j.api.p99_x_bare)})`, j.api.rps_x_bare >= 0.9 && j.api.p99_x_bare <= 1.2]);
  if (j.memory) t.push(['RSS <= 100 MB with them joined, start-up <= 1 s', j.memory.rss_mb <= 100 && j.memory.startup_s <= 1]);
  return t.length ? ['targets:', ...t.map(([what, ok]) => `  ${ok ? 'met   ' : 'MISSED'} ${what}`)] : [];
}
