// Bad input: a clear 4xx naming the field or object, and nothing changes —
// no record, no kernel object, no address taken.

import t from 'tap';
import { readdirSync } from 'node:fs';
import { request, requireRoot, TestDaemon } from '../lib/daemon.js';

requireRoot(t);

const d = new TestDaemon();
t.teardown(() => d.cleanup());
t.before(() => d.start());

const cid = 'c0ffee'.padEnd(64, '0');

async function snapshot(): Promise<string> {
  const nets = (await d.req('GET', '/networks')).json;
  const svcs = (await d.req('GET', '/services')).json;
  const links = d.exec(['ip', '-j', 'link']).stdout;
  const addrs = d.exec(['ip', '-j', 'addr']).stdout;
  const rules = d.exec(['nft', '-j', 'list', 'ruleset']).stdout;
  return JSON.stringify({ nets, svcs, links: JSON.parse(links).map((l: any) => l.ifname), addrs, rules, ns: readdirSync(d.netnsDir).sort() });
}

interface Case { what: string; method: string; path: () => string; body?: unknown; raw?: string; status: number; code?: string; mention?: RegExp }

let net = '';
let ep = '';

t.before(async () => {
  net = (await d.req('POST', '/networks', { name: 'errnet', network_type: 'bridge', options: {}, ipam: { subnet: '10.77.0.0/29' } })).json;
  ep = (await d.req('POST', `/networks/${net}/endpoints`, { name: 'taken' })).json;
});

const cases: Case[] = [
  { what: 'malformed JSON', method: 'POST', path: () => '/networks', raw: '{"name": ', status: 400, code: 'INVALID_JSON' },
  { what: 'body is an array', method: 'POST', path: () => '/networks', body: [1], status: 400, mention: /JSON object/ },
  { what: 'missing name', method: 'POST', path: () => '/networks', body: { network_type: 'null' }, status: 400, mention: /name/ },
  { what: 'name wrong type', method: 'POST', path: () => '/networks', body: { name: 5 }, status: 400, mention: /name/ },
  { what: 'bad name chars', method: 'POST', path: () => '/networks', body: { name: 'a b;rm -rf' }, status: 400, mention: /name/ },
  { what: 'name too long', method: 'POST', path: () => '/networks', body: { name: 'a'.repeat(65) }, status: 400, mention: /name/ },
  { what: 'unknown driver', method: 'POST', path: () => '/networks', body: { name: 'x1', network_type: 'warp' }, status: 400, code: 'UNKNOWN_DRIVER', mention: /null.*host.*bridge|bridge/ },
  { what: 'options not an object', method: 'POST', path: () => '/networks', body: { name: 'x2', options: 'yes' }, status: 400, mention: /options/ },
  { what: 'bad bridge option', method: 'POST', path: () => '/networks', body: { name: 'x3', options: { 'com.docker.network.driver.mtu': 'huge' } }, status: 400, mention: /mtu/ },
  { what: 'bad subnet', method: 'POST', path: () => '/networks', body: { name: 'x4', ipam: { subnet: '10.0.0.300/24' } }, status: 400, mention: /subnet/ },
  { what: 'overlapping subnet', method: 'POST', path: () => '/networks', body: { name: 'x5', ipam: { subnet: '10.77.0.0/24' } }, status: 409, code: 'POOL_OVERLAP' },
  { what: 'ipam on null', method: 'POST', path: () => '/networks', body: { name: 'x6', network_type: 'null', ipam: { subnet: '10.9.0.0/24' } }, status: 400 },
  { what: 'taken name', method: 'POST', path: () => '/networks', body: { name: 'errnet' }, status: 409, code: 'NAME_IN_USE' },
  { what: 'unsupported filter', method: 'GET', path: () => '/networks?color=red', status: 400, code: 'UNSUPPORTED_FILTER' },
  { what: 'unknown network', method: 'GET', path: () => `/networks/${'f'.repeat(64)}`, status: 404, code: 'NETWORK_NOT_FOUND' },
  { what: 'endpoint on unknown network', method: 'POST', path: () => `/networks/${'f'.repeat(64)}/endpoints`, body: { name: 'e' }, status: 404 },
  { what: 'endpoint name taken', method: 'POST', path: () => `/networks/${net}/endpoints`, body: { name: 'taken' }, status: 409, code: 'NAME_IN_USE' },
  { what: 'bad port', method: 'POST', path: () => `/networks/${net}/endpoints`, body: { name: 'e1', exposed_ports: [{ proto: 6, port: 70000 }] }, status: 400, mention: /exposed_ports\[0\]\.port/ },
  { what: 'bad proto', method: 'POST', path: () => `/networks/${net}/endpoints`, body: { name: 'e2', exposed_ports: [{ proto: 1, port: 80 }] }, status: 400, mention: /proto/ },
  { what: 'bad host_ip', method: 'POST', path: () => `/networks/${net}/endpoints`, body: { name: 'e3', port_mapping: [{ proto: 6, port: 80, host_ip: 'x', host_port: 8080 }] }, status: 400, mention: /host_ip/ },
  { what: 'address outside subnet', method: 'POST', path: () => `/networks/${net}/endpoints`, body: { name: 'e4', ipv4_address: '10.1.1.1' }, status: 400 },
  { what: 'unknown endpoint', method: 'GET', path: () => `/networks/${net}/endpoints/${'e'.repeat(64)}`, status: 404, code: 'ENDPOINT_NOT_FOUND' },
  { what: 'join without container id', method: 'POST', path: () => `/networks/${net}/endpoints/${ep}/containers`, body: {}, status: 400, mention: /container_id/ },
  { what: 'join with path container id', method: 'POST', path: () => `/networks/${net}/endpoints/${ep}/containers`, body: { container_id: '../../etc' }, status: 400, mention: /container_id/ },
  { what: 'join with relative hosts path', method: 'POST', path: () => `/networks/${net}/endpoints/${ep}/containers`, body: { container_id: cid, hosts_path: 'etc/hosts' }, status: 400, mention: /hosts_path/ },
  { what: 'join with bad dns', method: 'POST', path: () => `/networks/${net}/endpoints/${ep}/containers`, body: { container_id: cid, dns: ['nope'] }, status: 400, mention: /dns/ },
  { what: 'leave not joined', method: 'DELETE', path: () => `/networks/${net}/endpoints/${ep}/containers/${cid}`, status: 404 },
  { what: 'publish on unknown network', method: 'POST', path: () => '/services', body: { name: 's', network_name: 'nope' }, status: 404 },
  { what: 'publish without network', method: 'POST', path: () => '/services', body: { name: 's' }, status: 400, mention: /network_name/ },
  { what: 'unknown service', method: 'GET', path: () => `/services/${'a'.repeat(64)}`, status: 404, code: 'SERVICE_NOT_FOUND' },
  { what: 'unknown route', method: 'GET', path: () => '/nope', status: 404 },
];

