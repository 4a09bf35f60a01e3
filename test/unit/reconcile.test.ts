// Start-up reconcile on the fake kernel and firewall: strays with our prefix
// go, look-alikes stay, a whole-table firewall rebuild that fails falls back
// to network by network, and a sandbox whose namespace vanished is released.

import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InProc } from '../lib/inproc.js';

async function restart(p: InProc): Promise<void> {
  await p.stopServing();
  await p.start({ store: p.store });
}

t.test('strays with our prefix are removed, look-alikes kept', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  await p.req('POST', '/networks', { name: 'n', ipam: { subnet: '10.1.0.0/24' } });
  await p.req('POST', '/networks/n/endpoints', { name: 'e' });
  const key = (await p.req('POST', '/networks/n/endpoints/e/containers', { container_id: 'c1' })).json;
  await p.kernel.ensureBridge('lnet-deadbeef', {});
  await p.kernel.ensureBridge('lnet-keep', {});
  await p.kernel.createVeth({ name: 'lvdeadbeef012', peer: { name: 'x0', ns: key } });
  writeFileSync(join(p.netnsDir, 'stray'), '');  // the fake keeps no files: a leftover one stands in
  await restart(p);
  const links = (await p.kernel.links()).map((l) => l.name);
  t.notOk(links.includes('lnet-deadbeef') || links.includes('lvdeadbeef012'), 'strays gone');
  t.ok(links.includes('lnet-keep'), 'a name that is not of our pattern stays');
  t.ok(links.some((l) => /^lv[0-9a-f]{11}$/.test(l)), 'the joined endpoint keeps its veth');
  t.ok(p.kernel.calls.some((c) => c.method === 'deleteNetns' && c.args[0] === join(p.netnsDir, 'stray')), 'stray namespace file removed');
  t.ok(p.kernel.netnsPaths().includes(key), 'the sandbox stays');
});

t.test('a failed whole-table rebuild falls back to network by network', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  const id = (await p.req('POST', '/networks', { name: 'n', ipam: { subnet: '10.2.0.0/24' } })).json;
  await p.firewall.destroy();
  p.firewall.failNext('restore');
  const rebuilds = p.firewall.count('restore');
  await restart(p);
  t.ok(p.firewall.networks.has(id), 'the network has its rules');
  t.equal(p.firewall.count('restore'), rebuilds + 1, 'after one failed rebuild');
});

t.test('a sandbox whose namespace is gone is released; its endpoint keeps its address', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  await p.req('POST', '/networks', { name: 'n', ipam: { subnet: '10.3.0.0/24' } });
  await p.req('POST', '/networks/n/endpoints', { name: 'e', port_mapping: [{ proto: 6, port: 80, host_port: 8080 }] });
  const key = (await p.req('POST', '/networks/n/endpoints/e/containers', { container_id: 'c1' })).json;
  const before = (await p.req('GET', '/networks/n/endpoints/e')).json;
  t.equal(p.firewall.portMaps.size, 1);
  await p.kernel.deleteNetns(key);
  await restart(p);
  const after = (await p.req('GET', '/networks/n/endpoints/e')).json;
  t.equal(after.container_id, '', 'left');
  t.equal(after.ipv4_address, before.ipv4_address, 'address kept');
  t.same(after.port_mapping, before.port_mapping, 'port reservation kept');
  t.equal(p.firewall.portMaps.size, 0, 'its port map is gone from the firewall');
  t.equal(p.c.state.sandboxes.size, 0, 'no sandbox record');
  t.equal((await p.req('POST', '/networks/n/endpoints/e/containers', { container_id: 'c1' })).status, 200, 'it can join again');
  t.equal(p.firewall.portMaps.size, 1, 'and publishes its port again');
});
