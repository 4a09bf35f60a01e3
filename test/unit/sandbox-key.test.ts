// Sandbox keys are collision-free: every container id maps to its own netns
// file name, never to one lnetd keeps for itself (`default`, the host's
// namespace), and two joins can't both reserve one key.

import t from 'tap';
import fc from 'fast-check';
import { basename } from 'node:path';
import { RESERVED_KEY_NAMES, sandboxKeyName } from '../../daemon/controller/sandbox-key.js';
import { InProc } from '../lib/inproc.js';

const SAFE_NAME = /^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}$/;

t.test('the id → file name mapping is injective, safe and never a reserved name', async (t) => {
  const ids = fc.oneof(fc.string({ maxLength: 300 }), fc.stringMatching(/^[a-z0-9]{1,130}$/), fc.constantFrom('default', 'Default', '_x', '.', '..', 'a/b', ''));
  fc.assert(fc.property(ids, ids, (a, b) => {
    const ka = sandboxKeyName(a);
    if (!SAFE_NAME.test(ka) || RESERVED_KEY_NAMES.has(ka)) return false;
    return a === b || ka !== sandboxKeyName(b);
  }), { numRuns: 5000, seed: 7 });
  const sixtyFour = 'e76f406417031bd24c17aeb9bb2f5968b628b9fb6067da264b234544754bf857';
  t.equal(sandboxKeyName(sixtyFour), sixtyFour, 'a runtime id that is a safe name is its own key, in full');
  t.not(sandboxKeyName(`${sixtyFour.slice(0, 12)}x`), sandboxKeyName(`${sixtyFour.slice(0, 12)}y`), 'a shared 12-character prefix does not collide');
  t.match(sandboxKeyName('default'), /^_[0-9a-f]{40}$/, '`default` is hashed, never the host sandbox');
  t.match(sandboxKeyName('x'.repeat(500)), /^_[0-9a-f]{40}$/, 'an id of any length gets a key');
});

t.test('container id `default` gets a sandbox of its own; the host sandbox stays', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  const hostKey = `${p.netnsDir}/default`;
  await p.req('POST', '/networks', { name: 'b', network_type: 'bridge', ipam: { subnet: '10.61.0.0/24' } });
  await p.req('POST', '/networks/b/endpoints', { name: 'e' });
  const j = await p.req('POST', '/networks/b/endpoints/e/containers', { container_id: 'default' });
  t.equal(j.status, 200, j.text);
  t.not(j.json, hostKey, 'not the host sandbox');
  t.ok(await p.kernel.isNetns(j.json), 'its own namespace');
  await p.req('POST', '/networks/host/endpoints', { name: 'h' });
  const h = await p.req('POST', '/networks/host/endpoints/h/containers', { container_id: 'hostctr' });
  t.equal(h.json, hostKey, 'a host-network join answers the host sandbox');
  t.ok(await p.kernel.isNetns(hostKey) || p.kernel.netnsPaths().includes(hostKey), 'which is still bound');
  t.equal((await p.req('DELETE', '/networks/b/endpoints/e/containers/default')).status, 200);
  t.ok(p.kernel.netnsPaths().includes(hostKey), 'the leave of `default` leaves the host sandbox alone');
});

t.test('two ids sharing 12 characters, joined at the same moment on two networks, both work', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  const a = `${'ab'.repeat(6)}${'0'.repeat(52)}`;
  const b = `${'ab'.repeat(6)}${'1'.repeat(52)}`;
  for (const n of ['n1', 'n2']) {
    await p.req('POST', '/networks', { name: n, network_type: 'null' });
    await p.req('POST', `/networks/${n}/endpoints`, { name: 'e' });
  }
  const [ja, jb] = await Promise.all([
    p.req('POST', '/networks/n1/endpoints/e/containers', { container_id: a }),
    p.req('POST', '/networks/n2/endpoints/e/containers', { container_id: b }),
  ]);
  t.same([ja.status, jb.status], [200, 200], `${ja.text} ${jb.text}`);
  t.not(ja.json, jb.json, 'distinct keys');
  t.same([basename(ja.json), basename(jb.json)], [a, b], 'each the full id');
  t.ok(p.kernel.netnsPaths().includes(ja.json) && p.kernel.netnsPaths().includes(jb.json), 'both namespaces exist');
});
