// The daemon's log, read the way an operator reads it: the line formats and
// journald priorities (daemon/log.ts), one line per 4xx/5xx with its code and
// message on every surface (log-request.ts), one line per change with what it
// changed (log-changes.ts), kernel and firewall steps at debug (log-kernel.ts),
// and wrapped errors that say each thing once (errors/index.ts wrap()).

import t from 'tap';
import { closeSync, mkdtempSync, openSync, fstatSync, rmSync, writeFileSync } from 'node:fs';
import { loadConfig } from '../../daemon/config.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, formatLine, isJournalStream, journalPrefix, priorityOf, resolveFormat, type LogFormat } from '../../daemon/log.js';
import { logged, loggedFirewall, loggedKernel } from '../../daemon/log-kernel.js';
import { levelOf } from '../../daemon/log-request.js';
import { wrap } from '../../errors/index.js';
import { FakeKernel } from '../lib/fake-kernel.js';
import { FakeFirewall } from '../lib/fake-firewall.js';
import { InProc } from '../lib/inproc.js';
import http from 'node:http';

/** What a web page's form would send: refused by the listener guard (415). */
function formPost(socketPath: string, path: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': 6 } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end('name=x');
  });
}

/** A logger writing into an array, in the given format. */
function capture(format: LogFormat = 'json', level = 'debug') {
  const lines: string[] = [];
  const log = createLogger({ level, format, out: { write: (s: string) => { lines.push(...s.split('\n').filter(Boolean)); } } });
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, any>);
  return { log, lines, records };
}

t.test('formats: text for people, json for machines, journal with sd-daemon priorities', async (t) => {
  t.same([60, 50, 40, 30, 20, 10].map(priorityOf), [2, 3, 4, 6, 7, 7], 'fatal crit, error err, warn warning, info, debug and trace debug');
  const rec = { level: 40, time: Date.UTC(2026, 11, 1, 10, 0, 0), pid: 7, msg: 'request refused', url: '/networks?name=a b', status: 400, code: 'INVALID_NAME' };
  const line = JSON.stringify(rec) + '\n';
  t.equal(formatLine(line, 'json'), line, 'json is pino\'s line unchanged');
  t.equal(formatLine(line, 'text'), '2026-12-01T10:00:00.000Z WARN  request refused url="/networks?name=a b" status=400 code=INVALID_NAME\n', 'text: time, level, message, key=value (quoted when needed), no pid');
  t.equal(formatLine(line, 'journal'), '<4>WARN  request refused url="/networks?name=a b" status=400 code=INVALID_NAME\n', 'journal: priority prefix, no time (journald stamps it)');
  for (const [level, p] of [[60, 2], [50, 3], [30, 6], [20, 7], [10, 7]] as const) {
    t.match(formatLine(JSON.stringify({ ...rec, level }), 'journal'), new RegExp(`^<${p}>`), `level ${level} → <${p}>`);
  }
  // an error's stack: every physical line carries the prefix, or journald files the frames at info
  const err = { type: 'Error', message: 'create veth lv1: EINVAL', code: 'EINVAL', stack: 'Error: create veth lv1: EINVAL\n    at a (x.js:1:1)\n    at b (y.js:2:2)' };
  const out = formatLine(JSON.stringify({ level: 50, time: 0, msg: 'request failed', err }), 'journal').split('\n').filter(Boolean);
  t.equal(out.length, 3, 'message line and two frames');
  t.ok(out.every((l) => l.startsWith('<3>')), 'each line at priority 3');
  t.match(out[0], /err="create veth lv1: EINVAL" err_code=EINVAL/, 'the error\'s message and code on the first line');
  t.notMatch(formatLine(JSON.stringify({ level: 40, time: 0, msg: 'x', err }), 'text'), /at a/, 'no stack below error level');
  t.match(formatLine('not json\n', 'text'), 'not json', 'a line that is not a record passes as it is');
  t.equal(formatLine(JSON.stringify({ level: 40, time: 0, msg: 'm', err: 'plain text' }), 'journal'), '<4>WARN  m err="plain text"\n', 'an err that is not an Error is kept');
});

