// cni-plugin: a CNI ADD end to end, as a runtime pays for it — one plugin
// process started with the config on stdin, until it exits with its result —
// for lnetd-cni (a client of a running lnetd) beside the CNI bridge plugin
// with host-local IPAM (PEERS.md's invocation). Each runs in its own throwaway
// host namespace, started the same way (nsenter --net= into it), in
// alternating order; the runtime namespace is made before and deleted after
// each, untimed; every ADD is followed by its DEL (also timed).

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { deleteNetns, onCleanup } from './cleanup.js';
import { createHostNs, hostNsPath } from './netns.js';
import { Daemon, REPO_ROOT } from './lnetd/daemon.js';
import { CNI_BRIDGE } from './peers/cni.js';
import { hasBinary, runSync } from './proc.js';
import { summarize, round3, type Summary } from './stats.js';

export const LNETD_CNI = join(REPO_ROOT, 'dist/plugins/cni/main.js');

export interface CniPluginSide { add: Summary; del: Summary }
export interface CniPluginResult { n: number; lnetd_cni: CniPluginSide; cni_bridge: CniPluginSide | null; add_x_bridge: number | null; node_start_ms: number }

interface Side { name: string; host: string; conf: string; argv: string[]; add: number[]; del: number[] }

function call(s: Side, command: 'ADD' | 'DEL', i: number, ns: string): number {
  const env = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', CNI_COMMAND: command, CNI_NETNS: `/run/netns/${ns}`,
    CNI_IFNAME: 'eth0', CNI_CONTAINERID: `bench-${s.name}-${i}`, CNI_PATH: '/usr/lib/cni',
  };
  const t = performance.now();
  const r = spawnSync('nsenter', [`--net=${hostNsPath(s.host)}`, ...s.argv], { input: s.conf, env, encoding: 'utf8' });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${s.name} ${command} ${i}: exit ${r.status} ${r.stdout}${r.stderr}`);
  return ms;
}

function once(s: Side, i: number): void {
  const ns = `${s.host}-c${i}`;
  onCleanup(`netns ${ns}`, () => deleteNetns(ns));
  runSync('ip', ['netns', 'add', ns]);
  s.add.push(call(s, 'ADD', i, ns));
  s.del.push(call(s, 'DEL', i, ns));
  deleteNetns(ns);
}

/** What starting node itself costs here (an empty script), to read the figures against. */
function nodeStart(): number {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    spawnSync(process.execPath, ['-e', '0']);
    times.push(performance.now() - t);
  }
  return summarize(times).median_ms;
}

export async function cniPluginBench(tmpDir: string, n: number, log: (m: string) => void): Promise<CniPluginResult> {
  const host = createHostNs('cniplugin');
  const daemon = new Daemon(host, join(tmpDir, 'cniplugin'));
  await daemon.start();
  try {
    const sides: Side[] = [{
      name: 'lnetd-cni', host, add: [], del: [], argv: [process.execPath, LNETD_CNI],
      conf: JSON.stringify({ cniVersion: '1.0.0', name: 'benchcni', type: 'lnetd-cni', socket: daemon.socket }),
    }];
    if (hasBinary(CNI_BRIDGE)) {
      const bh = createHostNs('cnibridge');
      sides.push({
        name: 'bridge', host: bh, add: [], del: [], argv: [CNI_BRIDGE],
        conf: JSON.stringify({
          cniVersion: '1.0.0', name: 'benchnet', type: 'bridge', bridge: 'cnibr0', isGateway: true, ipMasq: true, hairpinMode: false,
          ipam: { type: 'host-local', dataDir: join(tmpDir, 'cniplugin-ipam'), ranges: [[{ subnet: '10.231.0.0/16', gateway: '10.231.0.1' }]], routes: [{ dst: '0.0.0.0/0' }] },
        }),
      });
    } else log(`cni-plugin: SKIP the bridge plugin: ${CNI_BRIDGE} not installed`);
    for (let i = 0; i < n; i++) for (const s of i % 2 ? [...sides].reverse() : sides) once(s, i);
    const side = (s: Side): CniPluginSide => ({ add: summarize(s.add), del: summarize(s.del) });
    const ours = side(sides[0]!);
    const bridge = sides[1] ? side(sides[1]) : null;
    const res: CniPluginResult = {
      n, lnetd_cni: ours, cni_bridge: bridge, node_start_ms: round3(nodeStart()),
      add_x_bridge: bridge ? round3(ours.add.median_ms / bridge.add.median_ms) : null,
    };
    log(`cni-plugin: ADD median lnetd-cni ${ours.add.median_ms} ms, bridge ${bridge?.add.median_ms ?? '-'} ms (x${res.add_x_bridge ?? '-'}); node start ${res.node_start_ms} ms`);
    return res;
  } finally {
    await daemon.stop();
  }
}
