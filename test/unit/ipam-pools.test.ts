// Default pools: parsing, picking the first non-overlapping subnet, exhaustion; overlap helpers.
import t from 'tap';
import { DEFAULT_POOLS_V4, DEFAULT_POOLS_V6, contains, overlaps, parseDefaultPools, pickSubnet } from '../../drivers/ipam/index.js';

function err(fn: () => unknown): { code?: string; kind?: string; message: string } | undefined {
  try { fn(); } catch (e) { return e as { code?: string; kind?: string; message: string }; }
  return undefined;
}

t.test('parseDefaultPools', async (t) => {
  t.same(parseDefaultPools('172.17.0.0/16:16,192.168.0.0/16:20'), [{ base: '172.17.0.0/16', size: 16 }, { base: '192.168.0.0/16', size: 20 }]);
  t.same(parseDefaultPools(' FD00:0::/48:64 '), [{ base: 'fd00::/48', size: 64 }]);
  for (const bad of ['', '10.0.0.0/8', '10.0.0.0:24', '10.0.0.1/8:16', '10.0.0.0/16:8', '10.0.0.0/16:31', 'fd00::/48:127', 'x/8:16', '10.0.0.0/8:16,']) {
    t.equal(err(() => parseDefaultPools(bad))?.code, 'INVALID_SUBNET', JSON.stringify(bad));
  }
  t.match(err(() => parseDefaultPools('10.0.0.0/8:16,10.0.0.1/8:16'))?.message, /item 2/);
});

t.test('defaults look like Docker', async (t) => {
  t.equal(DEFAULT_POOLS_V4[0].base, '172.17.0.0/16');
  t.equal(DEFAULT_POOLS_V4[14].base, '172.31.0.0/16');
  t.same(DEFAULT_POOLS_V4[15], { base: '192.168.0.0/16', size: 20 });
  t.same(pickSubnet(DEFAULT_POOLS_V4, []), { subnet: '172.17.0.0/16', pool: '172.17.0.0/16' });
  t.same(pickSubnet(DEFAULT_POOLS_V6, []), { subnet: 'fd6c:6e65:7464::/64', pool: 'fd6c:6e65:7464::/48' });
});

t.test('pickSubnet skips overlaps: networks, host addresses, routes', async (t) => {
  const taken = ['172.17.0.0/16', '172.18.5.1/24', '172.19.200.7', 'default', 'fd00::/8', '0.0.0.0/0'];
  t.same(pickSubnet(DEFAULT_POOLS_V4, taken), { subnet: '172.20.0.0/16', pool: '172.20.0.0/16' });
  // a route covering 172.16/12 pushes everything to 192.168
  t.same(pickSubnet(DEFAULT_POOLS_V4, ['172.16.0.0/12', '192.168.0.0/20', '192.168.17.3/32']),
    { subnet: '192.168.32.0/20', pool: '192.168.0.0/16' });
  const v6 = pickSubnet(DEFAULT_POOLS_V6, ['fd6c:6e65:7464::/64', 'fd6c:6e65:7464:1::5/128', 'fd6c:6e65:7464:2::/63']);
  t.equal(v6.subnet, 'fd6c:6e65:7464:4::/64');
});

t.test('pickSubnet: exhaustion is a 409 naming the pools', async (t) => {
  const pools = parseDefaultPools('10.10.0.0/23:24,10.20.0.0/24:24');
  t.equal(pickSubnet(pools, ['10.10.0.0/24']).subnet, '10.10.1.0/24');
  const e = err(() => pickSubnet(pools, ['10.10.0.0/24', '10.10.1.9', '10.20.0.0/16']));
  t.equal(e?.code, 'POOL_EXHAUSTED');
  t.equal(e?.kind, 'conflict');
  t.match(e?.message, /10\.10\.0\.0\/23:24.*10\.20\.0\.0\/24:24/);
  t.equal(err(() => pickSubnet(pools, ['not-an-ip']))?.code, 'INTERNAL');
});

t.test('pickSubnet is fast on a big IPv6 pool', async (t) => {
  const taken = Array.from({ length: 2000 }, (_, i) => `fd6c:6e65:7464:${i.toString(16)}::/64`);
  const t0 = performance.now();
  t.equal(pickSubnet(DEFAULT_POOLS_V6, taken).subnet, 'fd6c:6e65:7464:7d0::/64');
  t.ok(performance.now() - t0 < 500, "2000 taken /64s skipped in one pass");
});

t.test('overlaps and contains', async (t) => {
  t.ok(overlaps('10.0.0.0/8', '10.1.2.3'));
  t.ok(overlaps('10.1.0.0/16', '10.0.0.0/8'));
  t.notOk(overlaps('10.0.0.0/24', '10.0.1.0/24'));
  t.notOk(overlaps('10.0.0.0/8', 'fd00::/8'), 'families never overlap');
  t.notOk(overlaps('garbage', '10.0.0.0/8'));
  t.ok(overlaps('fd00::/64', 'fd00::1:2'));
  t.ok(contains('10.0.0.0/8', '10.255.255.255'));
  t.ok(contains('10.0.0.0/8', '10.2.0.0/16'));
  t.notOk(contains('10.2.0.0/16', '10.0.0.0/8'));
  t.notOk(contains('fd00::/64', 'fd00:0:0:1::1'));
});