t.test('each bad request: 4xx, JSON message and code, nothing changed', async (t) => {
  for (const c of cases) {
    const before = await snapshot();
    const r = c.raw !== undefined ? await request(d.socket, c.method, c.path(), undefined, c.raw) : await d.req(c.method, c.path(), c.body);
    t.equal(r.status, c.status, `${c.what}: status (${r.text})`);
    t.type(r.json?.message, 'string', `${c.what}: message`);
    t.type(r.json?.code, 'string', `${c.what}: code`);
    if (c.code) t.equal(r.json?.code, c.code, `${c.what}: code`);
    if (c.mention) t.match(r.json?.message, c.mention, `${c.what}: names the field`);
    t.equal(await snapshot(), before, `${c.what}: nothing changed`);
  }
});

t.test('body over 1 MiB is 413', async (t) => {
  const r = await request(d.socket, 'POST', '/networks', undefined, JSON.stringify({ name: 'big', pad: 'x'.repeat(1_100_000) }));
  t.equal(r.status, 413);
  t.equal(r.json.code, 'BODY_TOO_LARGE');
});

t.test('exhausting a subnet is a 4xx naming it, and takes nothing', async (t) => {
  // 10.77.0.0/29: gateway .1, 'taken' holds .2, so .3-.6 are left.
  for (let i = 0; i < 4; i++) t.equal((await d.req('POST', `/networks/${net}/endpoints`, { name: `fill${i}` })).status, 200);
  const before = await snapshot();
  const r = await d.req('POST', `/networks/${net}/endpoints`, { name: 'one-too-many' });
  t.ok(r.status >= 400 && r.status < 500, `4xx (${r.status})`);
  t.match(r.json.message, /10\.77\.0\.0\/29/);
  t.equal(await snapshot(), before);
});
