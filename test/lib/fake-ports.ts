// Host-port reservations in memory, for tests (the daemon binds real sockets:
// drivers/linux/port-reserve.ts). Same answers as the kernel for one namespace.

import type { PortReserver, PortSocket } from '../../drivers/linux/port-reserve.js';

const errno = (code: string, what: string): NodeJS.ErrnoException => Object.assign(new Error(`${what}: ${code}`), { code });

/**
 * In memory, with the kernel's rules for one namespace: a socket on every
 * address of a family conflicts with each single address of it. `external`
 * holds what "other processes" have bound; `local` the addresses that exist.
 * Unit tests and the in-process daemon use it: they never bind real ports.
 */
export class MemoryReserver implements PortReserver {
  readonly held = new Map<number, PortSocket>();
  readonly external: PortSocket[] = [];
  /** Single addresses bind() accepts (as if assigned in the namespace); any other is EADDRNOTAVAIL. */
  readonly local = new Set(['127.0.0.1', '::1']);
  private next = 1;
  constructor(readonly limit = 1 << 20) {}

  private clash(a: PortSocket, b: PortSocket): boolean {
    return a.family === b.family && a.proto === b.proto && a.port === b.port && (a.addr === '' || b.addr === '' || a.addr === b.addr);
  }

  bind(s: PortSocket): number | undefined {
    const what = `bind ${s.addr || (s.family === 4 ? '0.0.0.0' : '::')}:${s.port}/${s.proto}`;
    if (s.addr !== '' && !this.local.has(s.addr)) throw errno('EADDRNOTAVAIL', what);
    if (this.held.size >= this.limit) throw errno('EMFILE', what);
    if ([...this.external, ...this.held.values()].some((o) => this.clash(o, s))) throw errno('EADDRINUSE', what);
    const h = this.next++;
    this.held.set(h, { ...s });
    return h;
  }

  close(handle: number): void {
    this.held.delete(handle);
  }
}
