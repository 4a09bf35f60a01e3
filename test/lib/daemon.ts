// Runs the built daemon the way a runtime meets it: a separate process, over
// its unix socket. It lives in a throwaway "host" network namespace of its
// own (no route out), with its own socket, data dir and netns dir; `cleanup`
// removes all of it, also after a failure or a kill -9.

import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DAEMON_NODE_FLAGS } from '../../daemon/node-flags.js';

export const ROOT = resolve(new URL('.', import.meta.url).pathname, '../../..');
/** What users run (npm start, the bin, the systemd unit): the daemon bundled into one file. */
const MAIN = join(ROOT, 'dist/bundle/lnetd.mjs');

let bundled = false;
/** `npx tsc` alone leaves the bundle behind dist/: rebuild it (once per test
 *  process, only when an input is newer) before the first daemon starts. */
function freshBundle(): void {
  if (bundled) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/scripts/bundle.js'), '--if-stale'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`bundling the daemon failed (node dist/scripts/bundle.js: ${r.status ?? r.signal})`);
  bundled = true;
}

/** Why tests that run the daemon cannot run here, or false: it runs in a throwaway network namespace (ip netns add, nsenter), which needs root. */
export const NEEDS_ROOT: string | false = process.getuid?.() !== 0 && 'the api tier needs root: it runs the daemon in a throwaway network namespace (ip netns add, nsenter)';

/**
 * First line of an api test file whose every test runs the daemon: without
 * root the whole file is skipped with that reason (tap reports the plan of
 * 0 as a skip) instead of failing on `ip netns add`.
 */
export function requireRoot(t: { plan(n: number, comment: string): void }): void {
  if (!NEEDS_ROOT) return;
  t.plan(0, NEEDS_ROOT);
  process.exit(0);
}

/** The host's run dir (the daemon's default): a test daemon never uses it, or
 *  its namespace lock and forwarding notes are left behind in the host's /run/lnetd. */
export const HOST_RUN_DIR = '/run/lnetd';

/** The value of a daemon flag as the daemon reads it (`--name v` or `--name=v`, the last one wins). */
function flagValue(args: string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) value = args[++i];
    else if (args[i]!.startsWith(`--${name}=`)) value = args[i]!.slice(name.length + 3);
  }
  return value;
}

/** Throws unless args give the daemon a run dir of its own: an absolute --run-dir outside the host's /run/lnetd. */
export function checkRunDir(args: string[]): string {
  const dir = flagValue(args, 'run-dir');
  if (dir === undefined) throw new Error(`a test daemon needs --run-dir in its own temp dir (else it uses the host's ${HOST_RUN_DIR}): ${args.join(' ')}`);
  const abs = resolve(dir);
  if (abs === HOST_RUN_DIR || abs.startsWith(HOST_RUN_DIR + '/')) throw new Error(`a test daemon must not use the host's ${HOST_RUN_DIR} (--run-dir ${dir})`);
  return abs;
}

/** argv (node, flags, the bundle, args) that runs the built daemon; throws when it would use the host's /run/lnetd. */
export function lnetdArgv(args: string[], nodeArgs: string[] = []): string[] {
  checkRunDir(args);
  freshBundle();
  return [process.execPath, ...DAEMON_NODE_FLAGS, ...nodeArgs, MAIN, ...args];
}

export interface Reply { status: number; text: string; json: any; headers: http.IncomingHttpHeaders }

export function request(socketPath: string, method: string, path: string, body?: unknown, raw?: string | Buffer): Promise<Reply> {
  return new Promise((resolvePromise, reject) => {
    const payload = raw ?? (body === undefined ? undefined : JSON.stringify(body));
    const req = http.request({ socketPath, method, path, headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json: unknown;
        try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
        resolvePromise({ status: res.statusCode ?? 0, text, json, headers: res.headers });
      });
    });
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** Every mount point below dir, deepest first. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m && (m === dir || m.startsWith(dir + '/'))).sort().reverse();
}

export class TestDaemon {
  readonly name = `lnetd-test-${randomBytes(4).toString('hex')}`;
  readonly nsPath = `/run/netns/${this.name}`;
  readonly dir = mkdtempSync(join(tmpdir(), 'lnetd-test-'));
  readonly socket = join(this.dir, 'lnetd.sock');
  /** The Docker Engine API's own socket. */
  readonly dockerSocket = join(this.dir, 'docker.sock');
  readonly dataDir = join(this.dir, 'data');
  readonly netnsDir = join(this.dir, 'netns');
  /** The namespace lock and forwarding notes (--run-dir), not the host's /run/lnetd. */
  readonly runDir = join(this.dir, 'run');
  /** The "host's" resolv.conf the resolver forwards to: empty unless a test names its own upstream (never the machine's). */
  readonly hostResolvConf = join(this.dir, 'host-resolv.conf');
  /** The one directory hosts_path / resolv_conf_path may name (--files-dirs). */
  readonly filesDir = join(this.dir, 'files');
  proc?: ChildProcess;
  stderr = '';
  /** The daemon's log (pino JSON lines on stdout) since the last start. */
  stdout = '';
  /** An open fd the daemon's stdout goes to instead of a pipe (this.stdout stays empty), e.g. a file posing as the journal. */
  stdoutFd?: number;
  /** nsenter arguments put before `--net=` (e.g. `-t PID -m` to run in a test's own mount namespace). */
  enter: string[] = [];
  private exitHook = () => this.cleanupSync();

