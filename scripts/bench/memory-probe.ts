// A smaller version of the bench's memory stage, for the one working on it:
// N sequential attaches on one network of one daemon (no floor beside it),
// the daemon's CPU per attach, its RSS and where it goes (/proc smaps_rollup,
// and with MEMPROBE_DUMP=1 V8's heap spaces from a preload that answers
// SIGUSR2), then R restarts timed until the API answers with all N.
//   node dist/scripts/bench/memory-probe.js [N=1000] [R=3]
// LNETD_BENCH_DAEMON compares another build; MEMPROBE_FLAGS adds node flags
// (space separated) to the daemon's. MEMPROBE_FLOOR=1 does what the bench's
// scale stage does beside them: the same N attaches by the floor on a bridge
// of its own, in chunks of 100 alternating with lnetd's, its namespaces kept
// until the end (to tell what of the stage's restart time is the floor's);
// MEMPROBE_SETTLE=S waits S seconds before the restarts.

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupAll, deleteNetns, installSignalHandlers, onCleanup, unmountUnder } from './cleanup.js';
import { createHostNs } from './netns.js';
import { Daemon, nodeFlags } from './lnetd/daemon.js';
import { NETWORK_BODY, attachOne } from './lnetd/system.js';
import { FloorProcess } from './floor/process.js';
import { FLOOR_BRIDGE, createFloorHost } from './floor/host.js';

const PRELOAD = `import v8 from 'node:v8'; import { writeFileSync } from 'node:fs';
process.on('SIGUSR2', () => { writeFileSync(process.env.MEMPROBE_OUT, JSON.stringify({ mem: process.memoryUsage(), spaces: v8.getHeapSpaceStatistics(), heap: v8.getHeapStatistics() })); });`;

function smaps(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+) kB/.exec(l);
    if (m) out[m[1]!] = Math.round(Number(m[2]) / 102.4) / 10;
  }
  return out;
}

