// The embedded resolver on the real kernel, with real queries from inside
// sandboxes: dig over UDP and TCP, getent through the container's own libc
// and the resolv.conf lnetd wrote (bind-mounted over /etc/resolv.conf in a
// mount namespace of the test's own). Names, ids, aliases, services with
// several backends, PTR, cross-network invisibility, internal networks, DNS
// off, forwarding to an upstream resolver the test runs in an "upstream"
// namespace it made (never the machine's resolver), the join's dns list,
// resolv.conf re-read, a host process already on 0.0.0.0:53, a flood, and a
// client querying every 50 ms across a SIGTERM restart and a kill -9.

import t from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestDaemon } from '../lib/daemon.js';
import { waitFor } from '../lib/ready.js';

t.setTimeout(240_000);

const CLIENT = fileURLToPath(new URL('./_dns-client.js', import.meta.url));
const cid = (n: number) => n.toString(16).padStart(4, '0').repeat(16);
const ip = (cidr: string) => cidr.split('/')[0]!;

function run(argv: string[], timeout = 20_000): { code: number | null; out: string; err: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout });
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

const hasDig = run(['sh', '-c', 'command -v dig']).code === 0;

if (process.getuid?.() !== 0 || !hasDig) {
  t.plan(0, process.getuid?.() !== 0 ? 'kernel tests need root' : 'dig (bind9-dnsutils) is not installed');
} else {
  const d = new TestDaemon();
  /** A counter of the daemon's resolver, from /_stats. */
  const dnsStat = async (k: 'answered' | 'ratelimited'): Promise<number> => Number((await d.req('GET', '/_stats')).json?.dns?.[k] ?? 0);
  const up = `lnetd-test-up-${d.name.slice(-8)}`;
  const children: ChildProcess[] = [];
  t.teardown(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await d.cleanup();
    spawnSync('ip', ['netns', 'del', up]);
  });
  const spawnIn = (ns: string, argv: string[]) => {
    const c = spawn('nsenter', [`--net=${ns}`, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(c);
    return c;
  };
  const dig = (sb: string, server: string, args: string[]) => run(['nsenter', `--net=${sb}`, 'dig', `@${server}`, '+tries=2', '+timeout=2', ...args]);
  const short = (sb: string, server: string, args: string[]) => dig(sb, server, ['+short', ...args]).out.trim().split('\n').filter(Boolean).sort();
  const status = (sb: string, server: string, args: string[]) => /status: (\w+)/.exec(dig(sb, server, args).out)?.[1];
  /** libc's own resolver in the sandbox, reading the resolv.conf lnetd wrote. */
  const getent = (sb: string, resolv: string, name: string) => run(['unshare', '-m', '--propagation', 'private', 'sh', '-c',
    'mount --bind "$0" /etc/resolv.conf && exec nsenter --net="$1" getent ahostsv4 "$2"', resolv, sb, name]);

  let eps: Record<string, { sb: string; ip: string; resolv: string }> = {};
  let nets: Record<string, string> = {};
  const joinOne = async (label: string, net: string, n: number, body: Record<string, unknown> = {}) => {
    const ep = (await d.req('POST', `/networks/${nets[net]}/endpoints`, { name: `ep-${label}` })).json;
    const resolv = join(d.filesDir, `resolv-${label}.conf`);
    const j = await d.req('POST', `/networks/${nets[net]}/endpoints/${ep}/containers`, { container_id: cid(n), host_name: label, resolv_conf_path: resolv, ...body });
    if (j.status !== 200) throw new Error(`join ${label}: ${j.text}`);
    const info = (await d.req('GET', `/networks/${nets[net]}/endpoints/${ep}`)).json;
    eps[label] = { sb: j.json, ip: ip(info.ipv4_address), resolv };
    return { ep, n };
  };

  t.test('setup: an upstream namespace, a squatter on 0.0.0.0:53, the daemon', async (t) => {
    // the upstream: a namespace of the test's own, linked to the daemon's by a veth pair
    t.equal(run(['ip', 'netns', 'add', up]).code, 0);
    run(['ip', 'link', 'add', 'dnsup0', 'netns', d.name, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', up]);
    run(['ip', '-n', d.name, 'addr', 'add', '10.199.0.1/29', 'dev', 'dnsup0']);
    run(['ip', '-n', d.name, 'link', 'set', 'dnsup0', 'up']);
    run(['ip', '-n', up, 'addr', 'add', '10.199.0.2/29', 'dev', 'eth0']);
    run(['ip', '-n', up, 'link', 'set', 'eth0', 'up']);
    run(['ip', '-n', up, 'link', 'set', 'lo', 'up']);
    const u = spawnIn(`/run/netns/${up}`, [process.execPath, CLIENT, 'upstream', '10.199.0.2']);
    await new Promise<void>((r) => u.stdout!.once('data', () => r()));
    // a host resolver already bound to 0.0.0.0:53 (UDP and TCP) in the daemon's namespace, answering nothing
    const squat = spawnIn(d.nsPath, [process.execPath, '-e', "const d=require('dgram').createSocket('udp4');d.bind(53,'0.0.0.0');require('net').createServer(()=>{}).listen(53,'0.0.0.0',()=>console.log('ready'))"]);
    await new Promise<void>((r) => squat.stdout!.once('data', () => r()));
    writeFileSync(d.hostResolvConf, 'nameserver 10.199.0.2\nsearch corp.example\n');
    await d.start();
    nets = {};
    for (const [name, subnet, extra] of [['n1', '10.150.0.0/24', {}], ['n2', '10.151.0.0/24', {}], ['n3', '10.152.0.0/24', { internal: true }], ['n4', '10.153.0.0/24', { options: { dns_enabled: 'false' } }]] as const) {
      const r = await d.req('POST', '/networks', { name, ipam: { subnet }, ...extra });
      t.equal(r.status, 200, r.text);
      nets[name] = r.json;
    }
    eps = {};
    await joinOne('alpha', 'n1', 1, { domain_name: 'corp.test', aliases: ['api'] });
    await joinOne('beta', 'n1', 2, { dns_search: ['s.test'], dns_options: ['timeout:1'] });
    await joinOne('gamma', 'n2', 3);
    await joinOne('delta', 'n3', 4);
    await joinOne('eps', 'n3', 5);
    await joinOne('zeta', 'n4', 6, { dns: ['10.199.0.2'] });
    await joinOne('eta', 'n1', 7, { dns: ['10.199.0.2'] });
    t.match(run(['nsenter', `--net=${d.nsPath}`, 'ss', '-lnu']).out, /0\.0\.0\.0:53\b/, 'the squatter still holds 0.0.0.0:53');
  });

  t.test('names: host names, ids, endpoint names, aliases, <name>.<domain>; UDP and TCP', async (t) => {
    const { sb } = eps.beta!;
    const gw = '10.150.0.1';
    const alpha = eps.alpha!.ip;
    // (a 64-character id is one label longer than DNS allows (63): ids up to 63 characters resolve whole)
    for (const name of ['alpha', 'ALPHA', cid(1).slice(0, 12), 'ep-alpha', 'api', 'alpha.corp.test', 'api.corp.test']) {
      t.same(short(sb, gw, [name]), [alpha], `${name} over UDP`);
    }
    t.same(short(sb, gw, ['+tcp', 'api']), [alpha], 'over TCP');
    t.equal(status(sb, gw, ['nosuchname']), 'NXDOMAIN', 'unknown single label: NXDOMAIN');
    t.equal(status(sb, gw, ['nosuch.corp.test']), 'NXDOMAIN', 'unknown name in a container\'s domain: NXDOMAIN');
    t.equal(status(sb, gw, ['alpha', 'AAAA']), 'NOERROR', 'AAAA of an IPv4-only name: NODATA');
    t.same(short(sb, gw, ['-x', alpha]), ['alpha.corp.test.'], 'PTR');
    t.equal(status(sb, gw, ['-x', '10.150.0.200']), 'NXDOMAIN', 'PTR of an unassigned address in our subnet');
    // libc through the written resolv.conf
    const rc = readFileSync(eps.beta!.resolv, 'utf8');
    t.match(rc, /^nameserver 10\.150\.0\.1$/m);
    t.match(rc, /^search s\.test$/m);
    t.match(rc, /^options ndots:0 timeout:1$/m);
    t.match(readFileSync(eps.alpha!.resolv, 'utf8'), /^search corp\.test$/m, 'the domain is the search list when none is given');
    const g = getent(sb, eps.beta!.resolv, 'alpha');
    t.equal(g.code, 0, g.err);
    t.match(g.out, new RegExp(`^${alpha.replace(/\./g, '\\.')}\\s`, 'm'), 'getent ahostsv4 alpha');
    t.match(getent(eps.alpha!.sb, eps.alpha!.resolv, 'beta').out, new RegExp(eps.beta!.ip.replace(/\./g, '\\.')), 'search + ndots:0 from the other side');
  });

  t.test('visible only on shared networks; internal networks resolve but never forward; DNS off', async (t) => {
    t.equal(status(eps.beta!.sb, '10.150.0.1', ['gamma']), 'NXDOMAIN', 'n2\'s container is invisible from n1');
    t.equal(status(eps.gamma!.sb, '10.151.0.1', ['alpha']), 'NXDOMAIN', 'and back');
    t.same(short(eps.gamma!.sb, '10.151.0.1', ['gamma']), [eps.gamma!.ip]);
    t.equal(status(eps.gamma!.sb, '10.150.0.1', ['alpha']), 'NXDOMAIN', 'asking n1\'s gateway from n2 still answers in n2\'s scope');
    t.same(short(eps.delta!.sb, '10.152.0.1', ['eps']), [eps.eps!.ip], 'internal network: names resolve');
    t.equal(status(eps.delta!.sb, '10.152.0.1', ['www.example']), 'REFUSED', 'internal network: nothing forwarded');
    t.notMatch(readFileSync(eps.zeta!.resolv, 'utf8'), /10\.153\.0\.1/, 'DNS off: resolv.conf does not name the gateway');
    t.match(readFileSync(eps.zeta!.resolv, 'utf8'), /^nameserver 10\.199\.0\.2$/m, 'DNS off: the join\'s dns');
    t.notOk(dig(eps.zeta!.sb, '10.153.0.1', ['zeta']).out.includes('status: NOERROR'), 'DNS off: nothing answers on the gateway');
  });

  t.test('a service with several backends: every backend appears, order shuffled', async (t) => {
    const svc = (await d.req('POST', '/services', { name: 'web', network_name: 'n1' })).json;
    const b = await d.req('POST', `/services/${svc}/backend`, { container_id: cid(8), host_name: 'w1' });
    t.equal(b.status, 200, b.text);
    const one = ip((await d.req('GET', `/services/${svc}`)).json.ipv4_address);
    await joinOne('w2', 'n1', 9, { aliases: ['web'] });
    await joinOne('w3', 'n1', 10, { aliases: ['web'] });
    const want = [one, eps.w2!.ip, eps.w3!.ip].sort();
    const firsts = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const r = dig(eps.beta!.sb, '10.150.0.1', ['+short', 'web']).out.trim().split('\n');
      t.same([...r].sort(), want);
      firsts.add(r[0]!);
    }
    t.ok(firsts.size >= 2, `more than one backend first (${[...firsts].join(', ')})`);
  });

  t.test('forwarding: to the host\'s upstream, the join\'s dns, re-read on change; SERVFAIL, never a hang', async (t) => {
    const { sb } = eps.beta!;
    t.same(short(sb, '10.150.0.1', ['www.example']), ['198.51.100.7'], 'forwarded over UDP');
    t.same(short(sb, '10.150.0.1', ['+tcp', 'www.example']), ['198.51.100.7'], 'forwarded over TCP');
    t.equal(status(sb, '10.150.0.1', ['nx.other']), 'NXDOMAIN', 'the upstream\'s NXDOMAIN comes through');
    writeFileSync(d.hostResolvConf, 'nameserver 10.199.0.5\n');
    let s: string | undefined;
    for (let i = 0; i < 40 && s !== 'SERVFAIL'; i++) { await new Promise((r) => setTimeout(r, 100)); s = status(sb, '10.150.0.1', ['www.example']); }
    t.equal(s, 'SERVFAIL', 'the host\'s resolv.conf was re-read: a dead upstream, SERVFAIL in time');
    t.same(short(eps.eta!.sb, '10.150.0.1', ['www.example']), ['198.51.100.7'], 'the join\'s dns list is that container\'s upstream');
    writeFileSync(d.hostResolvConf, 'nameserver 10.199.0.2\n');
  });

  t.test('records change in the join\'s and the leave\'s step', async (t) => {
    const ep = (await d.req('POST', `/networks/${nets.n1}/endpoints`, { name: 'late' })).json;
    const j = await d.req('POST', `/networks/${nets.n1}/endpoints/${ep}/containers`, { container_id: cid(11), host_name: 'late' });
    t.equal(j.status, 200);
    t.equal(short(eps.beta!.sb, '10.150.0.1', ['+tries=1', 'late']).length, 1, 'the first query after the join\'s answer sees it');
    await d.req('DELETE', `/networks/${nets.n1}/endpoints/${ep}/containers/${cid(11)}`);
    t.equal(status(eps.beta!.sb, '10.150.0.1', ['+tries=1', 'late']), 'NXDOMAIN', 'the first query after the leave\'s answer does not');
  });

  t.test('a flood of 10,000 q/s from one container: the others are answered, the daemon stays up', async (t) => {
    const limited0 = await dnsStat('ratelimited');
    const f = spawnIn(eps.alpha!.sb, [process.execPath, CLIENT, 'flood', '10.150.0.1', 'beta', '10000', '3']);
    let out = '';
    f.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
    // the flood is on once the resolver starts refusing it (its rate limit)
    await waitFor('the flood reaches the resolver\'s rate limit', async () => (await dnsStat('ratelimited')) > limited0);
    let ok = 0;
    for (let i = 0; i < 10; i++) if (short(eps.eta!.sb, '10.150.0.1', ['alpha']).length === 1) ok++;
    await new Promise((r) => f.once('exit', r));
    const fl = JSON.parse(out);
    t.comment(`flood: ${fl.sent} sent, ${fl.answered} answered; another container: ${ok}/10 answered meanwhile`);
    t.equal(ok, 10, 'every query of another container answered during the flood');
    t.ok(fl.sent >= 20_000, 'the flood really ran');
    t.equal((await d.req('GET', '/_ping')).status, 200);
  });

  t.test('a client querying every 50 ms across a restart and across a kill -9 loses nothing', async (t) => {
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      const c = spawnIn(eps.beta!.sb, [process.execPath, CLIENT, 'every', '10.150.0.1', 'alpha', '50']);
      let out = '';
      c.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
      const before = await dnsStat('answered');
      await waitFor('the client\'s queries answered before the stop', async () => (await dnsStat('answered')) >= before + 5);
      const down = Date.now();
      await d.stop(signal);
      await d.start();
      const back = Date.now() - down;
      t.same(short(eps.beta!.sb, '10.150.0.1', ['alpha']), [eps.alpha!.ip], `resolving again once the API answers (${signal})`);
      // the restarted resolver counts from 0: beyond dig's one answer, the client's own
      await waitFor('the client\'s queries answered after the start', async () => (await dnsStat('answered')) >= 6);
      c.stdin!.end();
      await new Promise((r) => c.once('exit', r));
      t.ok(out.trim(), 'the client finished');
      const s = JSON.parse(out);
      t.comment(`${signal} + start (API back after ${back} ms), a query every 50 ms: ${s.sent} sent, ${s.answered} answered, ${s.retried} retries, ${s.lost} lost, ${s.refused} refused, slowest answer ${s.maxMs} ms`);
      t.equal(s.lost + s.refused, 0, 'no query lost or refused: those sent while the daemon was down were answered on retry');
      t.ok(s.retried > 0, 'some needed the retry (the daemon really was down)');
    }
  });
}
