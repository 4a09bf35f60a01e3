#!/usr/bin/env -S node --max-semi-space-size=2 --min-semi-space-size=2 --no-parallel-scavenge --v8-pool-size=2
// lnetd entry point: read settings, open the store, start the controller and
// the listeners; on SIGTERM/SIGINT stop accepting, finish in-flight requests,
// close the store and exit 0, leaving every kernel object in place so that
// containers keep their network while the daemon is down. SIGHUP (and
// POST /_reapply) rebuilds lnetd's firewall tables from the records.

import { mkdir, readFile } from 'node:fs/promises';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createLogger, journalPrefix, resolveFormat } from './log.js';
import { loggedFirewall, loggedKernel } from './log-kernel.js';
import { ConfigError, loadConfig, USAGE } from './config.js';
import { startController } from './daemon.js';
import { createApi } from './api/handler.js';
import { createDockerApi } from './api/docker/app.js';
import { activatedFd, checkSocketPath, closeListeners, DOCKER_ACTIVATION, startListeners } from './server.js';
import { instanceId, netnsInode, privateMountNs, StartupError, takeNetnsLock } from './instance.js';
import { openLevelStore } from '../store/level.js';
import { NetlinkKernel } from '../drivers/linux/netlink.js';
import { SocketReserver } from '../drivers/linux/port-reserve.js';
import { NftFirewall } from '../drivers/linux/nftables.js';
import { processCount } from '../drivers/linux/exec.js';
import { FaultError, faultFromEnv } from './fault.js';
import { reapplyFirewall } from './controller/reconcile.js';
import { refusalLogger } from './log-request.js';
import { hostResolvOnly, startDns } from './dns/index.js';
import { NftDnsFirewall } from './dns/nft.js';
import { FailClosedStore } from '../store/guard.js';
import { superviseStore, withAllLocks } from './store-health.js';
import { sweepNow } from './controller/reconcile.js';
import { QUARANTINE_LIVE_MAX, sweepState } from './controller/sweep.js';

const API_VERSION = '1.0';


async function version(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'));
  return pkg.version as string;
}

async function openStore(dir: string) {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    return await openLevelStore(dir);
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause?.code === 'LEVEL_LOCKED') throw new StartupError(`data dir ${dir} is in use by another lnetd (its LevelDB is locked): stop that one first or use --data-dir`);
    throw new StartupError(`data dir ${dir}: can't open the store: ${(err as Error).message}`);
  }
}

/** What must hold before the daemon changes anything: root, nft on PATH. */
function preflight(): void {
  if (process.getuid?.() !== 0) throw new StartupError('lnetd needs root (it makes bridges, network namespaces and nftables rules): run it with sudo or as a systemd service');
  const nft = spawnSync('nft', ['--version'], { stdio: 'ignore' });
  if (nft.error || nft.status !== 0) throw new StartupError(`nft (nftables) not found or not working${nft.error ? ` (${(nft.error as NodeJS.ErrnoException).code})` : ''}: install it (apt-get install nftables)`);
}

/** Tell systemd we are ready (Type=notify) when it asked. */
function notifyReady(): void {
  if (!process.env.NOTIFY_SOCKET) return;
  const child = spawn('systemd-notify', ['--ready', `--pid=${process.pid}`], { stdio: 'ignore' });
  child.on('error', () => undefined);
}

function memory() {
  const m = process.memoryUsage();
  return { rss_bytes: m.rss, heap_used_bytes: m.heapUsed, heap_total_bytes: m.heapTotal, external_bytes: m.external };
}

let showStacks = false;