/** Resident memory by kind of mapping: the binary, other files, malloc's heap, anonymous by size. */
function mappings(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let name = ''; let size = 0;
  for (const l of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const h = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \d+\s*(.*)$/.exec(l);
    if (h) { size = (parseInt(h[2]!, 16) - parseInt(h[1]!, 16)) / 1024; name = h[3] ?? ''; continue; }
    const m = /^Rss:\s+(\d+) kB/.exec(l);
    if (!m) continue;
    const kind = name.includes('/node') ? 'node binary' : name.endsWith('.node') ? 'addons' : name.startsWith('/') ? 'other files'
      : name === '[heap]' ? 'brk heap' : name.startsWith('[') ? name : size === 256 ? 'anon 256K (V8 pages)' : size >= 60 * 1024 ? 'anon >=60M (arenas, V8 reservations)' : `anon other`;
    out[kind] = (out[kind] ?? 0) + Number(m[1]) / 1024;
    if (kind === 'anon other' && Number(m[1]) > 512) out[`  ${Math.round(size / 1024)}M mapping`] = Math.round((out[`  ${Math.round(size / 1024)}M mapping`] ?? 0) + Number(m[1]) / 1024);
  }
  for (const k of Object.keys(out)) out[k] = Math.round(out[k]! * 10) / 10;
  return out;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 1000);
  const restarts = Number(process.argv[3] ?? 3);
  installSignalHandlers();
  const tmp = mkdtempSync(join(tmpdir(), 'lnetd-memprobe-'));
  onCleanup(`tmp ${tmp}`, () => { unmountUnder(tmp); rmSync(tmp, { recursive: true, force: true }); });
  const dumpFile = join(tmp, 'dump.json');
  if (process.env.MEMPROBE_DUMP) {
    writeFileSync(join(tmp, 'preload.mjs'), PRELOAD);
    nodeFlags.push('--import', join(tmp, 'preload.mjs'));
    process.env.MEMPROBE_OUT = dumpFile;
  }
  if (process.env.MEMPROBE_FLAGS) nodeFlags.push(...process.env.MEMPROBE_FLAGS.split(' ').filter(Boolean));
  const host = createHostNs('memprobe');
  onCleanup(`netns ${host}`, () => deleteNetns(host));
  const d = new Daemon(host, join(tmp, 'd'), (process.env.MEMPROBE_ARGS ?? '').split(' ').filter(Boolean));
  onCleanup('daemon', () => { void d.stop(); });
  await d.start();
  const net = await d.client.call<string>('POST', '/networks', NETWORK_BODY);
  // a warm-up of 20, like the bench's rounds before the scale stage, then the CPU of the rest
  const warm = Math.min(20, n);
  for (let i = 0; i < warm; i++) await attachOne(d.client, net, `s${i}`, randomBytes(32).toString('hex'));
  const floorHost = process.env.MEMPROBE_FLOOR === '1' ? createFloorHost(tmp, 'floor-memprobe', '10.236') : undefined;
  if (floorHost) onCleanup(`netns ${floorHost.ns}`, () => { unmountUnder(floorHost.netnsDir); deleteNetns(floorHost.ns); });
  const floor = floorHost && new FloorProcess(floorHost.ns, floorHost.netnsDir, FLOOR_BRIDGE, floorHost.prefix16);
  let lnetdCpu = 0;
  let wall = 0;
  for (let from = warm, k = 0; from < n; from += 100, k++) {
    const to = Math.min(n, from + 100);
    if (floor && k % 2 === 0) for (let i = from; i < to; i++) await floor.attach(i + 1);
    const c0 = d.cpuMs();
    const t0 = performance.now();
    for (let i = from; i < to; i++) await attachOne(d.client, net, `s${i}`, randomBytes(32).toString('hex'));
    wall += performance.now() - t0;
    const c1 = d.cpuMs();
    lnetdCpu += c1.user + c1.sys - c0.user - c0.sys;
    if (floor && k % 2 === 1) for (let i = from; i < to; i++) await floor.attach(i + 1);
  }
  await floor?.stop();
  const per = lnetdCpu / (n - warm);
  await new Promise((r) => setTimeout(r, 200));
  const res: Record<string, unknown> = {
    daemon: process.env.LNETD_BENCH_DAEMON ?? 'this tree', flags: nodeFlags.join(' '), n,
    ...(floor ? { floor: n - warm } : {}), cpu_per_attach_ms: Math.round(per * 100) / 100,
    wall_per_attach_ms: Math.round(wall / (n - warm) * 100) / 100, rss_mb: Math.round(d.rssMb() * 10) / 10,
    smaps: smaps(d.processId), maps: mappings(d.processId), load: readFileSync('/proc/loadavg', 'utf8').trim(),
  };
  if (process.env.MEMPROBE_DUMP) {
    process.kill(d.processId, 'SIGUSR2');
    for (let i = 0; i < 100 && !existsSync(dumpFile); i++) await new Promise((r) => setTimeout(r, 20));
    const j = JSON.parse(readFileSync(dumpFile, 'utf8'));
    const mb = (x: number) => Math.round(x / 104857.6) / 10;
    res.mem = Object.fromEntries(Object.entries(j.mem as Record<string, number>).map(([k, v]) => [k, mb(v)]));
    res.spaces = Object.fromEntries((j.spaces as Array<{ space_name: string; space_size: number; space_used_size: number; physical_space_size: number }>).map((s) => [s.space_name, `${mb(s.space_used_size)}/${mb(s.physical_space_size)}/${mb(s.space_size)}`]));
    res.malloced_mb = mb(j.heap.malloced_memory); res.peak_malloced_mb = mb(j.heap.peak_malloced_memory);
  }
  await new Promise((r) => setTimeout(r, 1000 * Number(process.env.MEMPROBE_SETTLE ?? 0)));
  const starts: number[] = [];
  const startCpu: number[] = [];
  for (let r = 0; r < restarts; r++) {
    await d.stop();
    starts.push(Math.round(1000 * await d.start(async () => {
      const x = await d.client.request('GET', `/networks/${net}/endpoints`);
      return x.status === 200 && (JSON.parse(x.body) as unknown[]).length === n;
    })) / 1000);
    const c = d.cpuMs();
    startCpu.push(c.user + c.sys);
  }
  res.startup_cpu_ms = startCpu;
  res.startup_s = starts;
  res.rss_after_restart_mb = Math.round(d.rssMb() * 10) / 10;
  res.maps_after_restart = mappings(d.processId);
  await d.stop();
  if (process.env.MEMPROBE_LOG) writeFileSync(process.env.MEMPROBE_LOG, readFileSync(join(d.dir, 'daemon.log')));
  process.stdout.write(JSON.stringify(res) + '\n');
  cleanupAll();
}

main().catch((err) => { process.stderr.write(`memory-probe: ${err?.stack ?? err}\n`); cleanupAll(); process.exit(1); });
