// GET /events over the in-process API: NDJSON and WebSocket, since / until /
// filters, 410 past the kept log, many clients without loss, a slow client
// cut off, streams ended by a graceful stop.

import t from 'tap';
import http from 'node:http';
import { createConnection } from 'node:net';
import { WebSocket } from 'ws';
import { EventsSurface } from '../../daemon/api/events/stream.js';
import { InProc, quiet } from '../lib/inproc.js';
import { waitFor } from '../lib/ready.js';

interface Stream { lines: any[]; status: number; headers: http.IncomingHttpHeaders; ended: Promise<void>; close(): void; waitFor(n: number): Promise<void> }

function stream(socketPath: string, path: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path }, (res) => {
      const lines: any[] = [];
      let buf = '';
      let waiters: Array<[number, () => void]> = [];
      const wake = () => { waiters = waiters.filter(([n, fn]) => (lines.length >= n ? (fn(), false) : true)); };
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        let at: number;
        while ((at = buf.indexOf('\n')) >= 0) { lines.push(JSON.parse(buf.slice(0, at))); buf = buf.slice(at + 1); }
        if (res.statusCode !== 200 && buf) { lines.push(JSON.parse(buf)); buf = ''; }
        wake();
      });
      const ended = new Promise<void>((r) => res.on('close', () => r()));
      resolve({
        lines, status: res.statusCode ?? 0, headers: res.headers, ended,
        close: () => req.destroy(),
        waitFor: (n) => new Promise<void>((r) => { waiters.push([n, r]); wake(); }),
      });
    });
    req.on('error', reject);
  });
}

const nullNet = (p: InProc, name: string) => p.req('POST', '/networks', { name, network_type: 'null' });

t.test('since=0 replays the kept log; until=<seq> ends the stream after it', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  await nullNet(p, 'a');
  const last = p.c.events.lastSeq;
  const s = await stream(p.socket, `/events?since=0&until=${last}`);
  await s.ended;
  t.equal(s.status, 200);
  t.match(s.headers['content-type'], /application\/x-ndjson/);
  t.same(s.lines.map((e) => e.seq), Array.from({ length: last }, (_, i) => i + 1));
  t.match(s.lines.at(-1), { seq: last, type: 'network', action: 'create', network: { name: 'a', driver: 'null' } }, 'a typed event per line');
  const after = await stream(p.socket, `/events?since=${last - 1}&until=${last}`);
  await after.ended;
  t.same(after.lines.map((e) => e.seq), [last], 'since=N: the events after N');
});

t.test('live events reach an open stream, filtered like Docker filters', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  const all = await stream(p.socket, '/events');
  const creates = await stream(p.socket, `/events?filters=${encodeURIComponent('{"type":["network"],"action":{"delete":true}}')}`);
  const byNet = await stream(p.socket, `/events?filters=${encodeURIComponent('{"network":["b"]}')}`);
  await nullNet(p, 'a');
  const b = (await nullNet(p, 'b')).json;
  const ep = (await p.req('POST', `/networks/${b}/endpoints`, { name: 'e' })).json;
  await p.req('DELETE', `/networks/${b}/endpoints/${ep}`);
  await p.req('DELETE', `/networks/${b}`);
  await all.waitFor(5);
  await creates.waitFor(1);
  await byNet.waitFor(4);
  t.same(all.lines.map((e) => `${e.type}.${e.action}`), ['network.create', 'network.create', 'endpoint.create', 'endpoint.delete', 'network.delete'], 'no backlog without since, then every change');
  t.same(creates.lines.map((e) => `${e.type}.${e.action}:${e.network.name}`), ['network.delete:b']);
  t.same(byNet.lines.map((e) => e.network.id), [b, b, b, b], 'a network by name (or id)');
  for (const s of [all, creates, byNet]) s.close();
});

t.test('since as unix seconds or RFC 3339; until in the past ends at once', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  await new Promise((r) => setTimeout(r, 20));
  const mark = Date.now();
  await new Promise((r) => setTimeout(r, 20));
  await nullNet(p, 'late');
  const iso = await stream(p.socket, `/events?since=${encodeURIComponent(new Date(mark).toISOString())}&until=${encodeURIComponent(new Date(Date.now() + 50).toISOString())}`);
  await iso.ended;
  t.same(iso.lines.map((e) => e.network.name), ['late'], 'RFC 3339 since, and the stream ends at until');
  const unix = await stream(p.socket, `/events?since=${(mark / 1000).toFixed(3)}&until=${Math.floor(Date.now() / 1000) - 1}`);
  await unix.ended;
  t.same(unix.lines, [], 'unix seconds; an until in the past answers the backlog up to it and ends');
});

t.test('a since older than the kept log is a 410 naming the oldest kept', async (t) => {
  const p = await new InProc().start({ eventsMax: 3 });
  t.teardown(() => p.close());
  for (let i = 0; i < 4; i++) await nullNet(p, `n${i}`);
  const s = await stream(p.socket, '/events?since=0');
  await s.ended;
  t.equal(s.status, 410);
  t.equal(s.lines[0].code, 'SINCE_TOO_OLD');
  t.match(s.lines[0].message, new RegExp(`oldest kept is seq ${p.c.events.firstSeq}`));
  const ok = await stream(p.socket, `/events?since=${p.c.events.firstSeq - 1}&until=${p.c.events.lastSeq}`);
  await ok.ended;
  t.equal(ok.lines.length, 3, 'the oldest kept onwards is fine');
});

