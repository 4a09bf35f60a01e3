// Kill -9 at every step. For each fault step of each operation: set up with
// a healthy daemon, restart it with LNETD_FAULT=<step>, send the request
// (the daemon kills itself there), restart without the fault, then check
// that the operation is fully undone (creates, joins) or fully done (deletes,
// leaves), that nothing leaked (kernel as before for an undone operation),
// that the store agrees with the kernel, that no address was lost, and that
// the same request retried succeeds (undone) or answers 404 (done already).

import t, { type Test } from 'tap';
import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAULT_STEPS } from '../../daemon/fault.js';
import { ROOT, TestDaemon } from '../lib/daemon.js';
import { nftTable, settle } from './_agree.js';

// as .taprc's per-file timeout: ~100 kill -9 runs take over 300 s on a loaded machine
t.setTimeout(900_000);

const CID = 'c7a5'.repeat(16);
const NET = { name: 'crash', network_type: 'bridge', enable_ipv6: true, ipam: { config: [{ subnet: '10.123.0.0/29' }, { subnet: 'fd12:3::/64' }] } };
const NET2 = { name: 'crash2', network_type: 'bridge', ipam: { subnet: '10.124.0.0/29' } };
const WEB = { name: 'web', network_name: 'crash', exposed_ports: [{ proto: 6, port: 80 }], port_mapping: [{ proto: 6, port: 80, host_port: 8080 }] };
/** Addresses a /29 hands out: 8 minus network, broadcast and gateway. */
const CAPACITY = 8 - 3;

interface Req { method: string; path: string; body?: unknown; docker?: boolean }

const send = (d: TestDaemon, r: Req) => (r.docker ? d.docker(r.method, r.path, r.body) : d.req(r.method, r.path, r.body));
interface Scenario {
  label: string;
  op: string;                          // fault steps walked: `${op}:*`
  done: boolean;                       // the crashed operation is finished (true) or undone (false)
  /** Setup runs the faulted operation itself (or the first start would: the
   *  predefined networks), so it needs a daemon without the fault first. */
  cleanSetup?: boolean;
  setup(d: TestDaemon): Promise<void>;
  request(d: TestDaemon): Req;
  /** Is the operation's effect visible through the API? */
  visible(d: TestDaemon): Promise<boolean>;
}

const joinBody = (d: TestDaemon) => ({ container_id: CID, hosts_path: join(d.filesDir, 'hosts'), host_name: 'web' });
/** A namespace "the runtime" made for the walk (podman's, containerd's): lnetd joins into it and never deletes it. */
const runtimeNs = (d: TestDaemon) => `/run/netns/${d.name}-rt`;
const makeRuntimeNs = (d: TestDaemon) => { spawnSync('ip', ['netns', 'add', `${d.name}-rt`]); };
const runtimeJoin = (d: TestDaemon) => ({ ...joinBody(d), sandbox_key: runtimeNs(d), interface_name: 'ceth0' });
const joinedTo = async (d: TestDaemon, net: string, ep: string) => (await d.req('GET', `/networks/${net}/endpoints/${ep}`)).json?.container_id === CID;
const exists = async (d: TestDaemon, path: string) => (await d.req('GET', path)).status === 200;

async function twoNetworks(d: TestDaemon, joinWeb: boolean): Promise<void> {
  await d.ok('POST', '/networks', NET);
  await d.ok('POST', '/networks', NET2);
  await d.ok('POST', '/services', WEB);
  await d.ok('POST', '/networks/crash2/endpoints', { name: 'side' });
  await d.ok('POST', '/networks/crash2/endpoints/side/containers', joinBody(d));
  if (joinWeb) await d.ok('POST', '/networks/crash/endpoints/web/containers', joinBody(d));
}

/** Docker's connect / disconnect of CID to the crash network, through the Docker API's socket. */
const dockerConnect = (): Req => ({ method: 'POST', path: '/v1.50/networks/crash/connect', body: { Container: CID, EndpointConfig: { Aliases: ['web2'] } }, docker: true });
const dockerDisconnect = (): Req => ({ method: 'POST', path: '/v1.50/networks/crash/disconnect', body: { Container: CID }, docker: true });
const connectedTo = async (d: TestDaemon, net: string) => (await d.req('GET', `/networks/${net}/endpoints`)).json?.some((e: any) => e.container_id === CID && e.name === CID) ?? false;
async function connected(d: TestDaemon): Promise<void> {
  const r = await send(d, dockerConnect());
  if (r.status !== 200) throw new Error(`docker connect: ${r.status} ${r.text}`);
}

