// A failed operation leaves no intent that a later start would replay when
// replaying it is no longer valid (issue 9 item 4): recovery re-checks the
// invariants the live operation checked. On the fake kernel and firewall.

import t from 'tap';
import { InProc } from '../lib/inproc.js';

async function restart(p: InProc): Promise<void> {
  await p.stopServing();
  await p.start({ store: p.store });
}

const cid = 'c'.repeat(64);

t.test('a failed network delete is not replayed over endpoints made since', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  const net = (await p.req('POST', '/networks', { name: 'n', ipam: { subnet: '10.61.0.0/24' } })).json;
  p.firewall.failNext('removeNetwork');
  const del = await p.req('DELETE', `/networks/${net}`);
  t.equal(del.status, 500, 'the delete fails');
  t.equal((await p.req('GET', `/networks/${net}`)).status, 200, 'the network is still there');
  t.ok(p.firewall.networks.has(net), 'with its rules put back');
  t.same((await p.store.entries('journal')).length, 0, 'and no intent left');
  const ep = (await p.req('POST', `/networks/${net}/endpoints`, { name: 'late' })).json;
  await p.req('POST', `/networks/${net}/endpoints/late/containers`, { container_id: cid });
  await restart(p);
  t.equal((await p.req('GET', `/networks/${net}/endpoints/${ep}`)).status, 200, 'after a restart the endpoint made since is there');
  t.equal((await p.req('DELETE', `/networks/${net}/endpoints/${ep}/containers/${cid}`)).status, 200, 'it leaves');
  t.equal((await p.req('DELETE', `/networks/${net}/endpoints/${ep}`)).status, 200, 'and deletes (not 404 NETWORK_NOT_FOUND)');
  t.equal((await p.req('DELETE', `/networks/${net}`)).status, 200, 'then the network goes');
});

t.test('a delete intent left by a crash is not finished when endpoints came since', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  const net = (await p.req('POST', '/networks', { name: 'n', ipam: { subnet: '10.62.0.0/24' } })).json;
  const rec = (await p.store.get('networks', net)) as object;
  // what a kill after the intent leaves, then an endpoint the next daemon made
  await p.store.put('journal', 'j1', { version: 1, id: 'j1', op: 'deleteNetwork', started: new Date().toISOString(), data: { network: rec } });
  await p.req('POST', `/networks/${net}/endpoints`, { name: 'e' });
  await restart(p);
  t.equal((await p.req('GET', `/networks/${net}/endpoints/e`)).status, 200, 'the network and its endpoint stay');
  t.same(await p.store.entries('journal'), [], 'the intent is dropped');
});

t.test('a failed leave is not replayed after the endpoint joined again', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  const net = (await p.req('POST', '/networks', { name: 'n', ipam: { subnet: '10.63.0.0/24' } })).json;
  await p.req('POST', `/networks/${net}/endpoints`, { name: 'e', port_mapping: [{ proto: 6, port: 80, host_port: 8080 }] });
  await p.req('POST', `/networks/${net}/endpoints/e/containers`, { container_id: cid });
  p.firewall.failNext('removePortMaps');
  t.equal((await p.req('DELETE', `/networks/${net}/endpoints/e/containers/${cid}`)).status, 500, 'the leave fails');
  t.equal((await p.req('DELETE', `/networks/${net}/endpoints/e/containers/${cid}`)).status, 200, 'the runtime retries it');
  t.equal((await p.req('POST', `/networks/${net}/endpoints/e/containers`, { container_id: cid })).status, 200, 'and joins again');
  await restart(p);
  const ep = (await p.req('GET', `/networks/${net}/endpoints/e`)).json;
  t.equal(ep.container_id, cid, 'after a restart the endpoint is still joined');
  t.equal(p.firewall.portMaps.size, 1, 'with its published port');
  t.same(await p.store.entries('journal'), [], 'no intent left');
});

t.test('a failed leave of the same join is still finished at the next start', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  const net = (await p.req('POST', '/networks', { name: 'n', ipam: { subnet: '10.64.0.0/24' } })).json;
  await p.req('POST', `/networks/${net}/endpoints`, { name: 'e', port_mapping: [{ proto: 6, port: 80, host_port: 8081 }] });
  await p.req('POST', `/networks/${net}/endpoints/e/containers`, { container_id: cid });
  p.firewall.failNext('removePortMaps');
  t.equal((await p.req('DELETE', `/networks/${net}/endpoints/e/containers/${cid}`)).status, 500, 'the leave fails');
  await restart(p);
  t.equal((await p.req('GET', `/networks/${net}/endpoints/e`)).json.container_id, '', 'recovery finished it: the runtime asked for it');
});
