// The read cache answers from the last serialisation only while the state is
// unchanged; any change is visible to the very next read.

import t from 'tap';
import { InProc } from '../lib/inproc.js';

t.test('a cached listing follows every change', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  const first = await p.req('GET', '/networks');
  t.equal(first.json.length, 3);
  t.equal((await p.req('GET', '/networks')).text, first.text, 'same bytes while nothing changed');
  const id = (await p.req('POST', '/networks', { name: 'fresh', network_type: 'null' })).json;
  const after = await p.req('GET', '/networks');
  t.equal(after.json.length, 4, 'a create shows at once');
  t.match(after.headers['content-type'], /application\/json/);
  await p.req('POST', `/networks/${id}/endpoints`, { name: 'e1' });
  t.equal((await p.req('GET', '/networks?name=fresh')).json[0].endpoints.length, 1, 'an endpoint shows in the network');
  await p.req('DELETE', `/networks/${id}/endpoints/e1`);
  t.equal((await p.req('GET', '/networks?name=fresh')).json[0].endpoints.length, 0, 'and goes');
  t.equal((await p.req('GET', `/networks/${'f'.repeat(64)}`)).status, 404, 'errors are not cached as answers');
  await p.req('DELETE', `/networks/${id}`);
  t.equal((await p.req('GET', '/networks')).json.length, 3);
});