const SCENARIOS: Scenario[] = [
  { label: 'create network', op: 'createNetwork', done: false, cleanSetup: true, setup: async () => undefined,
    request: () => ({ method: 'POST', path: '/networks', body: NET }), visible: (d) => exists(d, '/networks/crash') },
  { label: 'delete network', op: 'deleteNetwork', done: true, setup: async (d) => { await d.ok('POST', '/networks', NET); },
    request: () => ({ method: 'DELETE', path: '/networks/crash' }), visible: async (d) => !(await exists(d, '/networks/crash')) },
  { label: 'publish service', op: 'createEndpoint', done: false, setup: async (d) => { await d.ok('POST', '/networks', NET); },
    request: () => ({ method: 'POST', path: '/services', body: WEB }), visible: (d) => exists(d, '/services/web') },
  // a bridge endpoint's delete changes nothing in the kernel, so it has no intent:
  // killed before its commit batch, the endpoint stays (as if never asked) and the retry deletes it
  { label: 'delete endpoint', op: 'deleteEndpoint', done: false,
    setup: async (d) => { await d.ok('POST', '/networks', NET); await d.ok('POST', '/services', WEB); },
    request: () => ({ method: 'DELETE', path: '/networks/crash/endpoints/web' }), visible: async (d) => !(await exists(d, '/services/web')) },
  { label: 'join (new sandbox)', op: 'join', done: false,
    setup: async (d) => { await d.ok('POST', '/networks', NET); await d.ok('POST', '/services', WEB); },
    request: (d) => ({ method: 'POST', path: '/networks/crash/endpoints/web/containers', body: joinBody(d) }), visible: (d) => joinedTo(d, 'crash', 'web') },
  { label: 'attach backend (existing sandbox)', op: 'join', done: false, cleanSetup: true, setup: (d) => twoNetworks(d, false),
    request: (d) => ({ method: 'POST', path: '/services/web/backend', body: joinBody(d) }), visible: (d) => joinedTo(d, 'crash', 'web') },
  { label: 'leave (last endpoint)', op: 'leave', done: true,
    setup: async (d) => { await d.ok('POST', '/networks', NET); await d.ok('POST', '/services', WEB); await d.ok('POST', '/networks/crash/endpoints/web/containers', joinBody(d)); },
    request: () => ({ method: 'DELETE', path: `/networks/crash/endpoints/web/containers/${CID}` }), visible: async (d) => !(await joinedTo(d, 'crash', 'web')) },
  { label: 'join into the runtime\'s namespace', op: 'join', done: false,
    setup: async (d) => { makeRuntimeNs(d); await d.ok('POST', '/networks', NET); await d.ok('POST', '/services', WEB); },
    request: (d) => ({ method: 'POST', path: '/networks/crash/endpoints/web/containers', body: runtimeJoin(d) }), visible: (d) => joinedTo(d, 'crash', 'web') },
  { label: 'leave a runtime namespace the runtime already deleted', op: 'leave', done: true,
    setup: async (d) => {
      makeRuntimeNs(d);
      await d.ok('POST', '/networks', NET); await d.ok('POST', '/services', WEB);
      await d.ok('POST', '/networks/crash/endpoints/web/containers', runtimeJoin(d));
      spawnSync('ip', ['netns', 'del', `${d.name}-rt`]);
    },
    request: () => ({ method: 'DELETE', path: `/networks/crash/endpoints/web/containers/${CID}` }), visible: async (d) => !(await joinedTo(d, 'crash', 'web')) },
  { label: 'detach backend (sandbox stays)', op: 'leave', done: true, setup: (d) => twoNetworks(d, true),
    request: () => ({ method: 'DELETE', path: `/services/web/backend/${CID}` }), visible: async (d) => !(await joinedTo(d, 'crash', 'web')) },
  { label: 'docker connect (new sandbox)', op: 'connect', done: false, setup: async (d) => { await d.ok('POST', '/networks', NET); },
    request: dockerConnect, visible: (d) => connectedTo(d, 'crash') },
  { label: 'docker connect (existing sandbox)', op: 'connect', done: false, cleanSetup: true, setup: (d) => twoNetworks(d, false),
    request: dockerConnect, visible: (d) => connectedTo(d, 'crash') },
  { label: 'docker disconnect (last network)', op: 'disconnect', done: true, setup: async (d) => { await d.ok('POST', '/networks', NET); await connected(d); },
    request: dockerDisconnect, visible: async (d) => !(await connectedTo(d, 'crash')) },
  { label: 'docker disconnect (sandbox stays)', op: 'disconnect', done: true, setup: async (d) => { await twoNetworks(d, false); await connected(d); },
    request: dockerDisconnect, visible: async (d) => !(await connectedTo(d, 'crash')) },
];

/** What the kernel holds, by name: links with addresses and master, sandboxes, nft. */
function kernelSnapshot(d: TestDaemon): string {
  // names, masters and global addresses: link-local ones come (and finish DAD) on their own time
  const links = (argv: string[]) => JSON.parse(d.exec([...argv, 'ip', '-j', 'addr']).stdout).map((l: any) =>
    `${l.ifname}>${l.master ?? ''} ${l.addr_info.filter((a: any) => a.scope === 'global').map((a: any) => `${a.local}/${a.prefixlen}`).sort()}`).sort();
  const ns = readdirSync(d.netnsDir).sort();
  const inside = ns.filter((n) => n !== 'default' && n !== '.lnetd-instance').map((n) => links(['nsenter', `--net=${join(d.netnsDir, n)}`]));
  const fw = nftTable(d);
  // the runtime's own namespace, when the walk made one: what lnetd put there must go with an undo
  const runtime = existsSync(runtimeNs(d)) ? links(['nsenter', `--net=${runtimeNs(d)}`]) : [];
  return JSON.stringify({ links: links([]), ns, inside, runtime, chains: fw?.chains, elems: fw && [...fw.elems].sort() });
}

