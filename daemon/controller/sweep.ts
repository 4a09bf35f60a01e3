// What reconcile may remove, and what it must not (issue 9 item 2). Records
// can be wrong (a lost write, a restored backup, a second daemon, an
// operator's mistake), so "no record explains it" is not proof that an object
// is a leftover. Reconcile removes an unexplained object only when it carries
// this instance's mark (links: IFLA_IFALIAS `lnetd:<instance>`; the netns dir:
// its `.lnetd-instance` file), and when more than QUARANTINE_LIVE_MAX of the
// marked objects it would remove are live — a veth whose peer is in another
// namespace, a bridge with ports, a sandbox namespace a process still holds —
// it removes none of the live ones: it quarantines them (logged, counted in
// /_stats, listed by GET /_reconcile) until an operator confirms with
// POST /_reconcile?apply=true. Unmarked objects are never removed.

import { readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LinkInfo } from '../../drivers/linux/kernel.js';
import type { Controller } from './controller.js';

/** More live objects than this in one sweep means the records are suspect. */
export const QUARANTINE_LIVE_MAX = 2;
export const NETNS_MARKER = '.lnetd-instance';

export interface Stray {
  kind: 'bridge' | 'veth' | 'netns';
  name: string;
  live?: string;        // why it is live (processes or traffic), if it is
}

export interface SweepState {
  mark?: string;
  quarantined: Stray[];
  unmarked: Stray[];
  removed: Stray[];
  at?: string;
}

const states = new WeakMap<Controller, SweepState>();

export function sweepState(c: Controller): SweepState {
  let s = states.get(c);
  if (!s) states.set(c, (s = { quarantined: [], unmarked: [], removed: [] }));
  return s;
}

export function setMark(c: Controller, mark: string | undefined): void {
  sweepState(c).mark = mark;
}

/** Whether a link carries this instance's mark; without a mark (unit tests on the fakes) everything with our prefix is ours, as before marks. */
export function markedLink(c: Controller, l: LinkInfo): boolean {
  const mark = sweepState(c).mark;
  return !mark || l.alias === mark;
}

export function linkLive(l: LinkInfo, all: LinkInfo[]): string | undefined {
  if (l.kind === 'veth' && l.peerElsewhere) return 'its peer is in a live namespace';
  if (l.kind === 'bridge') {
    const ports = all.filter((x) => x.master === l.index).length;
    if (ports) return `${ports} port(s) on it`;
  }
  return undefined;
}

/** The netns dir carries the instance id of the daemon whose sandboxes it holds. True when it is ours (written on first use). */
export function claimNetnsDir(c: Controller, dir: string): boolean {
  const mark = sweepState(c).mark;
  if (!mark) return true;
  const file = join(dir, NETNS_MARKER);
  try {
    return readFileSync(file, 'utf8').trim() === mark;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return false;
    writeFileSync(file, mark + '\n', { flag: 'wx', mode: 0o644 });
    return true;
  }
}

/** Inodes of every network namespace some process is in. */
function heldNetns(): Set<number> {
  const out = new Set<number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const m = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/net`));
      if (m) out.add(Number(m[1]));
    } catch { /* gone, or not ours to read */ }
  }
  return out;
}

/** A sandbox namespace is live when a process is in it or it holds an
 *  interface besides lo (a veth to a bridge: a traffic path). */
export function netnsLiveCheck(c: Controller): (path: string) => Promise<string | undefined> {
  let held: Set<number> | undefined;
  return async (path) => {
    try {
      held ??= heldNetns();
      if (held.has(statSync(path).ino)) return 'a process is in it';
      const ifs = (await c.kernel.links(path)).filter((l) => l.name !== 'lo').map((l) => l.name);
      c.kernel.releaseNetns(path);
      return ifs.length ? `interfaces ${ifs.join(', ')} in it` : undefined;
    } catch {
      return undefined;
    }
  };
}

/** Split marked strays into what goes now and what waits for an operator. */
export function decide(c: Controller, marked: Stray[]): { remove: Stray[]; quarantine: Stray[] } {
  const live = marked.filter((s) => s.live);
  if (live.length <= QUARANTINE_LIVE_MAX) return { remove: marked, quarantine: [] };
  c.log.warn({ live: live.length, max: QUARANTINE_LIVE_MAX, objects: live.slice(0, 20) },
    'reconcile: the records do not explain several live objects; quarantined instead of deleted (GET /_reconcile; POST /_reconcile?apply=true removes them)');
  return { remove: marked.filter((s) => !s.live), quarantine: live };
}
