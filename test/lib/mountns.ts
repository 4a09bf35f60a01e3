// A throwaway mount namespace for tests: a `sleep` started by `unshare
// --mount --propagation private` holds it, so mounts made in it (a small
// tmpfs, the daemon's netns dir) are invisible to the host and vanish with
// it. Enter it with `nsenter -t <pid> -m` (TestDaemon.enter = ns.enter).
// `cleanup` kills the holder by its pid; also on process exit.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';

export class MountNs {
  private readonly holder: ChildProcess;
  private readonly exitHook = () => this.cleanup();

  private constructor(holder: ChildProcess) {
    this.holder = holder;
    process.on('exit', this.exitHook);
  }

  static async make(): Promise<MountNs> {
    const holder = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sleep', '3600'], { stdio: 'ignore' });
    const ns = new MountNs(holder);
    const own = readlinkSync('/proc/self/ns/mnt');
    // unshare execs sleep in the new namespace; wait until the pid is there
    for (let i = 0; i < 200; i++) {
      try { if (holder.pid && readlinkSync(`/proc/${holder.pid}/ns/mnt`) !== own) return ns; } catch { /* not yet */ }
      await new Promise((r) => setTimeout(r, 10));
    }
    ns.cleanup();
    throw new Error('unshare --mount did not start');
  }

  get pid(): number { return this.holder.pid!; }
  /** nsenter arguments that enter this mount namespace. */
  get enter(): string[] { return ['-t', String(this.pid), '-m']; }

  /** Run argv inside the mount namespace (no shell); throws with stderr on failure unless allowFail. */
  run(argv: string[], allowFail = false): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync('nsenter', [...this.enter, '--', ...argv], { encoding: 'utf8' });
    if (r.status !== 0 && !allowFail) throw new Error(`${argv.join(' ')} in mount ns ${this.pid}: ${r.stderr}`);
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  cleanup(): void {
    if (this.holder.exitCode === null && this.holder.signalCode === null && this.holder.pid) this.holder.kill('SIGKILL');
    process.off('exit', this.exitHook);
  }
}
