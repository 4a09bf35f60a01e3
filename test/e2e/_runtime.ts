// Real container runtimes for the e2e tier (shared by the podman/netavark,
// podman/CNI and containerd tests). A runtime runs inside the throwaway host
// namespace of a TestDaemon (entered with nsenter --net=, not ip netns exec,
// whose private mount namespace would hide the runtime's own netns mounts
// between calls), with every directory it keeps state in under a tmp dir.
// What a rootful runtime still writes to fixed system paths
// (/run/containers/networks, /var/lib/containers/cache, and runc's /run/runc:
// the `podman container cleanup` that conmon starts passes no --runtime-flag)
// is removed afterwards when it was not there before; runtime tests take a
// lock first so two tap workers never share those paths.

import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountsUnder, ROOT, type TestDaemon } from '../lib/daemon.js';

interface Teardown { teardown(fn: () => unknown): void }

export interface Run { status: number | null; stdout: string; stderr: string }

/** The first of these commands that is not installed, or undefined when all are. */
export function missingTool(names: string[]): string | undefined {
  return names.find((n) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', n]).status !== 0);
}

const LOCK = '/run/lnetd-e2e-runtime.lock';

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** One runtime test at a time on this machine (they share fixed system paths); a lock whose holder died is taken over. */
export async function runtimeLock(t: Teardown, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(join(LOCK, 'pid'), { encoding: 'utf8', flag: 'r' }) || 0);
      if (holder && !alive(holder)) { rmSync(LOCK, { recursive: true, force: true }); continue; }
      if (Date.now() > deadline) throw new Error(`runtime lock ${LOCK} held by pid ${holder} for too long`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const release = () => rmSync(LOCK, { recursive: true, force: true });
  process.once('exit', release);
  t.teardown(() => { release(); process.off('exit', release); });
}

/** System paths a rootful runtime writes on its own: those absent now are removed at teardown. */
export function guardSystemPaths(t: Teardown, paths: string[]): void {
  const absent = paths.filter((p) => !existsSync(p));
  const clean = () => { for (const p of absent) rmSync(p, { recursive: true, force: true }); };
  process.once('exit', clean);
  t.teardown(() => { clean(); process.off('exit', clean); });
}

export const PODMAN_SYSTEM_PATHS = ['/run/containers', '/var/lib/containers', '/run/runc'];

/** A root file system with busybox-static and its applets, and /www/index.html saying `hello`. */
export function busyboxRootfs(dir: string, applets = ['sh', 'ping', 'nc', 'httpd', 'ip', 'sleep', 'cat', 'wget', 'ls']): string {
  const root = join(dir, 'rootfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'www'), { recursive: true });
  mkdirSync(join(root, 'tmp'), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
  for (const a of applets) symlinkSync('busybox', join(root, 'bin', a));
  writeFileSync(join(root, 'www/index.html'), 'hello\n');
  return root;
}

export interface PodmanOptions {
  /** netavark: lnetd-netavark installed as `netavark` in the helper dir; cni: podman's CNI backend. */
  backend: 'netavark' | 'cni';
  /** Extra lines for containers.conf's [network] table (the CNI test's plugin and config dirs). */
  network?: string[];
}

/** podman 4.x, rootful, with all its state under a tmp dir, inside the daemon's host namespace. */
export class Podman {
  readonly dir = mkdtempSync(join(tmpdir(), 'lnetd-podman-'));
  readonly conf = join(this.dir, 'containers.conf');
  readonly helperDir = join(this.dir, 'libexec');
  readonly networkDir = join(this.dir, 'networks');
  private readonly exitHook = () => this.cleanupSync();

  constructor(readonly daemon: TestDaemon, readonly opts: PodmanOptions) {
    process.on('exit', this.exitHook);
    mkdirSync(this.helperDir);
    mkdirSync(this.networkDir);
    // crun 1.8.1 refuses this machine's hybrid cgroups: runc with cgroupfs; no journald
    // here: events to a file; no CAP_SYS_RESOURCE: limits below the current ones;
    // file locks under tmp_dir instead of podman's shared /dev/shm segment
    writeFileSync(this.conf, [
      '[containers]',
      'default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]',
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${join(this.dir, 'events.log')}"`,
      'runtime = "runc"',
      'lock_type = "file"',
      `tmp_dir = "${join(this.dir, 'tmp')}"`,
      `helper_binaries_dir = ["${this.helperDir}"]`,
      '[network]',
      `network_backend = "${opts.backend}"`,
      `network_config_dir = "${this.networkDir}"`,
      ...(opts.network ?? []),
      '',
    ].join('\n'));
    if (opts.backend === 'netavark') {
      const r = spawnSync('bash', [join(ROOT, 'scripts/install-plugins.sh'), '--netavark-dir', this.helperDir, '--socket', daemon.socket], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`install-plugins: ${r.stderr}`);
    }
  }

  /** podman ARGS in the daemon's host namespace; never throws. */
  run(args: string[], timeoutMs = 60_000): Run {
    const argv = ['--net=' + this.daemon.nsPath, 'podman', '--root', join(this.dir, 'root'), '--runroot', join(this.dir, 'runroot'), ...args];
    const r: SpawnSyncReturns<string> = spawnSync('nsenter', argv, { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, CONTAINERS_CONF: this.conf, LNETD_SOCKET: this.daemon.socket } });
    return { status: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
  }

  /** podman ARGS that must succeed: its stdout, trimmed. */
  ok(args: string[], timeoutMs?: number): string {
    const r = this.run(args, timeoutMs);
    if (r.status !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
    return r.stdout.trim();
  }

  /** The tiny offline image: busybox-static imported as localhost/bb. */
  importBusybox(): void {
    const root = busyboxRootfs(this.dir);
    const tar = spawnSync('tar', ['-C', root, '-c', '.'], { maxBuffer: 64 << 20 });
    if (tar.status !== 0) throw new Error(`tar: ${tar.stderr}`);
    const argv = ['--net=' + this.daemon.nsPath, 'podman', '--root', join(this.dir, 'root'), '--runroot', join(this.dir, 'runroot'), 'import', '-q', '-', 'localhost/bb'];
    const r = spawnSync('nsenter', argv, { input: tar.stdout, encoding: 'utf8', timeout: 60_000, env: { ...process.env, CONTAINERS_CONF: this.conf } });
    if (r.status !== 0) throw new Error(`podman import: ${r.stderr}`);
  }

  /** Remove every container, then everything under the tmp dir. */
  cleanup(): void {
    if (existsSync(this.conf)) this.run(['rm', '-a', '-f', '-t', '0'], 120_000);
    this.cleanupSync();
  }

  private cleanupSync(): void {
    for (const m of mountsUnder(this.dir)) spawnSync('umount', ['-l', m]);
    rmSync(this.dir, { recursive: true, force: true });
    process.off('exit', this.exitHook);
  }
}
