// The log of a real daemon (issue 9 item 15), in a throwaway namespace: its
// stdout is a file posing as systemd's journal stream (JOURNAL_STREAM names
// its device and inode, as systemd does), so `auto` picks the journal format
// and every line carries its sd-daemon priority; with --log-level debug each
// kernel and firewall step is there; a refused request is a warning with its
// code and query string; every change says what it changed, and the
// addresses a join logs are the ones that answer real traffic.

import t from 'tap';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestDaemon } from '../lib/daemon.js';
import { ping } from '../lib/traffic.js';

t.setTimeout(120_000);

t.test('under journald: priorities, kernel steps at debug, refusals with their code, changes with what they changed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lnetd-logs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'journal');
  const fd = openSync(file, 'a');
  t.teardown(() => closeSync(fd));
  const st = fstatSync(fd, { bigint: true });
  const d = new TestDaemon([], { JOURNAL_STREAM: `${st.dev}:${st.ino}` });
  t.teardown(() => d.cleanup());
  d.stdoutFd = fd;
  await d.start(['--log-level', 'debug']);
  const lines = () => readFileSync(file, 'utf8').split('\n').filter(Boolean);

  const bad = await d.req('POST', '/networks?trace=1', { name: 'bad', ipam: { subnet: '10.193.0.0/33' } });
  t.equal(bad.status, 400);
  const net = await d.ok('POST', '/networks', { name: 'logs', ipam: { subnet: '10.193.0.0/24' }, options: { bridge_name: 'lnlogs0' } });
  const keys: string[] = [];
  const addrs: string[] = [];
  for (const name of ['c1', 'c2']) {
    const ep = await d.ok('POST', `/networks/${net}/endpoints`, { name, exposed_ports: [], port_mapping: [] });
    keys.push(await d.ok('POST', `/networks/${net}/endpoints/${ep}/containers`, { container_id: `logs-${name}` }));
    addrs.push((await d.ok('GET', `/networks/${net}/endpoints/${ep}`)).ipv4_address.split('/')[0]);
  }
  t.ok(ping(keys[0]!, addrs[1]!), 'c1 reaches c2 over the bridge');

  const all = lines();
  t.ok(all.length > 10, `${all.length} lines`);
  const unprefixed = all.filter((l) => !/^<[0-7]>/.test(l));
  t.same(unprefixed, [], 'every line has a priority prefix');
  t.notOk(all.some((l) => l.startsWith('<') && l.includes('"level":')), 'text, not JSON, behind the prefix');

  const refused = all.find((l) => l.includes('/networks?trace=1'));
  t.match(refused, /^<4>WARN  request refused api=seed method=POST url="\/networks\?trace=1" status=400 .*code=INVALID_SUBNET error=".*10\.193\.0\.0\/33/, 'the 400 at warning, with its code, message and query string');

  t.match(all.find((l) => l.includes('change=network.create') && l.includes('network=logs')), /^<6>INFO  network logs created: bridge, subnets 10\.193\.0\.0\/24 bridge lnlogs0 .*gateways=\["10\.193\.0\.1"\]/, 'the network: subnet, gateway, bridge');
  for (const [i, name] of ['c1', 'c2'].entries()) {
    const joined = all.find((l) => l.includes('change=container.join') && l.includes(`endpoint=${name} `));
    t.match(joined, new RegExp(`^<6>INFO  container logs-${name} joined logs \\(endpoint ${name}\\): eth0 in ${keys[i]}, addresses ${addrs[i]!.replace(/\./g, '\\.')}/24`), `${name}'s join: interface, sandbox key and the address that answered`);
    t.match(joined, /host_veth=lv[0-9a-f]{11}/);
    t.ok(all.some((l) => l.includes('change=endpoint.create') && l.includes(`endpoint=${name} `) && l.includes(addrs[i]!)), `${name}'s endpoint create with its address`);
  }

  const debug = all.filter((l) => l.startsWith('<7>DEBUG '));
  for (const step of ['kernel ensureBridge lnlogs0', 'kernel createNetns', 'kernel createVeth', 'firewall addNetwork']) {
    t.ok(debug.some((l) => l.includes(step)), `debug: ${step}`);
  }
  t.match(debug.find((l) => l.includes('kernel createVeth')), /"master":"lnlogs0".*"ns":"[^"]+".*"addresses":\["[0-9.]+\/\d+"\].* component=kernel op=createVeth ms=/, 'a step with its arguments (the pair, and its setup inside: one kernel job) and duration');
  t.notOk(all.some((l) => l.includes('kernel links')), 'reads only at trace');

  // a leave and the deletes, then a clean stop
  await d.ok('DELETE', `/networks/${net}/endpoints/${(await d.ok('GET', `/networks/${net}/endpoints?name=c1`))[0].id}/containers/logs-c1`);
  t.ok(lines().some((l) => l.startsWith('<6>') && l.includes('change=container.leave') && l.includes(`sandbox_key=${keys[0]}`) && l.includes('interface=eth0')), 'the leave with its sandbox key and interface');
  t.equal(await d.stop(), 0);
  t.ok(lines().some((l) => l.startsWith('<6>INFO  stopping')), 'the stop line at info');
});

t.test('JOURNAL_STREAM naming another stream (a child whose stdout was redirected): JSON lines', async (t) => {
  const d = new TestDaemon([], { JOURNAL_STREAM: '1:1' });
  t.teardown(() => d.cleanup());
  await d.start();
  const bad = await d.req('DELETE', '/networks/nosuch-net?force=1');
  t.equal(bad.status, 404);
  await d.req('POST', '/networks', { name: 'x', ipam: { subnet: 'nope' } });
  const recs = () => d.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  // the line crosses a pipe after the reply: wait for it (a readiness check, bounded)
  for (let i = 0; i < 200 && !recs().some((r) => r.status === 400); i++) await new Promise((r) => setTimeout(r, 25));
  t.match(recs().find((r) => r.status === 400), { level: 40, api: 'seed', method: 'POST', url: '/networks', code: 'INVALID_SUBNET' }, 'pino JSON, the refusal at warn');
  t.notOk(recs().some((r) => r.status === 404), '404 is info: not logged at --log-level warn');
});