t.test('auto: journal when stdout is JOURNAL_STREAM, else text on a terminal, json otherwise', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lnetd-logs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fd = openSync(join(dir, 'out'), 'w');
  t.teardown(() => closeSync(fd));
  const st = fstatSync(fd, { bigint: true });
  const mine = `${st.dev}:${st.ino}`;
  t.ok(isJournalStream(mine, fd), 'dev:ino of the fd itself');
  t.notOk(isJournalStream(`${st.dev}:${st.ino + 1n}`, fd), 'another inode: a child whose stdout was redirected');
  t.notOk(isJournalStream('garbage', fd), 'not dev:ino');
  t.notOk(isJournalStream(undefined, fd), 'unset');
  t.same(resolveFormat('auto', { JOURNAL_STREAM: mine }, fd), { format: 'journal', color: false });
  t.same(resolveFormat('auto', { JOURNAL_STREAM: `${st.dev}:${st.ino + 1n}` }, fd), { format: 'json', color: false }, 'a file, not the journal: json');
  t.same(resolveFormat('auto', {}, fd), { format: 'json', color: false });
  t.same(resolveFormat('text', {}, fd), { format: 'text', color: false }, 'forced text on a file: no colour codes');
  t.same(resolveFormat('journal', {}, fd), { format: 'journal', color: false }, 'forced journal');
  t.same(resolveFormat('json', { JOURNAL_STREAM: mine }, fd), { format: 'json', color: false }, 'forced json wins over the journal');
  t.equal(journalPrefix(3, { JOURNAL_STREAM: mine }, fd), '<3>', 'a failed start on a journal stderr: priority 3');
  t.equal(journalPrefix(3, {}, fd), '', 'elsewhere: no prefix');
});

t.test('the format setting: flag, variable, config key, checked like the others', async (t) => {
  t.equal(loadConfig([], {}).logFormat, 'auto', 'auto by default');
  t.equal(loadConfig(['--log-format', 'text'], { LNETD_LOG_FORMAT: 'json' }).logFormat, 'text', 'the flag wins');
  t.equal(loadConfig([], { LNETD_LOG_FORMAT: 'journal' }).logFormat, 'journal', 'the variable');
  const dir = mkdtempSync(join(tmpdir(), 'lnetd-logs-cfg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'c.json'), JSON.stringify({ log_format: 'json' }));
  t.equal(loadConfig(['--config', join(dir, 'c.json')], {}).logFormat, 'json', 'the config key');
  t.throws(() => loadConfig(['--log-format', 'xml'], {}), { name: 'ConfigError', message: /^--log-format: "xml" is not one of auto, text, json, journal/ });
  t.throws(() => loadConfig([], { LNETD_LOG_FORMAT: 'pretty' }), { message: /^LNETD_LOG_FORMAT: / });
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ log_format: 3 }));
  t.throws(() => loadConfig(['--config', join(dir, 'bad.json')], {}), { message: /log_format: must be a string/ });
});

t.test('createLogger writes the chosen format', async (t) => {
  const j = capture('journal', 'info');
  j.log.warn({ code: 'X' }, 'careful');
  j.log.error({}, 'broken');
  j.log.debug({}, 'hidden at info');
  t.same(j.lines, ['<4>WARN  careful code=X', '<3>ERROR broken']);
  const c = capture('json');
  c.log.info({ a: 1 }, 'hi');
  t.match(c.records()[0], { level: 30, msg: 'hi', a: 1 }, 'json keeps pino\'s numeric level');
});

