// IPAM allocation and request validation: round robin, exhaustion, IPv6, bad input.
import t from 'tap';
import { allocate, allocationCidr, validateIpamRequest, macFromIpv4 } from '../../drivers/ipam/index.js';

function code(fn: () => unknown): string | undefined {
  try { fn(); } catch (e) { return (e as { code?: string }).code; }
  return undefined;
}
function message(fn: () => unknown): string {
  try { fn(); } catch (e) { return (e as Error).message; }
  return '';
}

t.test('validate: canonical record, default gateway', async (t) => {
  t.same(validateIpamRequest({ subnet: '172.18.0.0/16' }, 4), { subnet: '172.18.0.0/16', gateway: '172.18.0.1', aux: {} });
  t.same(validateIpamRequest({ subnet: 'FD00:0:0:1::/64', gateway: 'fd00:0:0:1::fe', ip_range: 'fd00:0:0:1:8000::/65' }, 6),
    { subnet: 'fd00:0:0:1::/64', gateway: 'fd00:0:0:1::fe', ipRange: 'fd00:0:0:1:8000::/65', aux: {} });
  t.same(validateIpamRequest({ subnet: '10.0.0.0/24', gateway: '', ip_range: '', aux_addresses: { host: '10.0.0.9' } }, 4),
    { subnet: '10.0.0.0/24', gateway: '10.0.0.1', aux: { host: '10.0.0.9' } });
});

t.test('validate: bad input names the field', async (t) => {
  const cases: [Parameters<typeof validateIpamRequest>[0], 4 | 6, RegExp, string][] = [
    [{ subnet: '10.0.0.5/24' }, 4, /^subnet: .*host bits.*10\.0\.0\.0\/24/, 'INVALID_SUBNET'],
    [{ subnet: '10.0.0.0' }, 4, /^subnet: .*prefix length/, 'INVALID_SUBNET'],
    [{ subnet: '10.0.0.0/33' }, 4, /^subnet:/, 'INVALID_SUBNET'],
    [{ subnet: '10.0.0.0/31' }, 4, /^subnet: .*too small/, 'INVALID_SUBNET'],
    [{ subnet: 'fd00::/64' }, 4, /^subnet: .*not an IPv4/, 'INVALID_SUBNET'],
    [{ subnet: '10.0.0.0/24' }, 6, /^subnet: .*not an IPv6/, 'INVALID_SUBNET'],
    [{ subnet: 'fe80::1%eth0/64' }, 6, /^subnet:/, 'INVALID_SUBNET'],
    [{ subnet: 42 }, 4, /^subnet:/, 'INVALID_SUBNET'],
    [{}, 4, /^subnet: is required/, 'INVALID_IPAM'],
    [{ gateway: '10.0.0.1' }, 4, /^gateway: needs a subnet/, 'INVALID_IPAM'],
    [{ subnet: '10.0.0.0/24', gateway: '10.0.1.1' }, 4, /^gateway: .*outside/, 'INVALID_ADDRESS'],
    [{ subnet: '10.0.0.0/24', gateway: '10.0.0.0' }, 4, /^gateway: .*network address/, 'INVALID_ADDRESS'],
    [{ subnet: '10.0.0.0/24', gateway: '10.0.0.255' }, 4, /^gateway: .*broadcast/, 'INVALID_ADDRESS'],
    [{ subnet: '10.0.0.0/24', gateway: '10.0.0.1/24' }, 4, /^gateway: .*without a prefix/, 'INVALID_ADDRESS'],
    [{ subnet: '10.0.0.0/24', ip_range: '10.0.1.0/25' }, 4, /^ip_range: .*not inside/, 'INVALID_SUBNET'],
    [{ subnet: '10.0.0.0/24', ip_range: '10.0.0.0/23' }, 4, /^ip_range: .*not inside/, 'INVALID_SUBNET'],
    [{ subnet: '10.0.0.0/24', ip_range: '10.0.0.1/25' }, 4, /^ip_range: .*host bits/, 'INVALID_SUBNET'],
    [{ subnet: '10.0.0.0/24', aux_addresses: { a: '10.0.5.1' } }, 4, /^aux_addresses\.a: .*outside/, 'INVALID_ADDRESS'],
    [{ subnet: '10.0.0.0/24', aux_addresses: { b: 'nope' } }, 4, /^aux_addresses\.b:/, 'INVALID_ADDRESS'],
    [{ subnet: '10.0.0.0/24', aux_addresses: ['10.0.0.3'] }, 4, /^aux_addresses:/, 'INVALID_IPAM'],
  ];
  for (const [req, fam, re, want] of cases) {
    t.equal(code(() => validateIpamRequest(req, fam)), want, JSON.stringify(req));
    t.match(message(() => validateIpamRequest(req, fam)), re, JSON.stringify(req));
  }
});

