// dns: the embedded resolver beside aardvark-dns 1.4.0 (podman's), each in a
// throwaway host namespace of its own, on a network with 100 containers:
// queries per second and p50/p99 latency for one container's name, from 1
// and from 16 clients at once (one closed-loop client per container, each in
// that container's namespace). lnetd's 100 containers are real joins; the
// aardvark side has a bridge with the clients' 16 namespaces on it and all
// 100 containers in its config file (one line each, as netavark writes it).
// lnetd runs with its per-container rate limit raised (--dns-rate), so the
// figure is the resolver's, not the limiter's; neither forwards anything.

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deleteNetns, onCleanup, stopPid } from './cleanup.js';
import { createHostNs, hostNsPath } from './netns.js';
import { Daemon } from './lnetd/daemon.js';
import { hasBinary, runSync } from './proc.js';
import { percentile, round3 } from './stats.js';

export const AARDVARK = '/usr/lib/podman/aardvark-dns';
const CLIENT = fileURLToPath(new URL('./dns-client.js', import.meta.url));
const CONTAINERS = 100;

export interface DnsLoad { clients: number; qps: number; p50_ms: number; p99_ms: number; lost: number }
export interface DnsSide { system: string; loads: DnsLoad[] }
export interface DnsResult { containers: number; seconds: number; sides: DnsSide[]; join_visible_ms: number | null }

const cid = (i: number) => i.toString(16).padStart(8, '0').repeat(8);

/** `clients` closed-loop clients at once, each in its own namespace; merged figures. */
async function load(namespaces: string[], server: string, name: string, seconds: number, clients: number): Promise<DnsLoad> {
  const runs = namespaces.slice(0, clients).map((ns) => new Promise<{ answered: number; lost: number; lat_us: number[] }>((resolve, reject) => {
    const c = spawn('nsenter', [`--net=${ns}`, process.execPath, CLIENT, server, name, String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`dns client in ${ns} exited ${code}`))));
  }));
  const res = await Promise.all(runs);
  const lat = res.flatMap((r) => r.lat_us).sort((a, b) => a - b).map((us) => us / 1000);
  return { clients, qps: Math.round(lat.length / seconds), p50_ms: round3(percentile(lat, 50)), p99_ms: round3(percentile(lat, 99)), lost: res.reduce((s, r) => s + r.lost, 0) };
}

async function lnetdSide(tmp: string, seconds: number, loads: number[]): Promise<{ side: DnsSide; visible: number | null }> {
  const host = createHostNs('dnsl');
  const dir = join(tmp, 'dns-lnetd');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'host-resolv.conf'), '');
  const d = new Daemon(host, dir, ['--dns-resolv-conf', join(dir, 'host-resolv.conf'), '--dns-rate', '1000000']);
  await d.start();
  try {
    const net = JSON.parse((await d.client.request('POST', '/networks', { name: 'dnsbench', ipam: { subnet: '10.233.0.0/16' } })).body);
    const sandboxes: string[] = [];
    for (let i = 0; i < CONTAINERS; i++) {
      const ep = JSON.parse((await d.client.request('POST', `/networks/${net}/endpoints`, { name: `e${i}` })).body);
      sandboxes.push(JSON.parse((await d.client.request('POST', `/networks/${net}/endpoints/${ep}/containers`, { container_id: cid(i), host_name: `c${i}` })).body));
    }
    const out: DnsLoad[] = [];
    for (const n of loads) out.push(await load(sandboxes, '10.233.0.1', 'c50', seconds, n));
    // visibility after a join: a client that asks in a loop sees the new name how long after the join answered?
    const ep = JSON.parse((await d.client.request('POST', `/networks/${net}/endpoints`, { name: 'late' })).body);
    await d.client.request('POST', `/networks/${net}/endpoints/${ep}/containers`, { container_id: cid(999), host_name: 'late' });
    const t0 = performance.now();
    const seen = spawnSync('nsenter', [`--net=${sandboxes[0]}`, 'dig', '+short', '+tries=1', '@10.233.0.1', 'late'], { encoding: 'utf8' });
    const visible = seen.status === 0 && seen.stdout.trim() ? round3(performance.now() - t0) : null;
    return { side: { system: 'lnetd', loads: out }, visible };
  } finally {
    await d.stop();
  }
}

