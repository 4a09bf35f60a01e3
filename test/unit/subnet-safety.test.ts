// Explicit subnets can't hijack the host's routing: too short a prefix, an
// overlap with the host's own addresses or routes (the default route aside),
// a gateway that is a host address, aux addresses on the gateway, network or
// broadcast address, and an ip_range with nothing to hand out are refused,
// naming the field, and change nothing.

import t from 'tap';
import { InProc } from '../lib/inproc.js';

t.test('network create refuses subnets that would take the host\'s traffic', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  // the "host": an uplink 192.168.77.10/24 and a route to 10.77.0.0/16 via it
  await p.kernel.addAddress('lo', '192.168.77.10/24');
  await p.kernel.addRoute({ dst: '10.77.0.0/16', ifname: 'lo' });
  const before = (await p.req('GET', '/networks')).text;
  const cases: Array<[string, object, number, string, RegExp]> = [
    ['a /2', { subnet: '192.0.0.0/2' }, 400, 'INVALID_SUBNET', /\/8 or longer/],
    ['a /7', { subnet: '10.0.0.0/7' }, 400, 'INVALID_SUBNET', /subnet/],
    ['the uplink subnet with the host address as gateway', { subnet: '192.168.77.0/24', gateway: '192.168.77.10' }, 400, 'INVALID_ADDRESS', /gateway: 192\.168\.77\.10 is the host's address/],
    ['the uplink subnet', { subnet: '192.168.77.0/24' }, 409, 'POOL_OVERLAP', /host's address 192\.168\.77\.10\/24/],
    ['inside a host route', { subnet: '10.77.5.0/24' }, 409, 'POOL_OVERLAP', /host's route to 10\.77\.0\.0\/16/],
    ['around a host route', { subnet: '10.76.0.0/14' }, 409, 'POOL_OVERLAP', /route/],
    ['aux on the gateway', { subnet: '10.90.0.0/24', aux_addresses: { a: '10.90.0.1' } }, 400, 'INVALID_ADDRESS', /aux_addresses\.a: .*gateway/],
    ['aux on the network address', { subnet: '10.90.0.0/24', aux_addresses: { a: '10.90.0.0' } }, 400, 'INVALID_ADDRESS', /network address/],
    ['aux on the broadcast address', { subnet: '10.90.0.0/24', aux_addresses: { a: '10.90.0.255' } }, 400, 'INVALID_ADDRESS', /broadcast address/],
    ['an ip_range of only the network address', { subnet: '10.90.0.0/24', ip_range: '10.90.0.0/32' }, 400, 'INVALID_SUBNET', /ip_range: .*no address/],
    ['an ip_range of network + gateway', { subnet: '10.90.0.0/24', ip_range: '10.90.0.0/31' }, 400, 'INVALID_SUBNET', /ip_range/],
  ];
  for (const [what, ipam, status, code, re] of cases) {
    const r = await p.req('POST', '/networks', { name: 'hijack', network_type: 'bridge', ipam });
    t.equal(r.status, status, `${what}: ${r.text}`);
    t.equal(r.json?.code, code);
    t.match(r.json?.message, re);
  }
  t.equal((await p.req('GET', '/networks')).text, before, 'nothing was created');
  t.equal((await p.req('POST', '/networks', { name: 'fine', network_type: 'bridge', ipam: { subnet: '10.90.0.0/24', ip_range: '10.90.0.128/25', aux_addresses: { r: '10.90.0.2' } } })).status, 200, 'a subnet clear of the host is fine');
  t.equal((await p.req('POST', '/networks', { name: 'picked', network_type: 'bridge' })).status, 200, 'a picked subnet still works');
});

t.test('--min-subnet-prefix sets the shortest prefix a requested subnet may have', async (t) => {
  const { loadConfig } = await import('../../daemon/config.js');
  t.equal(loadConfig(['--min-subnet-prefix', '16'], {}).minSubnetPrefix, 16, 'flag');
  t.equal(loadConfig([], { LNETD_MIN_SUBNET_PREFIX: '12' }).minSubnetPrefix, 12, 'environment');
  t.throws(() => loadConfig(['--min-subnet-prefix', '0'], {}), /min-subnet-prefix/, '0 is refused, naming the flag');
  t.throws(() => loadConfig(['--min-subnet-prefix', 'abc'], {}), /min-subnet-prefix/, 'text is refused, naming the flag');
  const p = await new InProc().start({ minSubnetPrefix: 16 });
  t.teardown(() => p.close());
  const wide = await p.req('POST', '/networks', { name: 'wide', ipam: { subnet: '10.80.0.0/12' } });
  t.equal(wide.status, 400);
  t.equal(wide.json.code, 'INVALID_SUBNET');
  t.match(wide.json.message, /\/16 or longer/);
  t.equal((await p.req('GET', '/networks/wide')).status, 404, 'nothing made');
  t.equal((await p.req('POST', '/networks', { name: 'ok', ipam: { subnet: '10.80.0.0/16' } })).status, 200, 'a /16 is allowed');
});
