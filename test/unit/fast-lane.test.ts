// The attach/detach routes' fast lane (daemon/api/fast.ts) answers exactly as
// Koa does: the same requests, successes and every kind of failure, sent to
// two daemons alike but for the lane (on, off), give the same status lines,
// headers in the same order, bodies and request log lines; requests the lane
// must not take (other spellings of the paths, other body types, versions
// dockerd refuses) still get Koa's answers. Ids and temp dirs differ between
// the two daemons and are replaced before comparing, as are times and the Date header.

import t from 'tap';
import { createConnection } from 'node:net';
import { gzipSync } from 'node:zlib';
import { InProc } from '../lib/inproc.js';
import type { Logger } from '../../daemon/controller/controller.js';

/** One raw request on a connection of its own; the whole answer as sent. */
function raw(socket: string, request: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection(socket);
    const chunks: Buffer[] = [];
    const done = () => { s.destroy(); resolve(Buffer.concat(chunks).toString('latin1')); };
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const len = end < 0 ? undefined : /\r\ncontent-length: (\d+)/i.exec(text.slice(0, end))?.[1];
      if (len !== undefined && text.length - end - 4 >= Number(len)) done();
    });
    s.on('end', done);
    s.on('error', reject);
    s.write(request);
  });
}

interface Step {
  name: string;
  api?: 'seed' | 'docker';
  method: string;
  path: (ids: Record<string, string>) => string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Keep the answer's JSON under this name (an id for later paths). */
  save?: string;
}

const json = { 'Content-Type': 'application/json' };
const F = 'f'.repeat(64);

