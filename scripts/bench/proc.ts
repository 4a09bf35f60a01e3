// Child processes for the bench. Arguments are always arrays: no shell, so no
// name or path we make can be reinterpreted as a command.

import { spawn, spawnSync } from 'node:child_process';

export interface Ran { code: number; stdout: string; stderr: string }

/** Run to completion and throw with stderr on a non-zero exit. Synchronous on
 * purpose: peers are timed around it and a blocked event loop costs nothing
 * here, while an async spawn adds event-loop hops to every peer figure. */
export function runSync(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Ran {
  const r = spawnSync(cmd, args, { input: opts.input ?? '', env: opts.env ?? process.env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  const ran = { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  if (ran.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}: ${ran.stderr.trim()}`);
  return ran;
}

/** Like runSync but never throws: for cleanup, where every step must be tried. */
export function tryRun(cmd: string, args: string[]): Ran {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: '' });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

/** Async variant for long jobs that must not freeze the main event loop. */
export function run(cmd: string, args: string[]): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve({ code, stdout, stderr });
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
    });
  });
}

/** True if the file exists and is executable by us. */
export function hasBinary(path: string): boolean {
  return spawnSync('test', ['-x', path]).status === 0;
}
