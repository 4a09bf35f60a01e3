// The Docker API's contract, from the requests the docker CLI 28 sends
// (test/fixtures/docker-cli-28): each fixture file runs in order against a
// fresh daemon on the fake kernel, checking status, message and body.

import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../lib/daemon.js';
import { InProc } from '../lib/inproc.js';

const DIR = join(ROOT, 'test/fixtures/docker-cli-28');

interface Req { method: string; path: string; body?: unknown; raw?: string; filters?: unknown }
interface Case {
  name: string; request: Req; status: number;
  message?: string; messageMatch?: string; json?: unknown; text?: string;
  names?: string[]; jsonPath?: Record<string, unknown>; headers?: Record<string, string>;
}
interface Fixture { about: string; setup?: Req[]; cases: Case[] }

function substitute<T>(v: T, ids: Map<string, string>): T {
  const text = JSON.stringify(v).replace(/\{\{(id|short):([^}]+)\}\}/g, (_, kind: string, name: string) => {
    const id = ids.get(name);
    if (!id) throw new Error(`fixture names network ${name}, which does not exist`);
    return kind === 'id' ? id : id.slice(0, 12);
  });
  return JSON.parse(text) as T;
}

function at(o: unknown, path: string): unknown {
  return path.split('.').reduce<any>((x, k) => (x === undefined || x === null ? undefined : x[k]), o);
}

async function send(p: InProc, r: Req) {
  const path = r.filters === undefined ? r.path : `${r.path}${r.path.includes('?') ? '&' : '?'}filters=${encodeURIComponent(JSON.stringify(r.filters))}`;
  return p.docker(r.method, path, r.raw === undefined ? r.body : undefined, r.raw);
}

async function networkIds(p: InProc): Promise<Map<string, string>> {
  const list = (await p.docker('GET', '/networks')).json as Array<{ Name: string; Id: string }>;
  return new Map(list.map((n) => [n.Name, n.Id]));
}

for (const file of readdirSync(DIR).filter((f) => f.endsWith('.json')).sort()) {
  const fx = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Fixture;
  t.test(`${file}: ${fx.about}`, async (t) => {
    const p = await new InProc().start();
    t.teardown(() => p.close());
    for (const r of fx.setup ?? []) {
      const res = await send(p, r);
      if (res.status >= 300) throw new Error(`setup ${r.method} ${r.path}: ${res.status} ${res.text}`);
    }
    for (const c of fx.cases) {
      const ids = await networkIds(p);
      const req = substitute(c.request, ids);
      const res = await send(p, req);
      const what = `${c.name} (${req.method} ${req.path})`;
      t.equal(res.status, c.status, `${what}: status ${c.status}${res.status === c.status ? '' : `, got ${res.text}`}`);
      if (c.message !== undefined) t.equal(res.json?.message, substitute(c.message, ids), `${what}: message`);
      if (c.messageMatch !== undefined) t.match(res.json?.message, new RegExp(c.messageMatch), `${what}: message`);
      if (res.status >= 400) t.same(Object.keys(res.json ?? {}), ['message'], `${what}: dockerd's error shape`);
      if (res.status >= 400) t.equal(res.headers['content-type'], 'application/json', `${what}: the type the Go client reads errors under`);
      if (c.json !== undefined) t.has(res.json, substitute(c.json, ids), `${what}: body`);
      if (c.text !== undefined) t.equal(res.text, c.text, `${what}: text`);
      if (c.names !== undefined) t.same((res.json as Array<{ Name: string }>).map((n) => n.Name).sort(), [...c.names].sort(), `${what}: networks`);
      for (const [path, want] of Object.entries(c.jsonPath ?? {})) t.same(at(res.json, path), want, `${what}: ${path}`);
      for (const [h, want] of Object.entries(c.headers ?? {})) t.equal(res.headers[h], want, `${what}: header ${h}`);
    }
  });
}

t.test('an id prefix several networks share is ambiguous', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  for (let i = 0; i < 40; i++) await p.docker('POST', '/networks/create', { Name: `amb${i}` });
  const ids = [...(await networkIds(p)).values()];
  const shared = [...'0123456789abcdef'].find((ch) => ids.filter((id) => id.startsWith(ch)).length > 1)!;
  const n = ids.filter((id) => id.startsWith(shared)).length;
  const r = await p.docker('GET', `/v1.50/networks/${shared}`);
  t.equal(r.status, 400);
  t.equal(r.json.message, `network ${shared} is ambiguous (${n} matches found based on ID prefix)`);
  t.equal((await p.docker('DELETE', `/v1.50/networks/${shared}`)).status, 400, 'rm refuses it too');
});
