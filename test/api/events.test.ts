// GET /events on the built daemon over its unix socket: since works across a
// restart and a kill -9 (the log is in LevelDB, in the commit's batch), the
// retention flag bounds it, and SIGTERM ends open streams and exits at once.

import t from 'tap';
import http from 'node:http';
import { requireRoot, TestDaemon } from '../lib/daemon.js';

requireRoot(t);

/** The whole answer once the stream ends; opened() is called when its headers are in (the stream is open). */
function readStream(socketPath: string, path: string, opened?: () => void): Promise<{ status: number; lines: any[] }> {
  return new Promise((resolve, reject) => {
    http.get({ socketPath, path }, (res) => {
      opened?.();
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('close', () => resolve({ status: res.statusCode ?? 0, lines: text.split('\n').filter(Boolean).map((l) => JSON.parse(l)) }));
    }).on('error', reject);
  });
}

t.test('since reaches back across SIGTERM and kill -9; numbering goes on', async (t) => {
  const d = new TestDaemon(['--events-max', '100']);
  t.teardown(() => d.cleanup());
  await d.start();
  const net = (await d.req('POST', '/networks', { name: 'ev', network_type: 'null' })).json;
  const ep = (await d.req('POST', `/networks/${net}/endpoints`, { name: 'e' })).json;
  await d.req('POST', `/networks/${net}/endpoints/${ep}/containers`, { container_id: 'ab'.repeat(32) });
  const before = await readStream(d.socket, '/events?since=0&until=6');
  t.same(before.lines.map((e) => `${e.type}.${e.action}`), ['network.create', 'network.create', 'network.create', 'network.create', 'endpoint.create', 'container.join']);
  t.equal((await d.req('GET', '/_stats')).json.events_last_seq, 6);
  await d.stop('SIGKILL');
  await d.start();
  await d.req('DELETE', `/networks/${net}/endpoints/${ep}/containers/${'ab'.repeat(32)}`);
  const after = await readStream(d.socket, '/events?since=5&until=7');
  t.same(after.lines.map((e) => [e.seq, `${e.type}.${e.action}`]), [[6, 'container.join'], [7, 'container.leave']], 'the kept log and the new event, numbered on');
  t.equal(after.lines[1].container.sandboxKey, before.lines[5].container.sandboxKey);
  for (let i = 0; i < 100; i++) await d.req('POST', '/networks', { name: `fill${i}`, network_type: 'null' });
  await d.stop('SIGTERM');
  await d.start();
  const gone = await readStream(d.socket, '/events?since=0');
  t.equal(gone.status, 410, 'past the kept 100: 410');
  t.equal(gone.lines[0].code, 'SINCE_TOO_OLD');
});

t.test('SIGTERM ends an open stream at once and still exits 0 within a second', async (t) => {
  const d = new TestDaemon();
  t.teardown(() => d.cleanup());
  await d.start();
  let opened!: () => void;
  const isOpen = new Promise<void>((r) => { opened = r; });
  const open = readStream(d.socket, '/events', opened);
  await isOpen;
  const t0 = Date.now();
  t.equal(await d.stop('SIGTERM'), 0);
  t.ok(Date.now() - t0 < 1000, `exited in ${Date.now() - t0} ms`);
  t.equal((await open).status, 200, 'the stream ended cleanly');
});

t.test('a bad --events-max stops the daemon with a message', async (t) => {
  const d = new TestDaemon(['--events-max', '5']);
  t.teardown(() => d.cleanup());
  await t.rejects(d.start(), /events-max.*100/);
});