const steps: Step[] = [
  { name: 'a network (not a lane route)', method: 'POST', path: () => '/networks', body: '{"name":"n1","network_type":"bridge"}', headers: json, save: 'net' },
  { name: 'create endpoint', method: 'POST', path: (i) => `/networks/${i.net}/endpoints`, body: '{"name":"e1"}', headers: json, save: 'ep' },
  { name: 'create endpoint, charset', method: 'POST', path: (i) => `/networks/${i.net}/endpoints`, body: '{"name":"e2","labels":{"a":"b"}}', headers: { 'Content-Type': 'application/json; charset=utf-8' }, save: 'ep2' },
  { name: 'join', method: 'POST', path: (i) => `/networks/${i.net}/endpoints/${i.ep}/containers`, body: '{"container_id":"c1"}', headers: json },
  { name: 'join again', method: 'POST', path: (i) => `/networks/${i.net}/endpoints/${i.ep}/containers`, body: '{"container_id":"c1"}', headers: json },
  { name: 'join by network name', method: 'POST', path: (i) => `/networks/n1/endpoints/${i.ep2}/containers`, body: '{"container_id":"c2"}', headers: json },
  { name: 'leave', method: 'DELETE', path: (i) => `/networks/${i.net}/endpoints/${i.ep}/containers/c1` },
  { name: 'leave again', method: 'DELETE', path: (i) => `/networks/${i.net}/endpoints/${i.ep}/containers/c1` },
  { name: 'leave, container id not valid', method: 'DELETE', path: (i) => `/networks/${i.net}/endpoints/${i.ep}/containers/-c1` },
  { name: 'leave with a body', method: 'DELETE', path: (i) => `/networks/${i.net}/endpoints/${i.ep2}/containers/c2`, body: '{"x":1}', headers: json },
  { name: 'delete endpoint', method: 'DELETE', path: (i) => `/networks/${i.net}/endpoints/${i.ep}` },
  { name: 'delete endpoint again', method: 'DELETE', path: (i) => `/networks/${i.net}/endpoints/${i.ep}` },
  { name: 'delete endpoint, no network', method: 'DELETE', path: (i) => `/networks/${F}/endpoints/${i.ep2}` },
  { name: 'create, name taken', method: 'POST', path: (i) => `/networks/${i.net}/endpoints`, body: '{"name":"e2"}', headers: json },
  { name: 'create, no network', method: 'POST', path: () => `/networks/${F}/endpoints`, body: '{"name":"e3"}', headers: json },
  { name: 'create, JSON cut short', method: 'POST', path: (i) => `/networks/${i.net}/endpoints`, body: '{"name":', headers: json },
  { name: 'create, a JSON string', method: 'POST', path: (i) => `/networks/${i.net}/endpoints`, body: '"e4"', headers: json },
  { name: 'create, a JSON array', method: 'POST', path: (i) => `/networks/${i.net}/endpoints`, body: '[{"name":"e4"}]', headers: json },
  { name: 'create, prototype poisoning', method: 'POST', path: (i) => `/networks/${i.net}/endpoints`, body: '{"name":"e4","__proto__":{"x":1}}', headers: json },
  { name: 'create, a field of the wrong type', method: 'POST', path: (i) => `/networks/${i.net}/endpoints`, body: '{"name":4}', headers: json },
  { name: 'create, no name', method: 'POST', path: (i) => `/networks/${i.net}/endpoints`, body: '{}', headers: json },
  { name: 'create, empty JSON body', method: 'POST', path: (i) => `/networks/${i.net}/endpoints`, body: '', headers: { ...json, 'Content-Length': '0' } },
  { name: 'create, no body and no type', method: 'POST', path: (i) => `/networks/${i.net}/endpoints` },
  { name: 'create, body too large', method: 'POST', path: (i) => `/networks/${i.net}/endpoints`, body: `{"name":"big","labels":{"x":"${'y'.repeat(1.1 * (1 << 20))}"}}`, headers: json },
  { name: 'create, gzip body', method: 'POST', path: (i) => `/networks/${i.net}/endpoints`, body: gzipSync('{"name":"gz"}'), headers: { ...json, 'Content-Encoding': 'gzip' }, save: 'gz' },
  { name: 'create, encoding not known', method: 'POST', path: (i) => `/networks/${i.net}/endpoints`, body: '{"name":"br"}', headers: { ...json, 'Content-Encoding': 'br' } },
  { name: 'create, bad address', method: 'POST', path: (i) => `/networks/${i.net}/endpoints`, body: '{"name":"e5","ipv4_address":"10.0.0.300"}', headers: json },
  { name: 'join, no endpoint', method: 'POST', path: (i) => `/networks/${i.net}/endpoints/nope/containers`, body: '{"container_id":"c3"}', headers: json },
  { name: 'join, no container id', method: 'POST', path: (i) => `/networks/${i.net}/endpoints/${i.gz}/containers`, body: '{}', headers: json },
  { name: 'join, path not allowed', method: 'POST', path: (i) => `/networks/${i.net}/endpoints/${i.gz}/containers`, body: '{"container_id":"c3","hosts_path":"/etc/../x"}', headers: json },
  // spellings and bodies the lane leaves to Koa: the same answers still
  { name: 'create, type in capitals', method: 'POST', path: (i) => `/networks/${i.net}/endpoints`, body: '{"name":"e6"}', headers: { 'Content-Type': 'Application/JSON' }, save: 'e6' },
  { name: 'create, a +json type', method: 'POST', path: (i) => `/networks/${i.net}/endpoints`, body: '{"name":"e7"}', headers: { 'Content-Type': 'application/vnd.api+json' } },
  { name: 'create, trailing slash', method: 'POST', path: (i) => `/networks/${i.net}/endpoints/`, body: '{"name":"e8"}', headers: json },
  { name: 'create, query string', method: 'POST', path: (i) => `/networks/${i.net}/endpoints?x=1`, body: '{"name":"e9"}', headers: json },
  { name: 'create, path in capitals', method: 'POST', path: (i) => `/NETWORKS/${i.net}/endpoints`, body: '{"name":"e10"}', headers: json },
  { name: 'delete endpoint, escaped name', method: 'DELETE', path: () => '/networks/n1/endpoints/%65%36' },
  { name: 'delete endpoint, dot segment', method: 'DELETE', path: () => '/networks/n1/endpoints/..' },
  { name: 'create endpoint, PUT', method: 'PUT', path: (i) => `/networks/${i.net}/endpoints`, body: '{"name":"e11"}', headers: json },
  { name: 'endpoints listed (a read)', method: 'GET', path: (i) => `/networks/${i.net}/endpoints` },

  { name: 'docker connect', api: 'docker', method: 'POST', path: (i) => `/networks/${i.net}/connect`, body: '{"Container":"d1"}', headers: json },
  { name: 'docker connect again', api: 'docker', method: 'POST', path: (i) => `/networks/${i.net}/connect`, body: '{"Container":"d1"}', headers: json },
  { name: 'docker connect, versioned', api: 'docker', method: 'POST', path: (i) => `/v1.44/networks/${i.net}/connect`, body: '{"Container":"d2","EndpointConfig":{"Aliases":["web"]}}', headers: json },
  { name: 'docker connect, by name', api: 'docker', method: 'POST', path: () => '/v1.50/networks/n1/connect', body: '{"container":"d3"}', headers: json },
  { name: 'docker connect, no type', api: 'docker', method: 'POST', path: (i) => `/networks/${i.net}/connect`, body: '{"Container":"d4"}' },
  { name: 'docker connect, version too old', api: 'docker', method: 'POST', path: (i) => `/v1.20/networks/${i.net}/connect`, body: '{"Container":"d5"}', headers: json },
  { name: 'docker connect, version too new', api: 'docker', method: 'POST', path: (i) => `/v1.99/networks/${i.net}/connect`, body: '{"Container":"d5"}', headers: json },
  { name: 'docker connect, JSON cut short', api: 'docker', method: 'POST', path: (i) => `/networks/${i.net}/connect`, body: '{"Container":', headers: json },
  { name: 'docker connect, no container', api: 'docker', method: 'POST', path: (i) => `/networks/${i.net}/connect`, body: '{}', headers: json },
  { name: 'docker connect, empty body', api: 'docker', method: 'POST', path: (i) => `/networks/${i.net}/connect`, body: '', headers: { ...json, 'Content-Length': '0' } },
  { name: 'docker connect, no body', api: 'docker', method: 'POST', path: (i) => `/networks/${i.net}/connect` },
  { name: 'docker connect, wrong type', api: 'docker', method: 'POST', path: (i) => `/networks/${i.net}/connect`, body: '{"Container":7}', headers: json },
  { name: 'docker connect, body too large', api: 'docker', method: 'POST', path: (i) => `/networks/${i.net}/connect`, body: `{"Container":"d6","x":"${'y'.repeat(1.1 * (1 << 20))}"}`, headers: json },
  { name: 'docker connect, no network', api: 'docker', method: 'POST', path: () => '/networks/nothere/connect', body: '{"Container":"d7"}', headers: json },
  { name: 'docker connect, trailing slash', api: 'docker', method: 'POST', path: (i) => `/networks/${i.net}/connect/`, body: '{"Container":"d8"}', headers: json },
  { name: 'docker disconnect', api: 'docker', method: 'POST', path: (i) => `/networks/${i.net}/disconnect`, body: '{"Container":"d1"}', headers: json },
  { name: 'docker disconnect again', api: 'docker', method: 'POST', path: (i) => `/networks/${i.net}/disconnect`, body: '{"Container":"d1"}', headers: json },
  { name: 'docker disconnect, versioned', api: 'docker', method: 'POST', path: (i) => `/v1.44/networks/${i.net}/disconnect`, body: '{"Container":"d2","Force":true}', headers: json },
  { name: 'docker disconnect, Force not a bool', api: 'docker', method: 'POST', path: (i) => `/networks/${i.net}/disconnect`, body: '{"Container":"d3","Force":"yes"}', headers: json },
  { name: 'docker network inspect (a read)', api: 'docker', method: 'GET', path: (i) => `/networks/${i.net}` },
];