/** Endpoints the crash network can still take: creates until the pool is exhausted. */
async function freeAddresses(d: TestDaemon): Promise<{ made: number; last: any }> {
  let made = 0;
  for (;;) {
    const r = await d.req('POST', '/networks/crash/endpoints', { name: `fill${made}` });
    if (r.status !== 200) return { made, last: r.json };
    made++;
  }
}

async function crashAt(d: TestDaemon, req: Req): Promise<NodeJS.Signals | null> {
  const proc = d.proc!;
  const exited = proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve() : once(proc, 'exit');
  await send(d, req).catch(() => undefined);  // the daemon dies mid-request
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  return proc.signalCode;
}

async function walk(t: Test, s: Scenario, step: string): Promise<void> {
  const d = new TestDaemon();
  t.teardown(async () => { await d.cleanup(); spawnSync('ip', ['netns', 'del', `${d.name}-rt`]); });
  const t0 = Date.now();
  const lap = (what: string) => process.env.LNETD_CRASH_TIMING && t.comment(`${what}: ${Date.now() - t0} ms`);
  if (s.cleanSetup) {
    await d.start();
    await s.setup(d);
    await d.stop('SIGTERM');
  }
  d.env.LNETD_FAULT = step;
  await d.start();
  delete d.env.LNETD_FAULT;
  if (!s.cleanSetup) await s.setup(d);
  const before = kernelSnapshot(d);
  const req = s.request(d);
  lap('setup');
  t.equal(await crashAt(d, req), 'SIGKILL', 'the daemon was killed at the step');
  lap('crash');
  await d.start();
  lap('restart');
  t.equal(await s.visible(d), s.done, s.done ? 'fully done after recovery' : 'fully undone after recovery');
  t.same(await settle(d), [], 'store and kernel agree');
  lap('agree');
  if (!s.done) t.equal(kernelSnapshot(d), before, 'kernel exactly as before: nothing leaked');
  t.same(readdirSync(d.filesDir).filter((f) => f.includes('.lnetd-')), [], 'no temporary sandbox files left');
  const retry = await send(d, req);
  if (s.done) t.equal(retry.status, 404, `retry: already done (${retry.text})`);
  else t.equal(retry.status, 200, `retry succeeds (${retry.text})`);
  if (s.op === 'join') {
    const again = await d.req(req.method, req.path, req.body);
    t.same([again.status, again.json], [200, retry.json], 'the same join once more answers the same sandbox (idempotent)');
  }
  t.same(await settle(d), [], 'store and kernel agree after the retry');
  lap('retry');
  if (await exists(d, '/networks/crash')) {
    const eps = (await d.ok('GET', '/networks/crash/endpoints')).length;
    const fill = await freeAddresses(d);
    t.equal(fill.made, CAPACITY - eps, `no address lost (${eps} endpoints, then ${JSON.stringify(fill.last)})`);
  }
}

t.test('every fault step in the code is in FAULT_STEPS and the other way round', async (t) => {
  const files = ['daemon/controller/networks.ts', 'daemon/controller/endpoints.ts', 'daemon/controller/join.ts', 'daemon/controller/connect.ts', 'drivers/bridge/bridge.ts'];
  const used = new Set(files.flatMap((f) => [...readFileSync(join(ROOT, f), 'utf8').matchAll(/(?:fault|step)\('([A-Za-z]+:[a-z-]+)'\)/g)].map((m) => m[1])));
  t.same([...used].sort(), [...FAULT_STEPS].sort());
  const walked = new Set(SCENARIOS.flatMap((s) => FAULT_STEPS.filter((f) => f.startsWith(`${s.op}:`))));
  t.same([...walked].sort(), [...FAULT_STEPS].sort(), 'every step has a scenario');
});

if (process.getuid?.() !== 0) {
  t.plan(0, 'kernel tests need root');
} else {
  t.jobs = 3;
  // LNETD_CRASH_ONLY=<regexp> walks only the matching runs (debugging)
  const only = new RegExp(process.env.LNETD_CRASH_ONLY ?? '');
  let runs = 0;
  for (const s of SCENARIOS) {
    for (const step of FAULT_STEPS.filter((f) => f.startsWith(`${s.op}:`))) {
      if (!only.test(`${s.label}: ${step}`)) continue;
      runs++;
      t.test(`${s.label}: kill -9 at ${step}`, { buffered: true }, (t) => walk(t, s, step));
    }
  }
  t.comment(`fault injection: ${FAULT_STEPS.length} steps, ${runs} crash runs`);
}
