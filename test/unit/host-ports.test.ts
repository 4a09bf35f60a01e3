// Published host ports: canonical addresses, the overlap rule, the allocation
// index (checked against a naive model with fast-check), and the controller's
// reservations through the API on the in-memory reserver (whose `external`
// list plays the sockets of other processes).

import t from 'tap';
import fc from 'fast-check';
import { canonHostIp, FreeTree, hostIpsOverlap, PortIndex } from '../../drivers/ipam/ports.js';
import { reservationLimit, openFilesLimit } from '../../drivers/linux/port-reserve.js';
import { MemoryReserver } from '../lib/fake-ports.js';
import { EPHEMERAL_PORTS, MAX_PORT_BINDINGS } from '../../daemon/controller/ports.js';
import { InProc } from '../lib/inproc.js';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

t.test('host addresses have one canonical text', async (t) => {
  t.equal(canonHostIp(''), '');
  t.equal(canonHostIp('0:0:0:0:0:0:0:1'), '::1');
  t.equal(canonHostIp('::1'), '::1');
  t.equal(canonHostIp('0000::0001'), '::1');
  t.equal(canonHostIp('::ffff:127.0.0.1'), '127.0.0.1', 'IPv4-mapped IPv6 is the IPv4 address');
  t.equal(canonHostIp('::ffff:7f00:1'), '127.0.0.1');
  t.equal(canonHostIp('::FFFF:0.0.0.0'), '0.0.0.0');
  t.equal(canonHostIp('0:0::0'), '::');
  t.equal(canonHostIp('FE80::A'), 'fe80::a');
  t.equal(canonHostIp('fe80::1%eth0'), undefined, 'a zone is not an address');
  t.equal(canonHostIp('1.2.3'), undefined);
  t.equal(canonHostIp('10.0.0.1/8'), undefined);
});

t.test('"every address" overlaps each address of its family, never the other family', async (t) => {
  const yes: Array<[string, string]> = [
    ['0.0.0.0', '127.0.0.1'], ['', '127.0.0.1'], ['', '::1'], ['::', '::1'], ['', ''], ['', '0.0.0.0'], ['', '::'],
    ['::1', '0:0:0:0:0:0:0:1'], ['::ffff:10.1.2.3', '10.1.2.3'], ['0.0.0.0', '::ffff:10.1.2.3'], ['10.1.2.3', '10.1.2.3'],
  ];
  const no: Array<[string, string]> = [
    ['0.0.0.0', '::'], ['0.0.0.0', '::1'], ['::', '127.0.0.1'], ['127.0.0.1', '127.0.0.2'], ['::1', '::2'], ['::', '::ffff:10.1.2.3'],
  ];
  for (const [a, b] of yes) { t.ok(hostIpsOverlap(a, b), `${a} / ${b}`); t.ok(hostIpsOverlap(b, a), `${b} / ${a}`); }
  for (const [a, b] of no) { t.notOk(hostIpsOverlap(a, b), `${a} / ${b}`); t.notOk(hostIpsOverlap(b, a), `${b} / ${a}`); }
});

t.test('FreeTree finds the first free port of a range (model check)', async () => {
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.integer({ min: 0, max: 200 }), fc.boolean()), { maxLength: 300 }),
    fc.integer({ min: 0, max: 220 }), fc.integer({ min: 0, max: 220 }),
    (ops, lo, hi) => {
      const tree = new FreeTree();
      const model = new Map<number, number>();
      for (const [p, up] of ops) {
        const n = model.get(p) ?? 0;
        if (!up && n === 0) continue;
        tree.add(p, up ? 1 : -1);
        model.set(p, n + (up ? 1 : -1));
      }
      let want: number | undefined;
      for (let p = lo; p <= hi; p++) if (!(model.get(p) ?? 0)) { want = p; break; }
      return tree.firstFree(lo, hi) === want;
    },
  ), { numRuns: 300 });
});