  constructor(readonly extraArgs: string[] = [], readonly env: NodeJS.ProcessEnv = {}, readonly nodeArgs: string[] = []) {
    const r = spawnSync('ip', ['netns', 'add', this.name]);
    if (r.status !== 0) throw new Error(`ip netns add ${this.name}: ${r.stderr}`);
    mkdirSync(this.filesDir);
    spawnSync('ip', ['-n', this.name, 'link', 'set', 'lo', 'up']);
    writeFileSync(this.hostResolvConf, '');
    process.on('exit', this.exitHook);
  }

  /** Start (or restart) the daemon and wait until it answers /_ping. */
  async start(args: string[] = []): Promise<void> {
    this.stderr = '';
    this.stdout = '';
    const argv = [...this.enter, '--net=' + this.nsPath, ...lnetdArgv([...this.ownArgs(), '--log-level', 'warn', ...this.extraArgs, ...args], this.nodeArgs)];
    const proc = spawn('nsenter', argv, { stdio: ['ignore', this.stdoutFd ?? 'pipe', 'pipe'], env: { ...process.env, ...this.env } });
    this.proc = proc;
    proc.stderr!.on('data', (b: Buffer) => { this.stderr += b.toString(); });
    // kept only up to 1 MiB: enough for any test's warnings, bounded for a chatty one
    proc.stdout?.on('data', (b: Buffer) => { if (this.stdout.length < 1 << 20) this.stdout += b.toString(); });
    // a readiness wait, not a speed check: generous so a loaded machine does not fail it
    const deadline = Date.now() + 45_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`lnetd exited ${proc.exitCode}: ${this.stderr}`);
      try {
        const r = await request(this.socket, 'GET', '/_ping');
        if (r.status === 200) return;
      } catch { /* not listening yet */ }
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`lnetd did not answer within 45 s: ${this.stderr}`);
  }

  /** Every path the daemon uses (sockets, data, netns and run dirs, files dir, the resolver's upstream file): all in this daemon's temp dir. */
  ownArgs(): string[] {
    return ['--socket', this.socket, '--docker-socket', this.dockerSocket, '--data-dir', this.dataDir, '--netns-dir', this.netnsDir, '--run-dir', this.runDir,
      '--files-dirs', this.filesDir, '--dns-resolv-conf', this.hostResolvConf];
  }

  req(method: string, path: string, body?: unknown): Promise<Reply> {
    return request(this.socket, method, path, body);
  }

  /** A request that must answer 200: its parsed body, else an error naming method, path, status and body. */
  async ok(method: string, path: string, body?: unknown): Promise<any> {
    const r = await this.req(method, path, body);
    if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
    return r.json;
  }

  /** A request to the Docker Engine API's socket. */
  docker(method: string, path: string, body?: unknown): Promise<Reply> {
    return request(this.dockerSocket, method, path, body);
  }

  /** SIGTERM (graceful) or SIGKILL, and wait for the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null;
    const done = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    p.kill(signal);
    return done;
  }

  /** Run a command inside the test host namespace (argument array, no shell). */
  exec(argv: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync('nsenter', [...this.enter, '--net=' + this.nsPath, ...argv], { encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  async cleanup(): Promise<void> {
    await this.stop('SIGKILL').catch(() => undefined);
    let ino: number | undefined;
    try { ino = statSync(this.nsPath).ino; } catch { /* never made */ }
    this.cleanupSync();
    // whatever started a daemon in this namespace (this helper or a test's own
    // spawn) must have given it a run dir of its own: none may land in the host's
    // (the lock names its holder's data dir: ours is in this.dir; an inode can be reused by a later namespace)
    const lock = ino === undefined ? undefined : join(HOST_RUN_DIR, `netns-${ino}.lock`);
    const ours = (f: string): boolean => { try { return readFileSync(f, 'utf8').includes(this.dir); } catch { return false; } };
    const leftover = lock && existsSync(lock) && ours(lock) ? [lock] : [];
    for (const f of leftover) rmSync(f, { force: true });
    if (lock && leftover.length) rmSync(lock.replace(/\.lock$/, '.forwarding'), { force: true });
    if (leftover.length) throw new Error(`a daemon of ${this.dir} used the host's ${HOST_RUN_DIR} (left ${leftover.join(', ')}): give it --run-dir in its temp dir`);
  }

  private cleanupSync(): void {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    for (const m of mountsUnder(this.dir)) spawnSync('umount', ['-l', m]);
    rmSync(this.dir, { recursive: true, force: true });
    spawnSync('ip', ['netns', 'del', this.name]);
    process.off('exit', this.exitHook);
  }
}

/**
 * Run the daemon only to see it refuse its settings: in a network and mount
 * namespace of its own (unshare, gone when it exits), never in the root one,
 * with its socket, data, netns and run dirs in a temp dir (removed after), so
 * even a check that wrongly passed could change nothing on the host.
 */
export function refusedStart(args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  const dir = mkdtempSync(join(tmpdir(), 'lnetd-refused-'));
  const own = ['--socket', join(dir, 'lnetd.sock'), '--docker-socket', join(dir, 'docker.sock'), '--data-dir', join(dir, 'data'),
    '--netns-dir', join(dir, 'netns'), '--run-dir', join(dir, 'run')];
  try {
    return spawnSync('unshare', ['--net', '--mount', '--propagation', 'private', ...lnetdArgv([...own, ...args])],
      { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  } finally {
    for (const m of mountsUnder(dir)) spawnSync('umount', ['-l', m]);
    rmSync(dir, { recursive: true, force: true });
  }
}
