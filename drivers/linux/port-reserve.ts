// Reservations of published host ports: one socket bound to the host address
// and port (never listened on) per published family, held by lnetd for as
// long as the mapping exists, as Docker does. While it is held no other
// process in lnetd's network namespace can bind the port, and a port another
// process already holds is refused before anything is published.

import { closeSync, readFileSync } from 'node:fs';
import { bindPort } from './native.js';

export interface PortSocket { family: 4 | 6; proto: number; addr: string; port: number }

export interface PortReserver {
  /** Bind one socket and hold it; throws with the errno's code (EADDRINUSE,
   *  EADDRNOTAVAIL, EMFILE …). undefined: the kernel has no such protocol
   *  (SCTP without its module), so no process can take the port either. */
  bind(s: PortSocket): number | undefined;
  close(handle: number): void;
  /** The most sockets lnetd may hold: RLIMIT_NOFILE less room for its other files. */
  readonly limit: number;
}

/** The soft RLIMIT_NOFILE of this process (Node raises it to the hard limit at start). */
export function openFilesLimit(limits = '/proc/self/limits'): number {
  try {
    const line = readFileSync(limits, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    if (soft === 'unlimited') return 1 << 20;
    const n = Number(soft);
    return Number.isInteger(n) && n > 0 ? n : 1024;
  } catch {
    return 1024;
  }
}

/** Room kept for the store, the API's connections, namespace fds, netlink and nft. */
export function reservationLimit(nofile: number): number {
  return nofile >= 8192 ? nofile - 2048 : Math.floor((nofile * 3) / 4);
}

/** The real thing: sockets in the calling thread's network namespace (lnetd's own). */
export class SocketReserver implements PortReserver {
  readonly limit: number;
  constructor(nofile = openFilesLimit()) {
    this.limit = reservationLimit(nofile);
  }

  bind(s: PortSocket): number | undefined {
    try {
      return bindPort(s.family, s.proto, s.addr, s.port);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (s.proto === 132 && (code === 'EPROTONOSUPPORT' || code === 'ESOCKTNOSUPPORT')) return undefined;
      throw err;
    }
  }

  close(handle: number): void {
    closeSync(handle);
  }
}
