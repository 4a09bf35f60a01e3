// GET /events in Docker's format over the controller's event log: a seed join
// is a Docker connect, since into the past replays, until in the past answers
// at once, filters as dockerd takes them, and a stop ends open streams.

import t from 'tap';
import http from 'node:http';
import { InProc } from '../lib/inproc.js';
import { waitFor } from '../lib/ready.js';

function stream(socketPath: string, path: string): Promise<{ status: number; lines: any[]; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const lines: any[] = [];
    http.get({ socketPath, path }, (res) => {
      let buf = '';
      const ended = new Promise<void>((r) => res.on('end', () => r()));
      res.on('data', (c: Buffer) => {
        buf += c.toString();
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) { lines.push(JSON.parse(buf.slice(0, i))); buf = buf.slice(i + 1); }
      });
      resolve({ status: res.statusCode ?? 0, lines, ended });
    }).on('error', reject);
  });
}

t.test('Docker events from both APIs', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  const since = (Date.now() / 1000).toFixed(3);
  await new Promise((r) => setTimeout(r, 5));
  const live = await stream(p.dockerSocket, '/v1.50/events?filters=' + encodeURIComponent('{"type":{"network":true}}'));
  t.equal(live.status, 200);
  const net = (await p.docker('POST', '/networks/create', { Name: 'ev' })).json.Id;
  const ep = (await p.req('POST', '/networks/ev/endpoints', { name: 'seedep' })).json;
  const cid = 'c0ffee'.repeat(10);
  t.equal((await p.req('POST', `/networks/ev/endpoints/${ep}/containers`, { container_id: cid })).status, 200, 'a seed join');
  t.equal((await p.req('DELETE', `/networks/ev/endpoints/${ep}/containers/${cid}`)).status, 200);
  await p.req('DELETE', `/networks/ev/endpoints/${ep}`);
  t.equal((await p.docker('DELETE', '/networks/ev')).status, 204);
  await waitFor('the destroy event on the live stream', () => live.lines.some((e) => e.Action === 'destroy'));
  t.same(live.lines.map((e) => [e.Type, e.Action, e.Actor.ID, e.Actor.Attributes.name, e.Actor.Attributes.container]), [
    ['network', 'create', net, 'ev', undefined],
    ['network', 'connect', net, 'ev', cid],
    ['network', 'disconnect', net, 'ev', cid],
    ['network', 'destroy', net, 'ev', undefined],
  ], 'seed joins and leaves are Docker connects and disconnects; endpoint events have no Docker twin');
  const e = live.lines[0];
  t.same(Object.keys(e), ['Type', 'Action', 'Actor', 'scope', 'time', 'timeNano'], "dockerd's fields");
  t.equal(e.scope, 'local');
  t.equal(e.time, Math.floor(e.timeNano / 1e9));

  const until = (Date.now() / 1000 + 0.001).toFixed(3);
  const past = await stream(p.dockerSocket, `/events?since=${since}&until=${until}&filters=${encodeURIComponent('{"event":["connect","disconnect"]}')}`);
  await past.ended;
  t.same(past.lines.map((x) => x.Action), ['connect', 'disconnect'], 'since in the past replays; until in the past ends the answer');
  const byName = await stream(p.dockerSocket, `/events?since=${since}&until=${until}&filters=${encodeURIComponent('{"network":["ev"],"container":["' + cid + '"]}')}`);
  await byName.ended;
  t.equal(byName.lines.length, 2, 'network by name, container by id');
  const other = await stream(p.dockerSocket, `/events?since=${since}&until=${until}&filters=${encodeURIComponent('{"type":["container"]}')}`);
  await other.ended;
  t.equal(other.lines.length, 0, 'no container events: lnetd has no containers');

  const bad = await p.docker('GET', '/events?filters=' + encodeURIComponent('{"colour":["red"]}'));
  t.same([bad.status, bad.json], [400, { message: "invalid filter 'colour'" }]);
  const badSince = await p.docker('GET', '/events?since=yesterday');
  t.equal(badSince.status, 400);
  t.equal((await p.docker('GET', '/v1.12/events')).status, 400, 'the version handshake holds for streams too');

  const open = await stream(p.dockerSocket, '/events');
  await p.stopServing();
  await open.ended;
  t.pass('a stop ends an open stream at once');
});
