// The read cache answers from the last serialisation only while the state is
// unchanged; any change is visible to the very next read.

import t from 'tap';
import type * as Tap from 'tap';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Koa from 'koa';
import { cacheKey, ReadCache } from '../../daemon/api/seed/cache.js';
import { request } from '../lib/daemon.js';
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

/** A Koa app behind the cache, as createSeed wires it, counting the answers it computes. */
async function cachedServer(t: Tap.Test, limits?: { maxBytes?: number; maxEntries?: number }) {
  const state = { version: 1 };
  const cache = new ReadCache(state, limits);
  const app = new Koa();
  let computed = 0;
  app.use(cache.middleware());
  app.use((ctx) => { computed++; ctx.body = [{ q: ctx.querystring.length }]; });
  const koa = app.callback();
  const server = http.createServer((req, res) => { if (!cache.serve(req, res)) void koa(req, res); });
  const dir = mkdtempSync(join(tmpdir(), 'lnetd-cache-'));
  const socket = join(dir, 's');
  await new Promise<void>((r) => server.listen(socket, r));
  t.teardown(() => new Promise<void>((r) => server.close(() => { rmSync(dir, { recursive: true, force: true }); r(); })));
  return { state, cache, computed: () => computed, get: (url: string) => request(socket, 'GET', url) };
}

t.test('a repeated read is answered from the cache until the version moves', async (t) => {
  const s = await cachedServer(t);
  await s.get('/networks');
  await s.get('/networks');
  await s.get('/networks');
  t.equal(s.computed(), 1, 'computed once');
  t.equal(s.cache.hits, 2, 'served twice from the cache');
  s.state.version++;
  await s.get('/networks');
  t.equal(s.computed(), 2, 'computed again after a change');
});

t.test('padding a URL does not mint entries: the key is the normalised query', async (t) => {
  const s = await cachedServer(t);
  await s.get('/networks?name=a&partial-id=b');
  for (let i = 1; i <= 200; i++) await s.get(`/networks?${'&'.repeat(i)}partial-id=b${'&'.repeat(i)}&name=a`);
  t.equal(s.computed(), 1, 'one answer for every spelling');
  t.equal(s.cache.size.entries, 1);
});

t.test('bounded by entries and by bytes including keys; older versions dropped', async (t) => {
  const s = await cachedServer(t, { maxEntries: 100, maxBytes: 64 << 10 });
  for (let i = 0; i < 2000; i++) await s.get(`/networks?name=${'x'.repeat(i % 500)}${i}`);
  t.ok(s.cache.size.entries <= 100, `${s.cache.size.entries} entries`);
  t.ok(s.cache.size.bytes <= 64 << 10, `${s.cache.size.bytes} bytes, keys counted`);
  t.ok(s.cache.size.bytes >= s.cache.size.entries * 500 / 2, 'the long keys are in the byte count');
  const before = s.cache.size.entries;
  t.ok(before > 1);
  s.state.version++;
  await s.get('/networks');
  t.equal(s.cache.size.entries, 1, `the ${before} entries of the old version are gone`);
  t.equal(cacheKey(`/networks?name=${'y'.repeat(5000)}`), undefined, 'an over-long URL is not cached at all');
});