t.test('4xx and 5xx on every surface: status, code, message and the query string', async (t) => {
  const cap = capture('json', 'info');
  const p = await new InProc().start({ log: cap.log });
  t.teardown(() => p.close());
  const find = (pred: (r: Record<string, any>) => boolean) => cap.records().find(pred);

  // seed API: a 400 at warn with the code and message, the query string kept
  const bad = await p.req('POST', '/networks?x=1', { name: 'bad', network_type: 'bridge', ipam: { subnet: 'nope' } });
  t.equal(bad.status, 400);
  t.match(find((r) => r.url === '/networks?x=1'), { level: 40, api: 'seed', method: 'POST', status: 400, code: bad.json.code, error: bad.json.message, msg: 'request refused' }, 'seed 400');
  const ok = await p.req('GET', '/networks?name=bridge');
  t.equal(ok.status, 200);
  t.match(find((r) => r.url === '/networks?name=bridge'), { level: 30, status: 200, msg: 'request' }, 'a 200 at info with its query string');
  const missing = await p.req('GET', '/networks/nosuch');
  t.equal(missing.status, 404);
  t.match(find((r) => r.url === '/networks/nosuch'), { level: 30, status: 404, code: 'NETWORK_NOT_FOUND', error: missing.json.message }, '404 at info: lookups cause them routinely');

  // a 5xx at error with its cause (a kernel failure under a join)
  const net = await p.req('POST', '/networks', { name: 'n5', network_type: 'bridge', options: {} });
  const ep = await p.req('POST', `/networks/${net.json}/endpoints`, { name: 'e5', exposed_ports: [], port_mapping: [] });
  p.kernel.failNext('createVeth', 'EINVAL');
  const join5 = await p.req('POST', `/networks/${net.json}/endpoints/${ep.json}/containers`, { container_id: 'c5' });
  t.equal(join5.status, 500);
  const failed = find((r) => r.status === 500);
  t.match(failed, { level: 50, api: 'seed', code: 'INTERNAL', msg: 'request failed', err: { code: 'EINVAL' } }, '500 at error with the cause');
  t.match(failed?.err?.stack, /create veth/, 'the cause\'s stack');
  t.equal(cap.records().filter((r) => r.level === 50 && r.url?.includes('/containers')).length, 1, 'one line for the failure, not two');

  // Docker API: its errors have no code in the body; the log has the domain code
  const dnf = await p.docker('GET', '/v1.50/networks/nosuch?verbose=true');
  t.equal(dnf.status, 404);
  t.match(find((r) => r.api === 'docker' && r.status === 404), { url: '/v1.50/networks/nosuch?verbose=true', code: 'NOT_FOUND', error: dnf.json.message });
  const dbad = await p.docker('POST', '/networks/create', { Name: 'd', IPAM: { Config: [{ Subnet: 'nope' }] } });
  t.equal(dbad.status, 400);
  t.match(find((r) => r.api === 'docker' && r.status === 400), { level: 40, code: 'INVALID_SUBNET', error: dbad.json.message });
  const old = await p.docker('GET', '/v1.12/networks');
  t.equal(old.status, 400);
  t.match(find((r) => r.api === 'docker' && r.url === '/v1.12/networks'), { level: 40, code: 'BAD_REQUEST', error: old.json.message }, 'a Docker error of its own: the status\'s name as code');

  const dev = await p.docker('GET', '/events?filters=%7Bnot-json');
  t.equal(dev.status, 400);
  t.match(find((r) => r.api === 'docker' && r.url === '/events?filters=%7Bnot-json'), { level: 40, status: 400, error: dev.json.message }, 'the Docker event stream\'s refusal');

  // events: a bad since, a method not allowed
  const ev = await p.req('GET', '/events?since=nonsense');
  t.equal(ev.status, 400);
  t.match(find((r) => r.api === 'events' && r.status === 400), { level: 40, url: '/events?since=nonsense', code: ev.json.code, error: ev.json.message });
  const ev405 = await p.req('POST', '/events');
  t.equal(ev405.status, 405);
  t.match(find((r) => r.api === 'events' && r.status === 405), { code: 'METHOD_NOT_ALLOWED' });

  // the listener guard: refused before any surface
  const refused = await formPost(p.socket, '/networks?via=form');
  t.equal(refused.status, 415);
  t.match(find((r) => r.api === 'listener'), { level: 40, status: 415, url: '/networks?via=form', code: 'UNSUPPORTED_MEDIA_TYPE', error: refused.json.message });

  t.same([200, 302, 400, 404, 409, 500, 503].map(levelOf), ['info', 'info', 'warn', 'info', 'warn', 'error', 'error']);
});

