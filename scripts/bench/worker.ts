// Drives one peer from inside its host namespace (started by main through
// `ip netns exec`, so each peer process is a plain exec with no namespace
// switch of its own, the way a runtime on that host would call it).
// Protocol: one JSON request per stdin line, one JSON reply per stdout line.

import { createInterface } from 'node:readline';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { runSync } from './proc.js';
import { attachProblems } from './verify.js';
import type { Exec, Peer, PeerContext } from './peers/peer.js';
import { cniPeer } from './peers/cni.js';
import { netavarkPeer } from './peers/netavark.js';
import { iproute2Peer } from './peers/iproute2.js';

export interface WorkerRequest { op: 'setup' | 'attach' | 'detach' | 'calibrate' | 'verify' | 'quit'; i?: number }
export interface WorkerReply {
  ok: boolean; error?: string; ms?: number; nsMs?: number; hostVeth?: string;
  attachProcs?: number; detachProcs?: number; method?: string; problems?: string[]; spawnMs?: number;
}

const [sys, tmpDir, nsPrefix] = process.argv.slice(2) as [string, string, string];
const ctx: PeerContext = { tmpDir, nsPrefix };
const peers: Record<string, () => Peer> = { cni: () => cniPeer(ctx), netavark: () => netavarkPeer(ctx), iproute2: iproute2Peer };
const peer = peers[sys]!();

const plain: Exec = (cmd, args, opts) => { runSync(cmd, args, opts ?? {}); };

/** The host's links: `ip netns exec` mounted a sysfs of this namespace. */
const hostLinks = (): Set<string> => new Set(readdirSync('/sys/class/net'));

function attach(i: number, exec: Exec): { ms: number; nsMs: number; hostVeth?: string } {
  const ns = nsPrefix + i;
  const before = hostLinks();
  const t0 = performance.now();
  exec('ip', ['netns', 'add', ns]);
  const t1 = performance.now();
  peer.attach(i, ns, exec);
  const ms = performance.now() - t0;
  // Off the clock: the one new link is the container's host end (the first
  // attach also makes the bridge, which is not a veth).
  const added = [...hostLinks()].filter((n) => !before.has(n) && n.startsWith('veth'));
  return { ms, nsMs: t1 - t0, hostVeth: added.length === 1 ? added[0] : undefined };
}

function detach(i: number, exec: Exec): { ms: number; nsMs: number } {
  const ns = nsPrefix + i;
  const t0 = performance.now();
  peer.detach(i, ns, exec);
  const t1 = performance.now();
  exec('ip', ['netns', 'del', ns]);
  return { ms: performance.now() - t0, nsMs: performance.now() - t1 };
}

const hasStrace = spawnSync('strace', ['-V']).status === 0;

/** Count processes one operation starts. With strace: successful execve()s
 * anywhere in the tree (a failed PATH probe returns -1 and is not counted).
 * Without: the kernel's fork counter, which other activity can only inflate,
 * so the lowest of three tries is kept. */
function countProcs(op: (exec: Exec) => void): number {
  if (hasStrace) {
    let n = 0;
    const log = join(tmpDir, `strace-${sys}.log`);
    op((cmd, args, opts) => {
      runSync('strace', ['-f', '-qq', '-e', 'trace=execve', '-o', log, cmd, ...args], opts ?? {});
      n += readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('execve') && / = 0$/.test(l)).length;
      rmSync(log, { force: true });
    });
    return n;
  }
  const forks = (): number => Number(/^processes (\d+)/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
  const before = forks();
  op(plain);
  return forks() - before;
}

function calibrate(i: number): WorkerReply {
  const tries = hasStrace ? 1 : 3;
  let a = Infinity; let d = Infinity;
  for (let k = 0; k < tries; k++) {
    a = Math.min(a, countProcs((exec) => attach(i, exec)));
    d = Math.min(d, countProcs((exec) => detach(i, exec)));
  }
  return { ok: true, attachProcs: a, detachProcs: d, method: hasStrace ? 'strace execve' : '/proc/stat forks', spawnMs: spawnCost() };
}

/** What one exec from this Node worker costs with nothing to do (median of
 * 21 runs of true): the part of each top-level peer process a leaner caller
 * would not pay, printed so a reader can discount it. */
function spawnCost(): number {
  const ms: number[] = [];
  for (let k = 0; k < 21; k++) { const t = performance.now(); runSync('true', []); ms.push(performance.now() - t); }
  return ms.sort((a, b) => a - b)[10]!;
}

/** Container namespaces live in this process's mount namespace (ip netns
 * exec made it private), so only we can look inside them. */
function verify(i: number): WorkerReply {
  const ns = nsPrefix + i;
  const ipj = (what: string): string => runSync('ip', ['-j', '-n', ns, what, 'show']).stdout;
  const ruleset = sys === 'iproute2' ? null : runSync('nft', ['list', 'ruleset']).stdout;
  return { ok: true, problems: attachProblems(ipj('addr'), ipj('route'), ruleset) };
}

function handle(req: WorkerRequest): WorkerReply {
  switch (req.op) {
    case 'setup': peer.setup(plain); return { ok: true };
    case 'attach': return { ok: true, ...attach(req.i!, plain) };
    case 'detach': return { ok: true, ...detach(req.i!, plain) };
    case 'calibrate': return calibrate(req.i!);
    case 'verify': return verify(req.i!);
    case 'quit': process.exit(0);
  }
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let reply: WorkerReply;
  try { reply = handle(JSON.parse(line) as WorkerRequest); } catch (e) { reply = { ok: false, error: String((e as Error).message ?? e) }; }
  process.stdout.write(JSON.stringify(reply) + '\n');
});
// If main goes away, so do we; main sweeps the namespaces.
rl.on('close', () => process.exit(0));
