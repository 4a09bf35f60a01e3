// Process starts for the few things netlink can't do (nft). Arguments are
// always an array: nothing a request carries ever reaches a shell. Every start
// is counted, so benchmarks can report processes per operation.

import { spawn } from 'node:child_process';

let started = 0;

/** How many processes lnetd has started since it began. */
export function processCount(): number {
  return started;
}

export interface RunResult { stdout: string; stderr: string }

export function run(cmd: string, args: string[], input?: string): Promise<RunResult> {
  started++;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      if (code === 0) resolve({ stdout, stderr });
      else reject(Object.assign(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.trim()}`), { code: 'EEXEC', stderr }));
    });
    if (child.stdin) {
      // A child that exits without reading all of stdin makes the write fail
      // with EPIPE; its exit code tells what happened, so don't crash on it.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    }
  });
}
