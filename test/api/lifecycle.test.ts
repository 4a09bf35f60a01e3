// The daemon's life: restart and kill -9 keep state and kernel objects,
// SIGTERM exits 0, a second daemon on the same data dir is refused, bad
// settings stop it with a message, systemd socket activation works.

import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { lnetdArgv, refusedStart, request, requireRoot, ROOT, TestDaemon } from '../lib/daemon.js';

requireRoot(t);

const cid = 'ab'.repeat(32);

t.test('state and sandboxes survive SIGTERM and kill -9', async (t) => {
  const d = new TestDaemon();
  t.teardown(() => d.cleanup());
  await d.start();
  t.equal(statSync(d.socket).mode & 0o777, 0o660, 'socket is 0660');
  const ids = (await d.req('GET', '/networks')).json.map((n: any) => n.id).sort();
  const net = (await d.req('POST', '/networks', { name: 'keep', network_type: 'null' })).json;
  const ep = (await d.req('POST', `/networks/${net}/endpoints`, { name: 'e' })).json;
  const key = (await d.req('POST', `/networks/${net}/endpoints/${ep}/containers`, { container_id: cid })).json;
  t.equal(await d.stop('SIGTERM'), 0, 'SIGTERM exits 0');
  t.ok(existsSync(key) && d.exec(['nsenter', `--net=${key}`, 'true']).status === 0, 'sandbox stays while the daemon is down');
  await d.start();
  const after = (await d.req('GET', '/networks')).json.map((n: any) => n.id).sort();
  t.same(after, [...ids, net].sort(), 'same networks, predefined ids unchanged');
  t.equal((await d.req('GET', `/networks/${net}/endpoints/${ep}`)).json.container_id, cid);
  await d.stop('SIGKILL');
  await d.start();
  t.equal((await d.req('GET', `/networks/${net}/endpoints/${ep}`)).json.container_id, cid, 'after kill -9 too');
  t.equal((await d.req('DELETE', `/networks/${net}/endpoints/${ep}/containers/${cid}`)).status, 200);
  t.notOk(existsSync(key));
});

t.test('a second daemon on the same data dir refuses to start', async (t) => {
  const d = new TestDaemon();
  t.teardown(() => d.cleanup());
  await d.start();
  const r = spawnSync('nsenter', [`--net=${d.nsPath}`, ...lnetdArgv(['--socket', join(d.dir, 'other.sock'), '--docker-socket', join(d.dir, 'other-docker.sock'), '--data-dir', d.dataDir, '--netns-dir', d.netnsDir, '--run-dir', join(d.dir, 'other-run')])], { encoding: 'utf8', timeout: 15000 });
  t.not(r.status, 0);
  t.match(r.stderr, /in use by another lnetd|already serves this network namespace/);
  t.equal((await d.req('GET', '/_ping')).status, 200, 'the first one still serves');
});

t.test('bad settings stop the daemon with a message naming them', async (t) => {
  const r = refusedStart(['--tcp', '0.0.0.0:2375']);
  t.equal(r.status, 2);
  t.match(r.stderr, /loopback/);
  const r2 = refusedStart(['--log-level', 'chatty']);
  t.equal(r2.status, 2);
  t.match(r2.stderr, /--log-level.*chatty/);
});

t.test('systemd socket activation', async (t) => {
  const d = new TestDaemon();
  t.teardown(() => d.cleanup());
  const sock = join(d.dir, 'activated.sock');
  const proc = spawn('nsenter', [`--net=${d.nsPath}`, 'systemd-socket-activate', '-l', sock, ...lnetdArgv([
    '--socket', join(d.dir, 'unused.sock'), '--data-dir', d.dataDir, '--netns-dir', d.netnsDir, '--run-dir', d.runDir, '--dns-resolv-conf', d.hostResolvConf, '--log-level', 'warn'])], { stdio: 'ignore' });
  t.teardown(() => { if (proc.exitCode === null) proc.kill('SIGKILL'); });
  let r;
  for (let i = 0; i < 200; i++) {
    try { r = await request(sock, 'GET', '/networks'); break; } catch { await new Promise((res) => setTimeout(res, 50)); }
  }
  t.equal(r?.status, 200, 'the activated socket serves the API');
  t.equal(r?.json.length, 3);
  t.notOk(existsSync(join(d.dir, 'unused.sock')), 'no socket of its own when activated');
  proc.kill('SIGTERM');
  await new Promise((res) => proc.once('exit', res));
});

t.test('systemd socket activation of both APIs, each fd by its name', async (t) => {
  const d = new TestDaemon();
  t.teardown(() => d.cleanup());
  const [seed, docker] = [join(d.dir, 'seed.sock'), join(d.dir, 'docker-activated.sock')];
  // the Docker API's socket listed first: the names, not the order, decide
  const proc = spawn('nsenter', [`--net=${d.nsPath}`, 'systemd-socket-activate', '-l', docker, '-l', seed, '--fdname=docker:lnetd', ...lnetdArgv([
    '--socket', join(d.dir, 'unused.sock'), '--docker-socket', join(d.dir, 'unused-docker.sock'), '--data-dir', d.dataDir, '--netns-dir', d.netnsDir, '--run-dir', d.runDir, '--dns-resolv-conf', d.hostResolvConf, '--log-level', 'warn'])], { stdio: 'ignore' });
  t.teardown(() => { if (proc.exitCode === null) proc.kill('SIGKILL'); });
  let r;
  for (let i = 0; i < 200; i++) {
    try { r = await request(seed, 'GET', '/networks'); break; } catch { await new Promise((res) => setTimeout(res, 50)); }
  }
  t.equal(r?.status, 200, 'the seed API on its activated socket');
  t.equal(r?.json.length, 3, 'seed API format');
  const ping = await request(docker, 'HEAD', '/_ping');
  t.equal(ping.headers['api-version'], '1.50', 'the Docker API on its activated socket');
  t.equal((await request(docker, 'GET', '/v1.50/networks')).json[0].Name, 'none', 'Docker format');
  t.notOk(existsSync(join(d.dir, 'unused.sock')) || existsSync(join(d.dir, 'unused-docker.sock')), 'no sockets of its own when activated');
  proc.kill('SIGTERM');
  await new Promise((res) => proc.once('exit', res));
});

t.test('systemd units verify', async (t) => {
  const r = spawnSync('systemd-analyze', ['verify', join(ROOT, 'systemd/lnetd.socket'), join(ROOT, 'systemd/lnetd-docker.socket'), join(ROOT, 'systemd/lnetd.service')], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
});