const ADDRS = ['', '0.0.0.0', '::', '127.0.0.1', '127.0.0.2', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'];

t.test('PortIndex agrees with a naive list of bindings (model check)', async () => {
  const bind = fc.record({ proto: fc.constantFrom(6, 17), ip: fc.constantFrom(...ADDRS), port: fc.integer({ min: 1, max: 12 }), owner: fc.constantFrom('a', 'b', 'c') });
  fc.assert(fc.property(fc.array(fc.tuple(bind, fc.boolean()), { maxLength: 80 }), bind, (ops, q) => {
    const idx = new PortIndex();
    const model: Array<{ proto: number; ip: string; port: number; owner: string }> = [];
    for (const [b, add] of ops) {
      if (add) { idx.add(b.proto, b.ip, b.port, b.owner); model.push(b); continue; }
      const i = model.findIndex((m) => m.proto === b.proto && canonHostIp(m.ip) === canonHostIp(b.ip) && m.port === b.port && m.owner === b.owner);
      idx.remove(b.proto, b.ip, b.port, b.owner);
      if (i >= 0) model.splice(i, 1);
    }
    const taken = (port: number) => model.some((m) => m.proto === q.proto && m.port === port && hostIpsOverlap(m.ip, q.ip));
    if (!!idx.holder(q.proto, q.ip, q.port) !== taken(q.port)) return false;
    let want: number | undefined;
    for (let p = 1; p <= 12; p++) if (!taken(p)) { want = p; break; }
    return idx.firstFree(q.proto, q.ip, 1, 12) === want;
  }), { numRuns: 500 });
});

t.test('the reservation limit leaves room for the daemon\'s other files', async (t) => {
  t.equal(reservationLimit(1024), 768);
  t.equal(reservationLimit(524288), 524288 - 2048);
  const dir = mkdtempSync(join(tmpdir(), 'lnetd-limits-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'limits'), 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            4096                 524288               files\n');
  t.equal(openFilesLimit(join(dir, 'limits')), 4096, 'the soft limit is read');
});

async function daemon(t: { teardown(fn: () => unknown): void }, ports?: MemoryReserver, store?: InProc['store']): Promise<InProc> {
  const p = new InProc();
  if (ports) p.ports = ports;
  await p.start(store ? { store } : {});
  t.teardown(() => p.stopServing());
  return p;
}

const ep = (p: InProc, name: string, port_mapping: unknown[], net = 'web') => p.req('POST', `/networks/${net}/endpoints`, { name, port_mapping });
const tcp = (host_port: number, host_ip = '', port = 80) => ({ proto: 6, port, host_ip, host_port });

t.test('overlapping host addresses conflict, across endpoints and within one request', async (t) => {
  const p = await daemon(t);
  t.equal((await p.req('POST', '/networks', { name: 'web', network_type: 'bridge', enable_ipv6: true, ipam: { config: [{ subnet: '10.94.0.0/24' }, { subnet: 'fd00:94::/64' }] } })).status, 200);
  t.equal((await ep(p, 'a', [tcp(7000, '0.0.0.0')])).status, 200);
  const r = await ep(p, 'b', [tcp(7000, '127.0.0.1')]);
  t.equal(r.status, 409, r.text);
  t.equal(r.json?.code, 'PORT_IN_USE');
  t.match(r.json?.message, /port_mapping\[0\]\.host_port 7000/);
  t.match(r.json?.message, /endpoint a of network web/);
  t.equal((await ep(p, 'c', [tcp(7000, '::1')])).status, 200, 'the other family is free');
  const v6 = await ep(p, 'd', [tcp(7000, '0:0:0:0:0:0:0:1')]);
  t.equal(v6.status, 409, '::1 spelled out is the same address');
  t.equal((await ep(p, 'e', [tcp(7000, '')])).status, 409, "'' overlaps both");
  t.equal((await ep(p, 'f', [tcp(7001, '::ffff:127.0.0.1')])).status, 200);
  const mapped = await ep(p, 'g', [tcp(7001, '127.0.0.1')]);
  t.equal(mapped.status, 409, 'IPv4-mapped IPv6 is its IPv4 address');
  t.equal((await p.req('GET', '/networks/web/endpoints/f')).json.port_mapping[0].host_ip, '127.0.0.1', 'stored in canonical form');
  t.equal((await ep(p, 'h', [{ ...tcp(7000), proto: 17 }])).status, 200, 'udp is another port space');
  const self = await ep(p, 'i', [tcp(7100, '0.0.0.0'), tcp(7200), tcp(7100, '127.0.0.1', 81)]);
  t.equal(self.status, 400, self.text);
  t.equal(self.json?.code, 'INVALID_PORT');
  t.match(self.json?.message, /port_mapping\[2\]\.host_port 7100.*overlaps port_mapping\[0\]/);
  t.notOk((await p.req('GET', '/networks/web/endpoints')).json.some((e: { name: string }) => e.name === 'i'), 'nothing created');
  t.equal(p.ports.held.size, 5, 'sockets: a (v4), c (v6), f (v4), h (udp, v4 and v6)');
  t.same([...p.ports.held.values()].filter((s) => s.port === 7200), [], 'the refused request holds nothing');
  // a range that overlaps inside one request
  const range = await ep(p, 'j', [{ ...tcp(7300), range: 3 }, tcp(7302, '127.0.0.1')]);
  t.equal(range.status, 400, range.text);
});

t.test('a port another process holds is refused, dynamic ports step over it, delete frees it', async (t) => {
  const ports = new MemoryReserver();
  ports.external.push({ family: 4, proto: 6, addr: '', port: 9095 }, { family: 4, proto: 6, addr: '', port: EPHEMERAL_PORTS.first });
  const p = await daemon(t, ports);
  await p.req('POST', '/networks', { name: 'web', network_type: 'bridge', ipam: { subnet: '10.95.0.0/24' } });
  for (const ip of ['', '0.0.0.0', '127.0.0.1']) {
    const r = await ep(p, 'a', [tcp(9095, ip)]);
    t.equal(r.status, 409, `${ip || "''"}: ${r.text}`);
    t.equal(r.json?.code, 'PORT_IN_USE');
    t.match(r.json?.message, /port_mapping\[0\]\.host_port 9095.*in use by another process/);
  }
  t.equal((await p.req('GET', '/networks/web/endpoints')).json.length, 0, 'nothing created');
  t.equal(ports.held.size, 0, 'nothing held');
  const nonlocal = await ep(p, 'a', [tcp(9096, '10.9.9.9')]);
  t.equal(nonlocal.status, 400, nonlocal.text);
  t.equal(nonlocal.json?.code, 'INVALID_ADDRESS');
  t.match(nonlocal.json?.message, /port_mapping\[0\]\.host_ip 10\.9\.9\.9/);

  const dyn = await ep(p, 'd', [tcp(0), tcp(0)]);
  t.equal(dyn.status, 200, dyn.text);
  const got = (await p.req('GET', '/networks/web/endpoints/d')).json.port_mapping.map((b: { host_port: number }) => b.host_port);
  t.same(got, [EPHEMERAL_PORTS.first + 1, EPHEMERAL_PORTS.first + 2], 'the externally held first port is stepped over');
  t.same([...ports.held.values()].map((s) => s.port).sort(), got, 'each is held by a socket');
  t.equal((await p.req('DELETE', '/networks/web/endpoints/d')).status, 200);
  t.equal(ports.held.size, 0, 'delete releases the sockets');
  const again = await ep(p, 'e', [tcp(0)]);
  t.equal((await p.req('GET', '/networks/web/endpoints/e')).json.port_mapping[0].host_port, EPHEMERAL_PORTS.first + 3, 'a freed port is not handed out again at once');
  t.equal(again.status, 200);
});

t.test('internal networks publish nothing and reserve nothing', async (t) => {
  const p = await daemon(t);
  await p.req('POST', '/networks', { name: 'in', network_type: 'bridge', ipam: { subnet: '10.96.0.0/24' }, options: { internal: 'true' } });
  t.equal((await ep(p, 'a', [tcp(8080)], 'in')).status, 200);
  t.equal(p.ports.held.size, 0);
});

t.test('many mappings in one request: distinct ports, and a cap', async (t) => {
  const p = await daemon(t);
  await p.req('POST', '/networks', { name: 'web', network_type: 'bridge', ipam: { subnet: '10.97.0.0/24' } });
  const many = Array.from({ length: 1000 }, (_, i) => tcp(0, '', i + 1));
  const r = await ep(p, 'many', many);
  t.equal(r.status, 200, r.text.slice(0, 300));
  const got = (await p.req('GET', '/networks/web/endpoints/many')).json.port_mapping.map((b: { host_port: number }) => b.host_port);
  t.equal(new Set(got).size, 1000, 'all distinct');
  t.ok(got.every((x: number) => x >= EPHEMERAL_PORTS.first && x <= EPHEMERAL_PORTS.last), 'all in the ephemeral range');
  t.equal(p.ports.held.size, 1000, 'one socket each (IPv4 only network)');
  const over = await ep(p, 'over', Array.from({ length: MAX_PORT_BINDINGS + 1 }, (_, i) => tcp(0, '', (i % 60000) + 1)));
  t.equal(over.status, 400);
  t.match(over.json?.message, /^port_mapping .*more than 4096/, 'names the field');
  const overRange = await ep(p, 'over', [{ ...tcp(1000), range: 4000 }, { ...tcp(20000), range: 97 }]);
  t.equal(overRange.status, 400, 'a range counts each port');
  t.equal(overRange.json?.code, 'INVALID_PORT');
  t.match(overRange.json?.message, /more than 4096 bindings \(at port_mapping\[1\]/);
  const full = await ep(p, 'full', [{ proto: 6, port: 1, host_port: 40000, host_port_end: 40001 }, { proto: 6, port: 2, host_port: 40000, host_port_end: 40001 }, { proto: 6, port: 3, host_port: 40000, host_port_end: 40001 }]);
  t.equal(full.status, 409, 'a host port range runs out');
  t.match(full.json?.message, /port_mapping\[2\]: every host port from 40000 to 40001/);
});

t.test('a restart takes the reservations again; a port taken meanwhile is reported, not fatal', async (t) => {
  const p = await daemon(t);
  await p.req('POST', '/networks', { name: 'web', network_type: 'bridge', ipam: { subnet: '10.98.0.0/24' } });
  t.equal((await ep(p, 'a', [tcp(8081), tcp(8082)])).status, 200);
  t.equal((await ep(p, 'b', [tcp(8083)])).status, 200);
  await p.stopServing();
  const ports = new MemoryReserver();
  ports.external.push({ family: 4, proto: 6, addr: '', port: 8082 });
  const q = await daemon(t, ports, p.store);
  t.same([...ports.held.values()].map((s) => s.port).sort(), [8081, 8083], 'the records\' ports are held again');
  const st = q.c.hostPorts.stats();
  t.equal(st.unreserved.length, 1);
  t.match(st.unreserved[0]!.ports, ['0.0.0.0:8082/tcp']);
  t.equal((await ep(q, 'c', [tcp(8081, '127.0.0.1')])).status, 409, 'the index knows the ports after a restart');
});

t.test('the fd limit is a clear 503, not a crash', async (t) => {
  const p = await daemon(t, new MemoryReserver(3));
  await p.req('POST', '/networks', { name: 'web', network_type: 'bridge', ipam: { subnet: '10.99.0.0/24' } });
  t.equal((await ep(p, 'a', [tcp(0), tcp(0), tcp(0)])).status, 200);
  const r = await ep(p, 'b', [tcp(0)]);
  t.equal(r.status, 503, r.text);
  t.equal(r.json?.code, 'TOO_MANY_OPEN_FILES');
  t.match(r.json?.message, /LimitNOFILE/);
});

t.test('allocation never hands out overlapping bindings, and refuses only what overlaps (model check)', async () => {
  const { HostPorts } = await import('../../daemon/controller/ports.js');
  const { State } = await import('../../daemon/controller/state.js');
  const { LnetdError } = await import('../../errors/index.js');
  const quietLog = { info: () => undefined, warn: () => undefined };
  const req = fc.record({
    proto: fc.constantFrom(6, 17), hostIp: fc.constantFrom(...ADDRS.filter((a) => a !== '127.0.0.2')),
    kind: fc.constantFrom('fixed', 'dynamic', 'range'), port: fc.integer({ min: 1, max: 6 }), width: fc.integer({ min: 1, max: 4 }),
  });
  fc.assert(fc.property(fc.array(fc.array(req, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 8 }), (eps) => {
    const state = new State();
    const hp = new HostPorts(new MemoryReserver(), state, quietLog);
    const live: Array<{ proto: number; hostIp: string; hostPort: number }> = [];
    const overlapping = (a: { proto: number; hostIp: string; hostPort: number }, b: typeof a) => a.proto === b.proto && a.hostPort === b.hostPort && hostIpsOverlap(a.hostIp, b.hostIp);
    for (const [i, reqs] of eps.entries()) {
      const inputs = reqs.map((r) => ({
        proto: r.proto, port: 80, hostIp: r.hostIp,
        hostPort: r.kind === 'dynamic' ? 0 : r.port, hostPortEnd: r.kind === 'range' ? r.port + r.width : 0,
      }));
      const id = `ep${i}`;
      try {
        const got = hp.allocate(id, { internal: false, enableIpv6: true }, { ipv4: '10.0.0.2/24', ipv6: 'fd00::2/64' }, inputs);
        for (const [k, g] of got.entries()) {
          const r = inputs[k]!;
          if (r.hostPort && (g.hostPort < r.hostPort || g.hostPort > (r.hostPortEnd || r.hostPort))) return false;
          if (!r.hostPort && (g.hostPort < EPHEMERAL_PORTS.first || g.hostPort > EPHEMERAL_PORTS.last)) return false;
          if (live.some((l) => overlapping(l, g)) || got.some((o, m) => m !== k && overlapping(o, g))) return false;
        }
        live.push(...got);
        state.apply([{ type: 'put', kind: 'endpoints', key: id, value: { id, name: id, networkId: 'n', portMapping: got } as never }]);
      } catch (err) {
        if (!(err instanceof LnetdError) || !['PORT_IN_USE', 'INVALID_PORT'].includes(err.code)) throw err;
        // a refusal must have a reason: some fixed request overlaps what is live or another of the same request
        const fixed = inputs.filter((r) => r.hostPort && !r.hostPortEnd);
        const ranged = inputs.filter((r) => r.hostPortEnd);
        const asB = (r: { proto: number; hostIp: string; hostPort: number }) => ({ proto: r.proto, hostIp: r.hostIp, hostPort: r.hostPort });
        const reason = ranged.length > 0 || fixed.some((r, k) => live.some((l) => overlapping(l, asB(r))) || fixed.some((o, m) => m !== k && overlapping(asB(o), asB(r))));
        if (!reason) return false;
      }
    }
    return true;
  }), { numRuns: 300 });
});

t.test('reserve_ports: false (podman binds its ports itself): checked, never bound, not taken at restart', async (t) => {
  const p = await daemon(t);
  await p.req('POST', '/networks', { name: 'web', network_type: 'bridge', ipam: { subnet: '10.91.0.0/24' } });
  const r = await p.req('POST', '/networks/web/endpoints', { name: 'pod', reserve_ports: false, port_mapping: [tcp(8080)] });
  t.equal(r.status, 200, r.text);
  t.equal(p.ports.held.size, 0, 'no socket');
  t.equal((await p.req('GET', `/networks/web/endpoints/${r.json}`)).json.reserve_ports, false, 'the endpoint says so');
  t.equal((await ep(p, 'b', [tcp(8080, '127.0.0.1')])).status, 409, 'still a conflict for other endpoints');
  await p.stopServing();
  const q = await daemon(t, new MemoryReserver(), p.store);
  t.equal(q.ports.held.size, 0, 'a restart binds nothing for it either');
  t.same(q.c.hostPorts.stats().unreserved, []);
});
