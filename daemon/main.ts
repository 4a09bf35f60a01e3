#!/usr/bin/env -S node --max-semi-space-size=2
// lnetd entry point: read settings, open the store, start the controller and
// the listeners; on SIGTERM/SIGINT stop accepting, finish in-flight requests,
// close the store and exit 0, leaving every kernel object in place so that
// containers keep their network while the daemon is down. SIGHUP (and
// POST /_reapply) rebuilds lnetd's firewall tables from the records.

import { mkdir, readFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import pino from 'pino';
import { ConfigError, loadConfig, USAGE } from './config.js';
import { startController } from './daemon.js';
import { createHandler } from './api/seed/app.js';
import { closeListeners, startListeners } from './server.js';
import { openLevelStore } from '../store/level.js';
import { NetlinkKernel } from '../drivers/linux/netlink.js';
import { NftFirewall } from '../drivers/linux/nftables.js';
import { processCount } from '../drivers/linux/exec.js';
import { faultFromEnv } from './fault.js';
import { reapplyFirewall } from './controller/reconcile.js';

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
    if (cause?.code === 'LEVEL_LOCKED') throw new Error(`data dir ${dir} is in use by another lnetd (its LevelDB is locked); stop that one first or use --data-dir`);
    throw err;
  }
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

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) { console.log(USAGE); return; }
  if (argv.includes('--version')) { console.log(await version()); return; }
  const cfg = loadConfig(argv, process.env);
  const log = pino({ level: cfg.logLevel, base: { pid: process.pid } });
  const started = Date.now();
  const store = await openStore(cfg.dataDir);
  const pool = process.env.LNETD_NETNS_POOL === undefined ? undefined : Number(process.env.LNETD_NETNS_POOL);
  const kernel = new NetlinkKernel({ pool, onPoolError: (msg) => log.warn({ error: msg }, 'namespace pool: making namespaces ahead failed; joins make them in line') });
  const firewall = new NftFirewall();
  const c = await startController(cfg, { store, kernel, firewall, log, fault: faultFromEnv(process.env) });
  for (const u of store.unreadable) log.error(u, 'unreadable record set aside');
  const ver = await version();
  const handler = createHandler(c, log, {
    version: () => ({ version: ver, api_version: API_VERSION, node_version: process.version, os: process.platform, arch: process.arch }),
    stats: () => ({ processes_started: processCount(), ...memory(), uptime_s: process.uptime(), ...c.counts(), unreadable_records: store.unreadable.length }),
    reapply: () => reapplyFirewall(c, firewall),
  });
  const listeners = await startListeners(handler, { socket: cfg.socket, tcp: cfg.tcp, env: process.env });
  log.info({ listen: listeners.describe, data_dir: cfg.dataDir, netns_dir: cfg.netnsDir, ms: Date.now() - started }, 'lnetd ready');
  notifyReady();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: finishing in-flight requests; kernel objects stay in place');
    await closeListeners(listeners);
    await store.close();
    await kernel.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGHUP', () => {
    reapplyFirewall(c, firewall).then((r) => log.info(r, 'SIGHUP: firewall rebuilt from the records'), (err) => log.error({ err }, 'SIGHUP: firewall rebuild failed'));
  });
}

main().catch((err) => {
  const msg = err instanceof ConfigError ? err.message : `lnetd: ${err?.stack ?? err}`;
  process.stderr.write(`lnetd: ${msg.replace(/^lnetd: /, '')}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
