// Small validation gaps: option keys that are Object.prototype's names are
// options like any other (own properties only), and MACs an interface can't
// carry (broadcast, multicast, all zero) or that another endpoint of the
// bridge has are refused at create, before any kernel call.

import t from 'tap';
import { InProc } from '../lib/inproc.js';

t.test('option keys named like Object.prototype members are plain options', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  const r = await p.req('POST', '/networks', { name: 'proto', network_type: 'bridge', options: { constructor: 'x', toString: 'y', hasOwnProperty: 'z' } });
  t.equal(r.status, 200, r.text);
  const net = p.c.state.networks.get(r.json)!;
  t.same(Object.keys(net.options).sort(), ['constructor', 'hasOwnProperty', 'toString'], 'kept as own string options');
  t.ok(Object.values(net.options).every((v) => typeof v === 'string' && v.length === 1), 'no inherited function leaked in');
});

t.test('MACs that are not unicast, or already on the bridge, are refused at create', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  await p.req('POST', '/networks', { name: 'm', network_type: 'bridge', ipam: { subnet: '10.93.0.0/24' } });
  for (const mac of ['ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01', '33:33:00:00:00:01', '00:00:00:00:00:00']) {
    const r = await p.req('POST', '/networks/m/endpoints', { name: 'e', mac_address: mac });
    t.equal(r.status, 400, `${mac}: ${r.text}`);
    t.equal(r.json?.code, 'INVALID_ADDRESS');
    t.match(r.json?.message, /mac_address/);
  }
  t.equal((await p.req('POST', '/networks/m/endpoints', { name: 'a', mac_address: '02:42:0a:5d:00:09' })).status, 200);
  const dup = await p.req('POST', '/networks/m/endpoints', { name: 'b', mac_address: '02:42:0A:5D:00:09' });
  t.equal(dup.status, 409, 'the same MAC twice on one bridge');
  t.equal(dup.json?.code, 'ADDRESS_IN_USE');
  t.equal((await p.req('GET', '/networks/m/endpoints')).json.length, 1, 'nothing else was created');
});
