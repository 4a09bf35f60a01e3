// What a peer is to the worker that drives it inside its host namespace.

import { createHash } from 'node:crypto';

/** Runs one process to completion (the worker may wrap it to count execs). */
export type Exec = (cmd: string, args: string[], opts?: { input?: string; env?: NodeJS.ProcessEnv }) => void;

export interface Peer {
  /** One-time, untimed preparation inside the host namespace. */
  setup(exec: Exec): void;
  /** Everything after `ip netns add` that makes container i attached. */
  attach(i: number, ns: string, exec: Exec): void;
  /** Everything before `ip netns del` that undoes attach(i). */
  detach(i: number, ns: string, exec: Exec): void;
}

export interface PeerContext { tmpDir: string; nsPrefix: string }

/** Stable 64-hex container id per index, like a runtime's. */
export function containerId(ctx: PeerContext, i: number): string {
  return createHash('sha256').update(`${ctx.nsPrefix}${i}`).digest('hex');
}

/** Host address i of a /16, skipping .0 and the gateway at .1. */
export function hostAddr(prefix16: string, i: number): string {
  const n = i + 2;
  return `${prefix16}.${(n >> 8) & 255}.${n & 255}`;
}