t.test('every change is logged with what it changed', async (t) => {
  const cap = capture('json', 'info');
  const p = await new InProc().start({ log: cap.log });
  t.teardown(() => p.close());
  const changes = () => cap.records().filter((r) => r.change);
  const net = await p.req('POST', '/networks', { name: 'blue', network_type: 'bridge', options: { bridge_name: 'br-blue' }, ipam: { subnet: '10.77.0.0/24', gateway: '10.77.0.1' } });
  t.ok(net.status < 300, 'network made');
  t.match(changes().at(-1), { level: 30, change: 'network.create', network: 'blue', driver: 'bridge', subnets: ['10.77.0.0/24'], gateways: ['10.77.0.1'], bridge: 'br-blue' });
  t.match(changes().at(-1)?.msg, /network blue created: bridge, subnets 10\.77\.0\.0\/24 bridge br-blue/);

  const ep = await p.req('POST', `/networks/${net.json}/endpoints`, {
    name: 'web', exposed_ports: [{ proto: 6, port: 80 }], port_mapping: [{ proto: 6, port: 80, host_ip: '127.0.0.1', host_port: 8080 }], ipv4_address: '10.77.0.9',
  });
  t.match(changes().at(-1), { change: 'endpoint.create', network: 'blue', endpoint: 'web', addresses: ['10.77.0.9/24'], ports: ['127.0.0.1:8080->80/tcp'], exposed: ['80/tcp'] });
  t.match(changes().at(-1)?.msg, /endpoint web created on blue: addresses 10\.77\.0\.9\/24, ports 127\.0\.0\.1:8080->80\/tcp/);

  const cid = 'c'.repeat(64);
  const key = await p.req('POST', `/networks/${net.json}/endpoints/${ep.json}/containers`, { container_id: cid, host_name: 'h1' });
  t.equal(key.status, 200);
  t.match(changes().at(-1), { change: 'container.join', network: 'blue', endpoint: 'web', container: cid, sandbox_key: key.json, interface: 'eth0', addresses: ['10.77.0.9/24'], ports: ['127.0.0.1:8080->80/tcp'], host_name: 'h1' });
  t.match(changes().at(-1)?.host_veth, /^lv/, 'the host side of the veth');

  await p.req('DELETE', `/networks/${net.json}/endpoints/${ep.json}/containers/${cid}`);
  t.match(changes().at(-1), { change: 'container.leave', container: cid, sandbox_key: key.json, interface: 'eth0', addresses: ['10.77.0.9/24'] });
  await p.req('DELETE', `/networks/${net.json}/endpoints/${ep.json}`);
  t.match(changes().at(-1), { change: 'endpoint.delete', endpoint: 'web', addresses: ['10.77.0.9/24'], ports: ['127.0.0.1:8080->80/tcp'] }, 'a delete says what was there');
  await p.req('DELETE', `/networks/${net.json}`);
  t.match(changes().at(-1), { change: 'network.delete', network: 'blue', subnets: ['10.77.0.0/24'], bridge: 'br-blue' });
  const seqs = changes().filter((r) => r.network === 'blue').map((r) => r.seq);
  t.same(seqs, [...seqs].sort((a, b) => a - b), 'each line carries its event\'s seq, in order');
  t.equal(seqs.length, 6, 'create, create, join, leave, delete, delete');
});

t.test('kernel and firewall steps at debug, reads at trace, nothing wrapped below debug', async (t) => {
  const k = new FakeKernel();
  const atInfo = capture('json', 'info');
  t.equal(loggedKernel(k, atInfo.log), k, 'at info the kernel is the kernel itself');
  const dbg = capture('json', 'debug');
  const lk = loggedKernel(k, dbg.log);
  await lk.createNetns('/x/ns1');
  await lk.links();
  await lk.ensureBridge('br0', {});
  await lk.createVeth({ name: 'v0', master: 'br0', peer: { name: 'eth0', ns: '/x/ns1' } });
  await lk.addAddress('eth0', '10.0.0.2/24', '/x/ns1');
  await lk.deleteLink('v0');
  await t.rejects(lk.addAddress('nosuch', '10.0.0.3/24', '/x/ns1'));
  const recs = dbg.records();
  t.same(recs.map((r) => r.op), ['createNetns', 'ensureBridge', 'createVeth', 'addAddress', 'deleteLink', 'addAddress'], 'each change once; the dump is not at debug');
  t.ok(recs.every((r) => r.level === 20 && r.component === 'kernel' && typeof r.ms === 'number'));
  t.match(recs[2].msg, /^kernel createVeth .*"name":"v0".*"master":"br0".*"ns":"\/x\/ns1"/, 'with its arguments');
  t.match(recs[5], { msg: /addAddress nosuch 10\.0\.0\.3\/24 \/x\/ns1 failed$/, err: { code: 'ENODEV' } }, 'a failed step with its error');
  const tr = capture('json', 'trace');
  await loggedKernel(k, tr.log).links();
  t.match(tr.records(), [{ level: 10, op: 'links' }], 'reads at trace');

  const fw = capture('json', 'debug');
  const lf = loggedFirewall(new FakeFirewall(), fw.log);
  await lf.init();
  await lf.addNetwork({ id: 'a'.repeat(64), bridge: 'br0', subnet4: '10.0.0.0/24', masquerade: true, icc: true, internal: false });
  await lf.restore([], []);
  t.same(fw.records().map((r) => r.op), ['init', 'addNetwork', 'restore']);
  t.match(fw.records()[1].msg, /firewall addNetwork .*"bridge":"br0"/);
  t.equal(fw.records()[2].msg, 'firewall restore 0 networks, 0 port maps', 'a restore summarised');
  t.equal(typeof lf.layout, 'string', 'properties pass through');

  // synchronous methods too
  const s = capture('json', 'debug');
  const obj = logged({ n: 1, bump(x: number) { return this.n + x; } }, s.log, { component: 'x' });
  t.equal(obj.bump(2), 3, 'this is the target');
  t.match(s.records(), [{ op: 'bump', msg: 'x bump 2' }]);
});