/** GET /_reconcile: what the last sweep left for an operator, and the rule. */
function reconcileReport(c: Parameters<typeof sweepState>[0], applied?: boolean): object {
  const s = sweepState(c);
  return {
    mark: s.mark ?? null,
    checked: s.at ?? null,
    quarantined: s.quarantined,
    unmarked: s.unmarked,
    ...(applied === undefined ? {} : { applied }),
    rule: `unexplained objects are removed only when they carry this instance's mark; when more than ${QUARANTINE_LIVE_MAX} of them are live (processes or traffic) those are quarantined until POST /_reconcile?apply=true; unmarked ones are never removed`,
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) { console.log(USAGE); return; }
  if (argv.includes('--version')) { console.log(await version()); return; }
  // every setting is checked before anything is touched (exit 2 naming it)
  const cfg = loadConfig(argv, process.env);
  const fault = faultFromEnv(process.env);
  showStacks = cfg.logLevel === 'debug' || cfg.logLevel === 'trace';
  const log = createLogger({ level: cfg.logLevel, ...resolveFormat(cfg.logFormat, process.env) });
  const started = Date.now();
  preflight();
  const mnt = privateMountNs();
  if (mnt) log.warn({ mount_ns: mnt.ours, pid1_mount_ns: mnt.init, netns_dir: cfg.netnsDir }, 'lnetd runs in a private mount namespace (ip netns exec, PrivateMounts=, PrivateTmp=?): the sandbox paths it answers are invisible to runtimes in the host\'s mount namespace and vanish when it exits; run it in the host\'s mount namespace');
  // one lnetd per network namespace, before any kernel change
  takeNetnsLock(cfg.runDir, { data_dir: cfg.dataDir, socket: cfg.socket });
  if (activatedFd(process.env) === undefined) await checkSocketPath(cfg.socket).catch((err) => { throw new StartupError((err as Error).message); });
  if (activatedFd(process.env, DOCKER_ACTIVATION) === undefined) await checkSocketPath(cfg.dockerSocket).catch((err) => { throw new StartupError(`${(err as Error).message.replace('--socket', '--docker-socket')}`); });
  const store = new FailClosedStore(await openStore(cfg.dataDir));
  const instance = instanceId(cfg.dataDir);
  // every kernel and firewall step at debug (reads at trace): one decorator, no per-call-site logging
  const kernel = loggedKernel(new NetlinkKernel({ pool: cfg.netnsPool, onPoolError: (msg) => log.warn({ error: msg }, 'namespace pool: making namespaces ahead failed; joins make them in line') }), log);
  const firewall = loggedFirewall(new NftFirewall({
    owner: { instance, pid: process.pid },
    forwardDrop: cfg.forwardDrop,
    forwardingFile: join(cfg.runDir, `netns-${netnsInode()}.forwarding`),
    onForwarding: (changes, drop) => log.warn({ changes, drop_other_forwarding: drop, forward_drop: cfg.forwardDrop }, `lnetd turned IP forwarding on (${changes.map((x) => `${x.sysctl} ${x.from} -> ${x.to}`).join(', ')}); forwarded traffic neither to nor from lnetd's bridges is ${drop.ipv4 || drop.ipv6 ? 'dropped' : 'not filtered'} (--forward-drop)`),
  }), log);
  const ports = new SocketReserver();
  if (ports.limit < 16384) log.warn({ reservations_max: ports.limit }, `the open-file limit (RLIMIT_NOFILE) lets lnetd reserve only ${ports.limit} published host ports: raise it (LimitNOFILE=, ulimit -n; README "Published ports")`);
  const c = await startController(cfg, { store, kernel, firewall, log, fault, instance, ports }).catch((err) => {
    if ((err as NodeJS.ErrnoException).code === 'EOWNED') throw new StartupError((err as Error).message);
    throw err;
  });
  for (const u of store.unreadable) log.error(u, 'unreadable record set aside');
  // the resolver binds before the API answers: once a restarted daemon answers, names resolve again
  const dns = cfg.dns === 'on'
    ? await startDns(c, { port: cfg.dnsPort, resolvConf: cfg.dnsResolvConf, ratePerSource: cfg.dnsRate }, loggedFirewall(new NftDnsFirewall(), log, 'dns firewall'), log)
    : undefined;
  const hostResolv = dns ? undefined : await hostResolvOnly(c, cfg.dnsResolvConf);
  const supervisor = superviseStore(c, store, cfg.storeReopenMs);
  const ver = await version();
  const api = createApi(c, log, {
    version: () => ({ version: ver, api_version: API_VERSION, node_version: process.version, os: process.platform, arch: process.arch }),
    stats: () => ({ processes_started: processCount(), ...memory(), uptime_s: process.uptime(), ...c.counts(), unreadable_records: store.unreadable.length, store: store.health(), quarantined: sweepState(c).quarantined.length, events_last_seq: c.events.lastSeq, host_ports: c.hostPorts.stats(), event_streams: api.events.streams, ...(dns ? { dns: dns.stats() } : {}) }),
    reconcile: {
      report: () => reconcileReport(c),
      run: async (apply: boolean) => withAllLocks(c, async () => { await sweepNow(c, apply); return reconcileReport(c, apply); }),
    },
    health: () => store.problem(),
    reapply: () => reapplyFirewall(c, firewall),
  });
  const onRefuse = refusalLogger(log);
  const listeners = await startListeners(api.request, { socket: cfg.socket, tcp: cfg.tcp, env: process.env, upgrade: api.upgrade, onRefuse });
  const docker = createDockerApi(c, log, { info: () => ({ version: ver, drivers: [...c.drivers.keys()], networks: c.counts().networks, started: new Date(started) }) });
  const dockerListeners = await startListeners(docker.request, { socket: cfg.dockerSocket, tcp: cfg.dockerTcp, env: process.env, activation: DOCKER_ACTIVATION, onRefuse });
  listeners.servers.push(...dockerListeners.servers);
  listeners.describe.push(...dockerListeners.describe.map((d) => `docker:${d}`));
  log.info({ listen: listeners.describe, data_dir: cfg.dataDir, netns_dir: cfg.netnsDir, ms: Date.now() - started }, 'lnetd ready');
  notifyReady();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: finishing in-flight requests; kernel objects stay in place');
    api.close();  // event streams end at once; they would hold the close open
    docker.close();
    await closeListeners(listeners);
    await dns?.stop();
    hostResolv?.stop();
    supervisor.stop();
    await c.close();
    await store.close();
    await kernel.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGHUP', () => {
    reapplyFirewall(c, firewall).then((r) => log.info(r, 'SIGHUP: firewall rebuilt from the records'), (err) => log.error({ err }, 'SIGHUP: firewall rebuild failed'));
    dns?.reapply().catch((err) => log.error({ err }, 'SIGHUP: dns table rebuild failed'));
  });
}

// A failed start is one line naming what to fix (exit 2 for a setting, 1 for
// the rest); the stack only with --log-level debug or trace.
main().catch((err) => {
  const known = err instanceof ConfigError || err instanceof StartupError || err instanceof FaultError;
  const msg = known || !showStacks ? String(err?.message ?? err).split('\n')[0] : String(err?.stack ?? err);
  // under systemd stderr is the journal too: a failed start is an error there (priority 3)
  process.stderr.write(`${journalPrefix(3, process.env, 2)}lnetd: ${known ? '' : 'start-up failed: '}${msg.replace(/^lnetd: /, '')}\n`);
  if (err instanceof ConfigError && /^unknown flag|^unexpected argument/.test(err.message)) process.stderr.write(`${USAGE}\n`);
  process.exit(err instanceof ConfigError || err instanceof FaultError ? 2 : 1);
});