t.test('allocate: skips gateway, aux, network; round robin after a release', async (t) => {
  const rec = validateIpamRequest({ subnet: '10.1.0.0/29', aux_addresses: { r: '10.1.0.3' } }, 4);
  const used = new Set<string>();
  const got: string[] = [];
  for (let i = 0; i < 4; i++) {
    const a = allocate(rec, used);
    rec.cursor = a.cursor;
    used.add(allocationCidr(a));
    got.push(a.address);
  }
  // .0 network, .1 gateway, .3 aux, .7 broadcast
  t.same(got, ['10.1.0.2', '10.1.0.4', '10.1.0.5', '10.1.0.6']);
  t.equal(allocate({ ...rec }, new Set(['10.1.0.2'])).address, '10.1.0.4', 'wraps past the end');
  used.delete('10.1.0.4/29');
  t.equal(allocate(rec, used).address, '10.1.0.4', 'the only free address, found by wrapping');
  rec.cursor = '10.1.0.4';
  used.add('10.1.0.6/29');
  used.delete('10.1.0.5/29');
  t.equal(allocate(rec, used).address, '10.1.0.5', 'continues after the cursor, not at the freed .4');
});

t.test('allocate: a freed address is not reused at once', async (t) => {
  const rec = validateIpamRequest({ subnet: '192.168.5.0/24' }, 4);
  const used = new Set<string>();
  const a = allocate(rec, used); rec.cursor = a.cursor; used.add(a.address);
  const b = allocate(rec, used); rec.cursor = b.cursor; used.add(b.address);
  used.delete(a.address);
  const c = allocate(rec, used);
  t.equal(a.address, '192.168.5.2');
  t.equal(c.address, '192.168.5.4');
  t.not(c.address, a.address);
});

t.test('allocate: exhaustion of a /29 names the subnet', async (t) => {
  const rec = validateIpamRequest({ subnet: '10.9.9.0/29' }, 4);
  const used = new Set(['10.9.9.2', '10.9.9.3', '10.9.9.4', '10.9.9.5', '10.9.9.6']);
  const err = (() => { try { allocate(rec, used); } catch (e) { return e as { code: string; kind: string; message: string }; } return undefined; })();
  t.equal(err?.code, 'POOL_EXHAUSTED');
  t.equal(err?.kind, 'conflict');
  t.match(err?.message, /10\.9\.9\.0\/29/);
  const ranged = validateIpamRequest({ subnet: '10.9.0.0/24', ip_range: '10.9.0.8/30' }, 4);
  t.match(message(() => allocate(ranged, new Set(['10.9.0.8', '10.9.0.9', '10.9.0.10', '10.9.0.11']))), /10\.9\.0\.8\/30.*10\.9\.0\.0\/24/);
});