t.test('bad parameters are a 400 naming them', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  const cases: Array<[string, string, RegExp]> = [
    ['since=yesterday', 'INVALID_PARAMETER', /since/],
    ['until=1e9', 'INVALID_PARAMETER', /until/],
    ['since=1&since=2', 'INVALID_PARAMETER', /once/],
    ['tail=5', 'INVALID_PARAMETER', /tail/],
    ['filters=nope', 'INVALID_FILTER', /filters/],
    [`filters=${encodeURIComponent('{"colour":["red"]}')}`, 'UNSUPPORTED_FILTER', /colour/],
    [`filters=${encodeURIComponent('{"type":["volume"]}')}`, 'INVALID_FILTER', /volume/],
    [`filters=${encodeURIComponent('{"network":"a"}')}`, 'INVALID_FILTER', /network/],
  ];
  for (const [q, code, re] of cases) {
    const s = await stream(p.socket, `/events?${q}`);
    await s.ended;
    t.equal(s.status, 400, q);
    t.match(s.lines[0], { code, message: re }, q);
  }
  const post = await p.req('POST', '/events', {});
  t.equal(post.status, 405);
  t.equal(post.json.code, 'METHOD_NOT_ALLOWED');
});

t.test('the same stream as a WebSocket, and a 410 before the upgrade', async (t) => {
  const p = await new InProc().start({ eventsMax: 3 });
  t.teardown(() => p.close());
  const ws = new WebSocket(`ws+unix://${p.socket}:/events?since=${p.c.events.lastSeq}`);
  const got: any[] = [];
  ws.on('message', (m) => got.push(JSON.parse(String(m))));
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  await nullNet(p, 'ws1');
  await nullNet(p, 'ws2');
  while (got.length < 2) await new Promise((r) => setTimeout(r, 5));
  t.same(got.map((e) => e.network.name), ['ws1', 'ws2']);
  ws.close();
  const old = new WebSocket(`ws+unix://${p.socket}:/events?since=0`);
  const status = await new Promise<number>((r) => old.once('unexpected-response', (_req, res) => r(res.statusCode ?? 0)));
  t.equal(status, 410);
});

t.test('100 clients get 1,000 events each, in order, none lost', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  const from = p.c.events.lastSeq + 1;
  const nd = await Promise.all(Array.from({ length: 50 }, () => stream(p.socket, '/events')));
  const ws = await Promise.all(Array.from({ length: 50 }, async () => {
    const w = new WebSocket(`ws+unix://${p.socket}:/events`);
    const seqs: number[] = [];
    w.on('message', (m) => seqs.push(JSON.parse(String(m)).seq));
    await new Promise((r) => w.once('open', r));
    return { w, seqs };
  }));
  const N = 1000;
  // 500 networks made and deleted: 1,000 events, committed concurrently in tens
  for (let i = 0; i < N / 2; i += 10) {
    await Promise.all(Array.from({ length: 10 }, (_, k) => p.c.createNetwork({ name: `m${i + k}`, networkType: 'null', options: {}, ipam: [] })));
    await Promise.all(Array.from({ length: 10 }, (_, k) => p.c.deleteNetwork(`m${i + k}`)));
  }
  await Promise.all(nd.map((s) => s.waitFor(N)));
  while (ws.some((c) => c.seqs.length < N)) await new Promise((r) => setTimeout(r, 10));
  const want = Array.from({ length: N }, (_, i) => from + i);
  t.ok(nd.every((s) => s.lines.length === N && s.lines.every((e, i) => e.seq === want[i])), 'every NDJSON client: all, in order');
  t.ok(ws.every((c) => c.seqs.length === N && c.seqs.every((s, i) => s === want[i])), 'every WebSocket client: all, in order');
  for (const s of nd) s.close();
  for (const c of ws) c.w.close();
});

t.test('a client that stops reading is cut off with a log line, the others go on', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  const warnings: object[] = [];
  const surface = new EventsSurface(p.c, { ...quiet, warn: (o: object) => warnings.push(o) }, 64 << 10);
  const server = http.createServer((req, res) => { surface.request(req, res); });
  const sock = `${p.dir}/slow.sock`;
  await new Promise<void>((r) => server.listen(sock, r));
  t.teardown(() => { surface.close(); server.close(); });
  // a raw client that sends its request and never reads
  const slow = createConnection(sock);
  slow.pause();
  slow.write('GET /events HTTP/1.1\r\nHost: x\r\n\r\n');
  const closed = new Promise<void>((r) => slow.on('close', () => r()));
  await waitFor('the slow client\'s stream is open', () => surface.streams === 1);
  const good = await stream(sock, '/events');
  await waitFor('both streams are open', () => surface.streams === 2);
  let made = 0;
  // small bursts with a turn of the event loop between them, so the reading client keeps up
  while (warnings.length === 0 && made < 20_000) {
    await Promise.all(Array.from({ length: 10 }, (_, k) => p.c.createNetwork({ name: `s${made + k}`, networkType: 'null', options: {}, ipam: [] })));
    made += 10;
    await new Promise((r) => setTimeout(r, 1));
  }
  t.equal(warnings.length, 1, 'one log line for the slow client');
  t.match(warnings[0], { via: 'ndjson' });
  slow.resume();
  await closed;
  await good.waitFor(made);
  t.equal(good.lines.length, made, 'the reading client got every event');
  t.equal(surface.streams, 1, 'only the reading client is still open');
  good.close();
});

t.test('a graceful stop ends open streams at once', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  const s = await stream(p.socket, '/events');
  const ws = new WebSocket(`ws+unix://${p.socket}:/events`);
  await new Promise((r) => ws.once('open', r));
  const wsClosed = new Promise<void>((r) => ws.once('close', () => r()));
  const t0 = Date.now();
  await p.stopServing();
  await s.ended;
  await wsClosed;
  t.ok(Date.now() - t0 < 1000, 'within a second');
});
