// Listeners: the unix socket (or one handed over by systemd socket
// activation), optional loopback TCP; graceful close.

import { chmod, mkdir, unlink } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import http from 'node:http';
import type { Handler } from './api/seed/app.js';
import type { UpgradeHandler } from './api/handler.js';
import { guarded, guardedUpgrade } from './api/guard.js';

/** Which activated socket a listener takes: by its name in LISTEN_FDNAMES
 *  (systemd's FileDescriptorName=), else by position (seed API first, Docker API second). */
export interface Activation { names: string[]; index: number }

export const SEED_ACTIVATION: Activation = { names: ['lnetd'], index: 0 };
export const DOCKER_ACTIVATION: Activation = { names: ['docker', 'lnetd-docker'], index: 1 };

/** systemd socket activation: LISTEN_PID is us and LISTEN_FDS names the fds from 3 on. */
export function activatedFd(env: NodeJS.ProcessEnv, want: Activation = SEED_ACTIVATION): number | undefined {
  if (env.LISTEN_PID !== String(process.pid)) return undefined;
  const n = Number(env.LISTEN_FDS ?? 0);
  const names = (env.LISTEN_FDNAMES ?? '').split(':');
  const known = [...SEED_ACTIVATION.names, ...DOCKER_ACTIVATION.names];
  const byName = names.findIndex((x) => want.names.includes(x));
  const i = byName >= 0 ? byName : names.some((x) => known.includes(x)) ? -1 : want.index;
  return i >= 0 && i < n ? 3 + i : undefined;
}

/** A socket file nobody answers on is a leftover from a crash; a live one means another daemon. */
export async function checkSocketPath(path: string): Promise<void> {
  return claimSocketPath(path);
}

async function claimSocketPath(path: string): Promise<void> {
  const alive = await new Promise<boolean>((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`socket ${path} is in use: another daemon is listening on it (stop it, or use --socket)`);
  await unlink(path).catch((err) => { if (err.code !== 'ENOENT') throw err; });
}

function listen(server: http.Server, arg: object): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(arg, () => { server.off('error', reject); resolve(); });
  });
}

export interface Listeners { servers: http.Server[]; describe: string[] }

export async function startListeners(handler: Handler, opts: { socket: string; tcp?: { host: string; port: number }; env: NodeJS.ProcessEnv; upgrade?: UpgradeHandler; allowedOrigins?: readonly string[]; onRefuse?: Parameters<typeof guarded>[2]; activation?: Activation }): Promise<Listeners> {
  const out: Listeners = { servers: [], describe: [] };
  // every listener checks Host (TCP), Origin and the body's type before any surface sees a request
  const make = (tcp?: { host: string; port: number }) => {
    const id = { tcp, allowedOrigins: opts.allowedOrigins };
    const s = http.createServer(guarded(handler, id, opts.onRefuse));
    if (opts.upgrade) s.on('upgrade', guardedUpgrade(opts.upgrade, id, opts.onRefuse));
    s.keepAliveTimeout = 30_000;
    out.servers.push(s);
    return s;
  };
  const fd = activatedFd(opts.env, opts.activation);
  if (fd !== undefined) {
    await listen(make(), { fd });
    out.describe.push(`fd ${fd} (systemd socket activation)`);
  } else {
    await mkdir(dirname(opts.socket), { recursive: true, mode: 0o755 });
    await claimSocketPath(opts.socket);
    await listen(make(), { path: opts.socket });
    await chmod(opts.socket, 0o660);
    out.describe.push(`unix:${opts.socket}`);
  }
  if (opts.tcp) {
    await listen(make(opts.tcp), { host: opts.tcp.host, port: opts.tcp.port });
    out.describe.push(`tcp:${opts.tcp.host}:${opts.tcp.port}`);
  }
  return out;
}

/** Stop accepting, let in-flight requests finish (up to graceMs), then close everything. */
export async function closeListeners(l: Listeners, graceMs = 10_000): Promise<void> {
  await Promise.all(l.servers.map((s) => new Promise<void>((resolve) => {
    const timer = setTimeout(() => s.closeAllConnections(), graceMs);
    s.close(() => { clearTimeout(timer); resolve(); });
    s.closeIdleConnections();
  })));
}