t.test('allocate: ip_range and a wanted address', async (t) => {
  const rec = validateIpamRequest({ subnet: '10.2.0.0/16', ip_range: '10.2.3.0/24' }, 4);
  t.equal(allocate(rec, new Set()).address, '10.2.3.0', 'range start is fine: it is not the subnet network address');
  const w = allocate({ ...rec, cursor: '10.2.3.7' }, new Set(), '10.2.200.9');
  t.same(w, { address: '10.2.200.9', prefixLen: 16, cursor: '10.2.3.7' }, 'wanted: anywhere in the subnet, cursor untouched');
  t.equal(code(() => allocate(rec, new Set(['10.2.0.5/16']), '10.2.0.5')), 'ADDRESS_IN_USE');
  t.equal(code(() => allocate(rec, new Set(), '10.2.0.1')), 'ADDRESS_IN_USE', 'gateway');
  t.equal(code(() => allocate(rec, new Set(), '10.3.0.1')), 'INVALID_ADDRESS', 'outside');
  t.equal(code(() => allocate(rec, new Set(), '10.2.255.255')), 'INVALID_ADDRESS', 'broadcast');
  t.equal(code(() => allocate(rec, new Set(), 'fd00::1')), 'INVALID_ADDRESS', 'family');
});

t.test('allocate: IPv6 /64', async (t) => {
  const rec = validateIpamRequest({ subnet: 'fd6c:6e65:7464:1::/64' }, 6);
  t.equal(rec.gateway, 'fd6c:6e65:7464:1::1');
  const used = new Set<string>();
  const a = allocate(rec, used); rec.cursor = a.cursor; used.add(allocationCidr(a));
  const b = allocate(rec, used);
  t.same(a, { address: 'fd6c:6e65:7464:1::2', prefixLen: 64, cursor: 'fd6c:6e65:7464:1::2' });
  t.equal(b.address, 'fd6c:6e65:7464:1::3');
  const end = allocate({ ...rec, cursor: 'fd6c:6e65:7464:1:ffff:ffff:ffff:fffe' }, used);
  t.equal(end.address, 'fd6c:6e65:7464:1:ffff:ffff:ffff:ffff', 'no broadcast in IPv6');
  t.equal(allocate({ ...rec, cursor: end.address }, used).address, 'fd6c:6e65:7464:1::3', 'wraps, skipping ::, ::1 and ::2');
});

t.test('allocate: cost is the busy addresses stepped over, not the subnet or the number in use', async (t) => {
  // counted, not timed: every address allocation looks at asks inUse (twice: with and without the prefix)
  const rec = validateIpamRequest({ subnet: '172.20.0.0/16' }, 4);
  const used = new Set<string>();
  let asked = 0;
  const inUse = { has: (a: string) => { asked++; return used.has(a); } };
  const order: string[] = [];
  for (let i = 0; i < 5000; i++) {
    const a = allocate(rec, inUse);
    rec.cursor = a.cursor;
    used.add(allocationCidr(a));
    order.push(allocationCidr(a));
  }
  t.ok(asked <= 5000 * 2, `5000 allocations from the cursor looked at one address each (${asked} lookups)`);
  // release every other one and go round again: stepping over busy ones is the only cost
  for (let i = 0; i < 5000; i += 2) used.delete(order[i]);
  rec.cursor = '172.20.255.250';
  asked = 0;
  for (let i = 0; i < 1000; i++) { const a = allocate(rec, inUse); rec.cursor = a.cursor; used.add(allocationCidr(a)); }
  // the wrap steps over 172.20.255.251-254 and the gateway once, then every other address is free
  t.ok(asked <= 1000 * 2 * 2 + 20, `1000 allocations over a half-busy range looked at ~2 addresses each (${asked} lookups)`);
  t.equal(used.size, 3500);
});

t.test('macFromIpv4', async (t) => {
  t.equal(macFromIpv4('172.17.0.2'), '02:42:ac:11:00:02');
  t.equal(macFromIpv4('10.0.0.255/8'), '02:42:0a:00:00:ff');
  t.equal(code(() => macFromIpv4('fd00::1')), 'INVALID_ADDRESS');
});
