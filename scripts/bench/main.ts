// npm run bench: the floor, lnetd and its peers side by side in one run, each
// in a throwaway host namespace, then lnetd's concurrency, scale, api and
// memory stages, each beside the floor or a bare Node server.
// Everything made is registered in cleanup.ts and removed on any exit.

import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PREFIX, RUN_ID, cleanupAll, installSignalHandlers, onCleanup, unmountUnder } from './cleanup.js';
import { type Options, type SystemName, parseOptions, USAGE } from './args.js';
import { hasBinary } from './proc.js';
import type { System } from './system.js';
import { PeerSystem } from './peers/system.js';
import { LnetdSystem } from './lnetd/system.js';
import { DAEMON_MAIN, nodeFlags } from './lnetd/daemon.js';
import { CNI_BRIDGE } from './peers/cni.js';
import { NETAVARK } from './peers/netavark.js';
import { runRounds } from './runner.js';
import { FloorSystem } from './floor/system.js';
import { FLOOR_BIN } from './floor/process.js';
import { concurrency } from './concurrency.js';
import { scaleAndMemory } from './scale.js';
import { apiBench } from './api.js';
import { httpFloor } from './http-floor.js';
import { cniPluginBench } from './cni-plugin.js';
import { dnsBench, dnsTable } from './dns.js';
import { table, toJson } from './report.js';
import { median, round3 } from './stats.js';

const log = (m: string): void => { process.stderr.write(`bench: ${m}\n`); };

const NEEDS: Record<SystemName, string> = { floor: FLOOR_BIN, lnetd: DAEMON_MAIN, 'lnetd-docker': DAEMON_MAIN, cni: CNI_BRIDGE, netavark: NETAVARK, iproute2: '/usr/sbin/ip' };
const OURS: SystemName[] = ['floor', 'lnetd', 'lnetd-docker'];

/** Peers whose binary is absent are skipped, loudly; lnetd or the floor missing is an error. */
function available(names: SystemName[]): SystemName[] {
  return names.filter((s) => {
    if (OURS.includes(s) && !existsSync(NEEDS[s])) throw new Error(`${NEEDS[s]} missing: run npm run build`);
    if (!OURS.includes(s) && !hasBinary(NEEDS[s])) { log(`SKIP ${s}: ${NEEDS[s]} not installed`); return false; }
    return true;
  });
}

function makeTmp(): string {
  const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${RUN_ID}-`));
  // Registered first, so it runs last: after daemons stop and namespaces go.
  onCleanup(`tmp dir ${dir}`, () => { unmountUnder(dir); rmSync(dir, { recursive: true, force: true }); });
  return dir;
}

async function bench(o: Options): Promise<void> {
  const names = available(o.only);
  const tmp = makeTmp();
  if (o.profile) nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${resolve(o.profile)}`);
  log(`run ${RUN_ID}: ${names.join(', ')}; n=${o.n}, ${o.rounds} rounds; tmp ${tmp}`);
  const make = (s: SystemName): System => (s === 'floor' ? new FloorSystem(tmp)
    : s === 'lnetd' ? new LnetdSystem(tmp, 'seed') : s === 'lnetd-docker' ? new LnetdSystem(tmp, 'docker') : new PeerSystem(s, tmp));
  const systems = names.map(make);
  for (const s of systems) await s.start();
  const res = await runRounds(systems, o.n, o.rounds, log);
  for (const s of systems) await s.stop();
  const lnetd = names.includes('lnetd');
  const floor = systems.find((s): s is FloorSystem => s instanceof FloorSystem);
  const floorParts = floor && floor.parts.ns.length
    ? { netns_ms: round3(median(floor.parts.ns)), veth_ms: round3(median(floor.parts.veth)), inside_ms: round3(median(floor.parts.inside)) }
    : null;
  const http = lnetd ? await httpFloor(tmp, o.n * o.rounds) : null;
  let conc = null;
  if (lnetd && o.concurrentN > 0) { log(`concurrency: ${o.clients.join(', ')} clients, ${o.concurrentN} attaches each`); conc = await concurrency(tmp, o.clients, o.concurrentN, log); }
  let sm = null;
  if (lnetd && o.scale > 0) { log(`scale: ${o.scale} attaches`); sm = await scaleAndMemory(tmp, o.scale, log); }
  let api = null;
  if (lnetd && o.apiSeconds > 0) { log(`api: ${o.apiSeconds} s per server`); api = await apiBench(tmp, o.apiNetworks, o.connections, o.apiSeconds); }
  const cniPlugin = lnetd && o.only.includes('cni') ? await cniPluginBench(tmp, Math.min(o.n, 50), log) : null;
  // the DNS stage (scripts/bench/dns.ts): not in --smoke; LNETD_BENCH_DNS_SECONDS=0 skips it
  const dnsSeconds = o.smoke ? 0 : Number(process.env.LNETD_BENCH_DNS_SECONDS ?? 3);
  const dns = lnetd && dnsSeconds > 0 ? await dnsBench(tmp, dnsSeconds, log) : null;
  const j = { ...toJson(o.n, res, { floor_parts: floorParts, http_floor: http, concurrency: conc, scale: sm?.scale ?? null, api, memory: sm?.memory ?? null }), cni_plugin: cniPlugin, dns };
  process.stdout.write(table(j, res));
  if (cniPlugin) process.stdout.write(`CNI ADD end to end (process per call, n=${cniPlugin.n}): lnetd-cni ${cniPlugin.lnetd_cni.add.median_ms} / ${cniPlugin.lnetd_cni.add.p95_ms} ms, bridge+host-local ${cniPlugin.cni_bridge?.add.median_ms ?? '-'} / ${cniPlugin.cni_bridge?.add.p95_ms ?? '-'} ms (median / p95; x${cniPlugin.add_x_bridge ?? '-'}); DEL ${cniPlugin.lnetd_cni.del.median_ms} vs ${cniPlugin.cni_bridge?.del.median_ms ?? '-'} ms; node itself starts in ${cniPlugin.node_start_ms} ms\n`);
  if (dns) process.stdout.write(dnsTable(dns));
  if (o.json) writeFileSync(o.json, JSON.stringify(j, null, 2) + '\n');
}

async function main(): Promise<void> {
  let o: Options;
  try { o = parseOptions(process.argv.slice(2)); } catch (e) { log(String((e as Error).message)); log(USAGE); process.exit(2); }
  if (process.getuid?.() !== 0) { log('needs root (namespaces, bridges, firewalls)'); process.exit(2); }
  installSignalHandlers();
  try {
    await bench(o);
  } catch (e) {
    log(`FAILED: ${(e as Error).stack ?? String(e)}`);
    process.exitCode = 1;
  } finally {
    cleanupAll();
  }
}

await main();
