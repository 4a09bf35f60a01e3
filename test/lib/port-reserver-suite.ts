// The port-reserver contract suite: the same cases through `PortReserver`
// against the in-memory one (unit tier) and SocketReserver (kernel tier, real
// sockets inside a throwaway network namespace), so the fake the API tests
// use answers as bind() does: every address of a family conflicts with each
// single address of it, the other family and the other protocol are free, an
// address the namespace lacks is EADDRNOTAVAIL, and close frees the port.

import type { Test } from 'tap';
import type { PortReserver, PortSocket } from '../../drivers/linux/port-reserve.js';

const code = (fn: () => unknown): string => {
  try { fn(); return 'OK'; } catch (err) { return (err as NodeJS.ErrnoException).code ?? String(err); }
};

export function portReserverSuite(t: Test, make: (t: Test) => PortReserver): void {
  t.test('every address conflicts with each of its family, not the other family or protocol', async (t) => {
    const r = make(t);
    const s = (family: 4 | 6, proto: number, addr: string, port: number): PortSocket => ({ family, proto, addr, port });
    const held: number[] = [];
    const bind = (x: PortSocket) => code(() => { const h = r.bind(x); if (h !== undefined) held.push(h); });
    t.equal(bind(s(4, 6, '', 19001)), 'OK');
    t.equal(bind(s(4, 6, '127.0.0.1', 19001)), 'EADDRINUSE', 'a single IPv4 address under 0.0.0.0');
    t.equal(bind(s(4, 6, '', 19001)), 'EADDRINUSE', 'the same again');
    t.equal(bind(s(6, 6, '::1', 19001)), 'OK', 'IPv6 is its own space (V6ONLY)');
    t.equal(bind(s(6, 6, '', 19001)), 'EADDRINUSE', ':: over a held ::1');
    t.equal(bind(s(4, 17, '', 19001)), 'OK', 'UDP is its own space');
    t.equal(bind(s(4, 17, '127.0.0.1', 19001)), 'EADDRINUSE', 'and conflicts the same way');
    t.equal(bind(s(4, 6, '127.0.0.1', 19002)), 'OK');
    t.equal(bind(s(4, 6, '', 19002)), 'EADDRINUSE', '0.0.0.0 over a held single address');
    t.equal(bind(s(4, 6, '10.9.9.9', 19003)), 'EADDRNOTAVAIL', 'an address the namespace lacks');
    for (const h of held.splice(0)) r.close(h);
    t.equal(bind(s(4, 6, '', 19001)), 'OK', 'close frees the port');
    t.equal(bind(s(4, 6, '', 19002)), 'OK');
    for (const h of held.splice(0)) r.close(h);
    t.ok(r.limit > 0, 'a positive limit');
  });
}