t.test('wrapped errors say each thing once', async (t) => {
  const errno = (code: string, message = code) => Object.assign(new Error(message), { code });
  const what = 'create veth lv1 (peer eth0 in /run/lnetd/netns/c1)';
  t.equal(wrap(what, errno('EINVAL')).message, `${what}: EINVAL`, 'a bare errno');
  t.equal(wrap(what, wrap(what, errno('EINVAL'))).message, `${what}: EINVAL`, 'the same context twice');
  const two = 'create netns /x: set lo up';
  t.equal(wrap(two, wrap(two, errno('EBUSY'))).message, `${two}: EBUSY`, 'the same two-part context twice');
  t.equal(wrap(what, errno('EINVAL', 'EINVAL: EINVAL')).message, `${what}: EINVAL`, 'a message repeating its code');
  t.equal(wrap('join endpoint web', wrap(what, errno('EINVAL'))).message, `join endpoint web: ${what}: EINVAL`, 'nested contexts kept, the code once');
  t.equal(wrap('mount netns /x', errno('EINVAL', 'mount: Invalid argument')).message, 'mount netns /x: EINVAL (mount: Invalid argument)', 'the code added where the text lacks it');
  t.equal(wrap(what, errno('EINVAL', 'Request rejected: EINVAL')).message, `${what}: Request rejected: EINVAL`, 'the code not repeated');
  t.equal((wrap(what, errno('EINVAL')) as NodeJS.ErrnoException).code, 'EINVAL', 'code kept');
  // in the log: pino's default err serializer appended the cause's text to the message
  const cap = capture('json');
  cap.log.error({ err: wrap('join endpoint web', wrap(what, errno('EINVAL'))) }, 'request failed');
  const logged = cap.records()[0]?.err;
  t.equal(logged?.message, `join endpoint web: ${what}: EINVAL`, 'the logged message is the error\'s, once');
  t.equal(logged?.cause?.cause?.code, 'EINVAL', 'the causes kept whole under err.cause');
  const j = capture('journal');
  j.log.error({ err: Object.assign(new Error('join failed', { cause: new Error('the bridge is gone') })) }, 'x');
  t.match(j.lines, ['<3>ERROR x err="join failed"', /^<3>    at /], 'frames');
  t.ok(j.lines.includes('<3>    caused by: the bridge is gone'), 'a cause the message does not carry, below it');
  // the whole path: the fake kernel wraps like the real one, the bridge driver adds its context
  const p = await new InProc().start();
  t.teardown(() => p.close());
  const net = await p.req('POST', '/networks', { name: 'w', network_type: 'bridge', options: {} });
  const ep = await p.req('POST', `/networks/${net.json}/endpoints`, { name: 'e', exposed_ports: [], port_mapping: [] });
  p.kernel.failNext('createVeth', 'EINVAL');
  const r = await p.req('POST', `/networks/${net.json}/endpoints/${ep.json}/containers`, { container_id: 'c1' });
  t.equal(r.status, 500);
  const segments = String(r.json.message).split(': ');
  t.equal(segments.filter((s) => s === 'EINVAL').length, 1, `EINVAL once in "${r.json.message}"`);
  t.equal(new Set(segments).size, segments.length, 'no segment twice');
});