function request(s: Step, ids: Record<string, string>): Buffer {
  const body = s.body === undefined ? undefined : Buffer.isBuffer(s.body) ? s.body : Buffer.from(s.body);
  const headers: Record<string, string> = { Host: 'lnetd', ...s.headers };
  if (body !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-length')) headers['Content-Length'] = String(body.length);
  const head = `${s.method} ${s.path(ids)} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body ?? Buffer.alloc(0)]);
}

/** A logger keeping the request lines (ms dropped, errors as their class and message). */
function lines(): { log: Logger; lines: string[] } {
  const out: string[] = [];
  const keep = (level: string) => (o: object) => {
    const r = o as Record<string, unknown>;
    if (r.api === undefined) return;
    const { ms: _ms, err, ...rest } = r;
    out.push(JSON.stringify({ level, ...rest, err: err instanceof Error ? `${err.constructor.name}: ${err.message}` : err }));
  };
  return { log: { info: keep('info'), warn: keep('warn'), error: keep('error') } as Logger, lines: out };
}

async function run(fastLane: boolean) {
  const l = lines();
  const p = await new InProc().start({ fastLane, log: l.log });
  const ids: Record<string, string> = {};
  const answers: string[] = [];
  const strip = (s: string) => {
    let x = s.split(p.dir).join('<dir>');
    for (const [k, v] of Object.entries(ids)) x = x.split(v).join(`<${k}>`);
    return x.replace(/[0-9a-f]{64}/g, '<id>').replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>');
  };
  for (const s of steps) {
    const text = await raw(s.api === 'docker' ? p.dockerSocket : p.socket, request(s, ids));
    if (s.save) {
      const body = text.slice(text.indexOf('\r\n\r\n') + 4);
      ids[s.save] = JSON.parse(body) as string;
    }
    const answer = strip(text.replace(/\r\nDate: [^\r]*/, ''));
    // a read's length follows the digits of the times in it
    answers.push(s.method === 'GET' ? answer.replace(/\r\nContent-Length: \d+/, '\r\nContent-Length: <n>') : answer);
  }
  const fast = { seed: p.api.seed.fastAnswered, docker: p.dockerApi.fastAnswered };
  const logged = l.lines.map(strip);
  await p.close();
  return { answers, logged, fast };
}

t.test('the fast lane answers as Koa does, byte for byte, and logs the same', async (t) => {
  const on = await run(true);
  const off = await run(false);
  t.equal(off.fast.seed + off.fast.docker, 0, 'with the lane off, Koa answered everything');
  t.ok(on.fast.seed >= 25, `the seed's lane answered ${on.fast.seed} requests`);
  t.ok(on.fast.docker >= 12, `the Docker surface's lane answered ${on.fast.docker} requests`);
  steps.forEach((s, k) => t.equal(on.answers[k], off.answers[k], s.name));
  t.same(on.logged, off.logged, 'the same request log lines');
  // the answers themselves are what the surfaces promise (not two equal wrongs)
  const status = (k: number) => Number(/^HTTP\/1\.1 (\d+)/.exec(on.answers[k])?.[1]);
  const at = (name: string) => steps.findIndex((s) => s.name === name);
  t.equal(status(at('create endpoint')), 200);
  t.match(on.answers[at('create endpoint')], /\r\nContent-Type: application\/json; charset=utf-8\r\nContent-Length: 66\r\n.*\r\n\r\n"<ep>"$/s);
  t.match(on.answers[at('leave')], /^HTTP\/1\.1 200 OK\r\nContent-Type: text\/plain; charset=utf-8\r\nContent-Length: 0\r\n/);
  t.match(on.answers[at('create, JSON cut short')], /^HTTP\/1\.1 400 Bad Request\r\n.*"code":"INVALID_JSON"\}$/s);
  t.match(on.answers[at('create, body too large')], /^HTTP\/1\.1 413 .*"code":"BODY_TOO_LARGE"\}$/s);
  t.match(on.answers[at('create, no name')], /"code":"MISSING_FIELD"/);
  t.match(on.answers[at('leave, container id not valid')], /^HTTP\/1\.1 400 .*"code":"INVALID_PARAMETER"/s);
  t.equal(status(at('create, gzip body')), 200, 'a gzip body is read');
  t.match(on.answers[at('docker connect')], /^HTTP\/1\.1 200 OK\r\nApi-Version: 1\.50\r\nOstype: linux\r\nDocker-Experimental: false\r\nServer: lnetd\/[^\r]+\r\nContent-Type: text\/plain; charset=utf-8\r\nContent-Length: 0\r\n/);
  t.match(on.answers[at('docker connect again')], /^HTTP\/1\.1 403 .*\r\nContent-Type: application\/json\r\n.*\{"message":"endpoint with name d1 already exists in network n1"\}\n$/s);
  t.equal(status(at('docker connect, version too old')), 400);
  t.equal(status(at('docker disconnect again')), 404);
});
