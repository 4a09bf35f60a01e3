// The benchmark in --smoke mode (n=3, tiny concurrency/scale/api/memory), so
// the harness can't rot: every system reaches the defined end state (the
// bench verifies each one's attach, and sees every host veth deleted after
// its detach), every field of the JSON is there with sane numbers, and the
// run leaves nothing behind (namespaces, mounts, tmp dirs, processes).
// A timing check this is not: numbers only have to be positive and ordered.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Generous bounds that only stop a hung run: how long it takes on a shared
// machine is no verdict (speed is the benchmark's business, not a test's).
t.setTimeout(300_000);

const MAIN = fileURLToPath(new URL('../../scripts/bench/main.js', import.meta.url));
const PREFIX = 'lnetd-bench-';
const PEER_BINARIES: Record<string, string> = { cni: '/usr/lib/cni/bridge', netavark: '/usr/lib/podman/netavark' };

interface Leftovers { netns: string[]; tmp: string[]; mounts: string[]; pids: string[] }

function snapshot(): Leftovers {
  const list = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith(PREFIX)) : []);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((p) => p.includes(PREFIX));
  // "pid cmdline", so a leftover can be told by the run id in its arguments
  const pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid).flatMap((p) => {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
      return cmd.includes(PREFIX) ? [`${p} ${cmd}`] : [];
    } catch { return []; }
  });
  return { netns: list('/run/netns'), tmp: list(tmpdir()), mounts, pids };
}

/** What appeared since `before` and carries this run's id: other people's
 * benchmarks may run on the same machine at the same time, and their
 * namespaces, mounts and processes are none of this test's business. */
const added = (before: string[], after: string[], runId: string): string[] =>
  after.filter((x) => !before.includes(x) && x.includes(`-${runId}`));

const positive = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x > 0;

if (process.getuid?.() !== 0) {
  t.plan(0, 'bench smoke needs root (it makes network namespaces)');
} else {
  // lnetd-docker: the single-request attach (the Docker API's connect and disconnect)
  const systems = ['floor', 'lnetd', 'lnetd-docker', 'iproute2'];
  for (const [name, bin] of Object.entries(PEER_BINARIES)) {
    if (existsSync(bin)) systems.push(name);
    else t.comment(`skipping ${name}: ${bin} is not installed`);
  }
  const jsonFile = join(tmpdir(), `bench-smoke-${process.pid}.json`);
  t.teardown(() => rmSync(jsonFile, { force: true }));
  const before = snapshot();
  const r = spawnSync(process.execPath, [MAIN, '--smoke', '--json', jsonFile, '--only', systems.join(',')], { encoding: 'utf8', timeout: 240_000 });
  t.equal(r.status, 0, 'bench --smoke exits 0', { stderr: r.stderr?.slice(-3000) });

  t.test('JSON has every field with sane numbers', async (t) => {
    const j = JSON.parse(readFileSync(jsonFile, 'utf8'));
    t.ok(!Number.isNaN(Date.parse(j.date)), 'date');
    t.type(j.machine, 'string');
    t.equal(j.n, 3);
    for (const name of systems) {
      const s = j.systems[name];
      t.ok(s, `systems.${name}`);
      // gone: the host veth was seen deleted after every detach (a system that left it would have no figure)
      for (const k of ['attach', 'detach', 'gone']) {
        t.ok(positive(s[k].median_ms), `${name}.${k}.median_ms > 0: ${s[k].median_ms}`);
        t.ok(s[k].p95_ms >= s[k].median_ms, `${name}.${k}.p95_ms >= median`);
      }
      for (const k of ['attach_x_floor', 'detach_x_floor', 'gone_x_floor']) t.ok(positive(s[k]), `${name}.${k} > 0: ${s[k]}`);
      // lnetd and the floor may well start no process at all per attach; a peer always does.
      if (name.startsWith('lnetd') || name === 'floor') t.ok(s.processes_per_attach >= 0, `${name}.processes_per_attach >= 0`);
      else t.ok(positive(s.processes_per_attach), `${name}.processes_per_attach > 0: ${s.processes_per_attach}`);
      // the daemons' CPU per operation was read around every sample (ticks: a real 0 is possible for tiny n)
      if (name.startsWith('lnetd')) for (const k of ['cpu_per_attach', 'cpu_per_detach']) t.ok(s[k] && s[k].total_ms >= 0 && Math.abs(s[k].total_ms - s[k].user_ms - s[k].sys_ms) < 0.01, `${name}.${k}: ${JSON.stringify(s[k])}`);
    }
    for (const k of ['netns_ms', 'veth_ms', 'inside_ms']) t.ok(positive(j.floor_parts[k]), `floor_parts.${k} > 0: ${j.floor_parts[k]}`);
    t.ok(j.http_floor && j.http_floor.n === 3 && positive(j.http_floor.two_requests_ms) && positive(j.http_floor.sync_write_ms), `http_floor: ${JSON.stringify(j.http_floor)}`);
    for (const side of ['lnetd', 'floor']) {
      t.same(j.concurrency[side].map((l: { clients: number }) => l.clients), [1, 2], `concurrency.${side}: every level ran`);
      for (const l of j.concurrency[side]) {
        t.equal(l.attaches, 4, `concurrency.${side} ${l.clients}: every attach done`);
        for (const k of ['per_s', 'median_ms', 'p99_ms']) t.ok(positive(l[k]), `concurrency.${side} ${l.clients}.${k} > 0: ${l[k]}`);
      }
    }
    for (const k of ['containers', 'total_s', 'first100_median_ms', 'last100_median_ms', 'x_floor']) t.ok(positive(j.scale[k]), `scale.${k} > 0: ${j.scale[k]}`);
    for (const k of ['total_s', 'first100_median_ms', 'last100_median_ms']) t.ok(positive(j.scale.floor[k]), `scale.floor.${k} > 0: ${j.scale.floor[k]}`);
    for (const k of ['networks', 'connections', 'lnetd_rps', 'bare_node_rps', 'rps_x_bare']) t.ok(positive(j.api[k]), `api.${k} > 0: ${j.api[k]}`);
    // autocannon's histogram counts whole milliseconds: a fast p99 is a real 0.
    for (const k of ['lnetd_p99_ms', 'bare_node_p99_ms']) t.ok(j.api[k] >= 0, `api.${k} >= 0`);
    for (const k of ['endpoints', 'rss_mb', 'startup_s']) t.ok(positive(j.memory[k]), `memory.${k} > 0: ${j.memory[k]}`);
    t.ok(positive(j.memory.settle_s) && j.memory.settle_s <= 16, `memory.settle_s: the restart waited for a quiet machine, at most 15 s (${j.memory.settle_s})`);
  });

  t.test('nothing is left behind', async (t) => {
    const after = snapshot();
    const runId = /bench: run ([0-9a-f]+):/.exec(r.stderr ?? '')?.[1];
    t.ok(runId, 'the bench said its run id');
    const id = runId ?? '';
    t.same(added(before.netns, after.netns, id), [], 'no lnetd-bench namespaces');
    t.same(added(before.mounts, after.mounts, id), [], 'no mounts under its tmp dir');
    t.same(added(before.tmp, after.tmp, id), [], 'no tmp dirs');
    t.same(added(before.pids, after.pids, id), [], 'no processes');
  });
}