async function aardvarkSide(tmp: string, seconds: number, loads: number[]): Promise<DnsSide> {
  const host = createHostNs('dnsa');
  const dir = join(tmp, 'dns-aardvark');
  mkdirSync(dir, { recursive: true });
  const ip = (args: string[]) => runSync('ip', ['-n', host, ...args]);
  ip(['link', 'add', 'avbr0', 'type', 'bridge']);
  ip(['addr', 'add', '10.234.0.1/16', 'dev', 'avbr0']);
  ip(['link', 'set', 'avbr0', 'up']);
  const lines = ['10.234.0.1'];
  for (let i = 0; i < CONTAINERS; i++) lines.push(`${cid(i)} 10.234.0.${i + 2}  c${i},${cid(i).slice(0, 12)}`);
  writeFileSync(join(dir, 'dnsbench'), lines.join('\n') + '\n');
  const clients: string[] = [];
  for (let i = 0; i < Math.max(...loads); i++) {
    const ns = `${host}-c${i}`;
    onCleanup(`netns ${ns}`, () => deleteNetns(ns));
    runSync('ip', ['netns', 'add', ns]);
    runSync('ip', ['link', 'add', `av${i}`, 'netns', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    ip(['link', 'set', `av${i}`, 'master', 'avbr0', 'up']);
    runSync('ip', ['-n', ns, 'addr', 'add', `10.234.0.${i + 2}/16`, 'dev', 'eth0']);
    runSync('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    clients.push(`/run/netns/${ns}`);
  }
  // aardvark daemonizes itself and writes its pid into the config dir
  runSync('nsenter', [`--net=${hostNsPath(host)}`, AARDVARK, '--config', dir, '-p', '53', 'run']);
  const pid = Number(readFileSync(join(dir, 'aardvark.pid'), 'utf8').trim());
  onCleanup(`aardvark-dns pid ${pid}`, () => stopPid(pid));
  try {
    for (let i = 0; i < 50; i++) {
      if (spawnSync('nsenter', [`--net=${clients[0]}`, 'dig', '+short', '+tries=1', '+timeout=1', '@10.234.0.1', 'c50'], { encoding: 'utf8' }).stdout.trim()) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const out: DnsLoad[] = [];
    for (const n of loads) out.push(await load(clients, '10.234.0.1', 'c50', seconds, n));
    return { system: 'aardvark-dns 1.4.0', loads: out };
  } finally {
    stopPid(pid);
  }
}

export async function dnsBench(tmp: string, seconds: number, log: (m: string) => void): Promise<DnsResult> {
  const loads = [1, 16];
  const sides: DnsSide[] = [];
  const l = await lnetdSide(tmp, seconds, loads);
  sides.push(l.side);
  if (hasBinary(AARDVARK)) sides.push(await aardvarkSide(tmp, seconds, loads));
  else log(`dns: SKIP aardvark-dns: ${AARDVARK} not installed`);
  return { containers: CONTAINERS, seconds, sides, join_visible_ms: l.visible };
}

export function dnsTable(r: DnsResult): string {
  const rows = r.sides.flatMap((s) => s.loads.map((x) => `| ${s.system} | ${x.clients} | ${x.qps} | ${x.p50_ms} | ${x.p99_ms} | ${x.lost} |`));
  return [`DNS, a name on a network with ${r.containers} containers, ${r.seconds} s per load (closed-loop clients, one per container):`,
    '| resolver | clients | queries/s | p50 ms | p99 ms | lost |', '|---|---|---|---|---|---|', ...rows,
    `a name joined is answered to the first query after the join's reply: ${r.join_visible_ms === null ? 'no' : `yes (that dig took ${r.join_visible_ms} ms)`}`, ''].join('\n');
}
