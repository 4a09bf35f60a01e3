// Every route of the seed API over the daemon's unix socket, with the seed's
// shapes and status codes.

import t from 'tap';
import { existsSync } from 'node:fs';
import { requireRoot, TestDaemon } from '../lib/daemon.js';

requireRoot(t);

const HEX64 = /^[0-9a-f]{64}$/;
const cid = (n: number) => n.toString(16).padStart(2, '0').repeat(32);

const d = new TestDaemon();
t.teardown(() => d.cleanup());

t.before(() => d.start());

t.test('ping and version', async (t) => {
  const p = await d.req('GET', '/_ping');
  t.equal(p.status, 200);
  t.equal(p.text, 'OK');
  t.equal((await d.req('HEAD', '/_ping')).status, 200);
  const v = await d.req('GET', '/version');
  t.equal(v.status, 200);
  t.match(v.json, { version: String, api_version: String, node_version: process.version });
});

t.test('predefined networks', async (t) => {
  const r = await d.req('GET', '/networks');
  t.equal(r.status, 200);
  const byName = Object.fromEntries(r.json.map((n: any) => [n.name, n]));
  t.same(Object.keys(byName).sort(), ['bridge', 'host', 'none']);
  t.equal(byName.none.type, 'null');
  t.equal(byName.host.type, 'host');
  t.equal(byName.bridge.type, 'bridge');
  for (const n of r.json) {
    t.match(n.id, HEX64);
    t.same(n.endpoints, []);
    const del = await d.req('DELETE', `/networks/${n.id}`);
    t.equal(del.status, 403, `${n.name} can't be deleted`);
    t.equal(del.json.code, 'PREDEFINED_NETWORK');
  }
});

t.test('network create, get, list filters, delete', async (t) => {
  const c = await d.req('POST', '/networks', { name: 'foo', network_type: '', options: {} });
  t.equal(c.status, 200);
  t.match(c.json, HEX64, 'the new id as a JSON string');
  t.match(c.headers['content-type'], /application\/json/);
  const id = c.json as string;
  const g = await d.req('GET', `/networks/${id}`);
  t.match(g.json, { name: 'foo', id, type: 'bridge', endpoints: [] });
  t.equal((await d.req('GET', '/networks?name=foo')).json.length, 1);
  t.equal((await d.req('GET', `/networks?partial-id=${id.slice(0, 6)}`)).json[0].id, id);
  t.same((await d.req('GET', '/networks?name=nope')).json, []);
  const dup = await d.req('POST', '/networks', { name: 'foo', network_type: 'null' });
  t.equal(dup.status, 409);
  t.equal(dup.json.code, 'NAME_IN_USE');
  t.equal((await d.req('DELETE', `/networks/${id}`)).status, 200);
  t.equal((await d.req('GET', `/networks/${id}`)).status, 404);
  t.equal((await d.req('DELETE', `/networks/${id}`)).status, 404);
});

t.test('endpoints: create, get, list, join on null, leave, delete', async (t) => {
  const net = (await d.req('POST', '/networks', { name: 'nullnet', network_type: 'null', options: {} })).json;
  const e = await d.req('POST', `/networks/${net}/endpoints`, { name: 'baz', exposed_ports: [{ proto: 6, port: 8080 }], port_mapping: null });
  t.equal(e.status, 200);
  t.match(e.json, HEX64);
  const ep = e.json as string;
  t.match((await d.req('GET', `/networks/${net}/endpoints/${ep}`)).json, { id: ep, name: 'baz', network: 'nullnet', exposed_ports: [{ proto: 6, port: 8080 }] });
  const list = await d.req('GET', `/networks/${net}/endpoints`);
  t.same(list.json.map((x: any) => [x.id, x.name, x.network]), [[ep, 'baz', 'nullnet']]);
  t.equal((await d.req('GET', `/networks/${net}/endpoints?name=baz`)).json.length, 1);
  t.equal((await d.req('GET', `/networks/${net}/endpoints?partial-id=${ep.slice(0, 5)}`)).json.length, 1);
  t.equal((await d.req('GET', `/networks/${net}`)).json.endpoints[0].id, ep);

  const j = await d.req('POST', `/networks/${net}/endpoints/${ep}/containers`, { container_id: cid(1), host_name: null, domain_name: null, hosts_path: null, resolv_conf_path: null, dns: null, extra_hosts: null, parent_updates: null, use_default_sandbox: false });
  t.equal(j.status, 200);
  t.equal(j.json, `${d.netnsDir}/${cid(1)}`, 'the sandbox path as a JSON string');
  t.ok(existsSync(j.json), 'sandbox file exists');
  const links = JSON.parse(d.exec(['nsenter', `--net=${j.json}`, 'ip', '-j', 'link']).stdout);
  t.same(links.map((l: any) => l.ifname), ['lo'], 'a null sandbox holds only lo');
  t.ok(links[0].flags.includes('UP'), 'lo is up');

  t.equal((await d.req('DELETE', `/networks/${net}/endpoints/${ep}`)).status, 409, 'joined endpoint cannot be deleted');
  t.equal((await d.req('DELETE', `/networks/${net}`)).status, 409, 'network with endpoints cannot be deleted');
  t.equal((await d.req('DELETE', `/networks/${net}/endpoints/${ep}/containers/${cid(2)}`)).status, 404);
  t.equal((await d.req('DELETE', `/networks/${net}/endpoints/${ep}/containers/${cid(1)}`)).status, 200);
  t.notOk(existsSync(j.json), 'sandbox removed with its last endpoint');
  t.equal((await d.req('DELETE', `/networks/${net}/endpoints/${ep}`)).status, 200);
  t.equal((await d.req('GET', `/networks/${net}/endpoints/${ep}`)).status, 404);
  t.equal((await d.req('DELETE', `/networks/${net}`)).status, 200);
});

t.test('host network and use_default_sandbox answer the host namespace', async (t) => {
  const host = (await d.req('GET', '/networks?name=host')).json[0].id;
  const ep = (await d.req('POST', `/networks/${host}/endpoints`, { name: 'h1' })).json;
  const j = await d.req('POST', `/networks/${host}/endpoints/${ep}/containers`, { container_id: cid(3) });
  t.equal(j.json, `${d.netnsDir}/default`);
  const inside = d.exec(['nsenter', `--net=${j.json}`, 'readlink', '/proc/self/ns/net']).stdout;
  const daemonNs = d.exec(['readlink', '/proc/self/ns/net']).stdout;
  t.equal(inside, daemonNs, 'the default sandbox is the daemon namespace');
  t.equal((await d.req('DELETE', `/networks/${host}/endpoints/${ep}/containers/${cid(3)}`)).status, 200);
  t.ok(existsSync(j.json), 'the shared default sandbox stays');
  t.equal((await d.req('DELETE', `/networks/${host}/endpoints/${ep}`)).status, 200);

  const none = (await d.req('GET', '/networks?name=none')).json[0].id;
  const ep2 = (await d.req('POST', `/networks/${none}/endpoints`, { name: 'n1' })).json;
  const j2 = await d.req('POST', `/networks/${none}/endpoints/${ep2}/containers`, { container_id: cid(4), use_default_sandbox: true });
  t.equal(j2.json, `${d.netnsDir}/default`);
  await d.req('DELETE', `/networks/${none}/endpoints/${ep2}/containers/${cid(4)}`);
  await d.req('DELETE', `/networks/${none}/endpoints/${ep2}`);
});

t.test('second join reuses the sandbox; hosts and resolv.conf are written', async (t) => {
  const a = (await d.req('POST', '/networks', { name: 'na', network_type: 'null' })).json;
  const b = (await d.req('POST', '/networks', { name: 'nb', network_type: 'null' })).json;
  const ea = (await d.req('POST', `/networks/${a}/endpoints`, { name: 'x' })).json;
  const eb = (await d.req('POST', `/networks/${b}/endpoints`, { name: 'x' })).json;
  const hosts = `${d.filesDir}/hosts`;
  const resolv = `${d.filesDir}/resolv.conf`;
  const j1 = await d.req('POST', `/networks/${a}/endpoints/${ea}/containers`, { container_id: cid(5), host_name: 'web', domain_name: 'example.test', hosts_path: hosts, resolv_conf_path: resolv, dns: ['10.0.0.53'], extra_hosts: ['db:10.1.2.3'] });
  t.equal(j1.status, 200, j1.text);
  const j2 = await d.req('POST', `/networks/${b}/endpoints/${eb}/containers`, { container_id: cid(5) });
  t.equal(j2.json, j1.json, 'same sandbox');
  const { readFileSync } = await import('node:fs');
  t.match(readFileSync(hosts, 'utf8'), /10\.1\.2\.3\tdb/);
  t.match(readFileSync(resolv, 'utf8'), /search example\.test\nnameserver 10\.0\.0\.53/);
  await d.req('DELETE', `/networks/${a}/endpoints/${ea}/containers/${cid(5)}`);
  t.ok(existsSync(j1.json), 'sandbox stays while an endpoint is joined');
  await d.req('DELETE', `/networks/${b}/endpoints/${eb}/containers/${cid(5)}`);
  t.notOk(existsSync(j1.json), 'gone with the last leave');
  for (const [n, e] of [[a, ea], [b, eb]]) {
    await d.req('DELETE', `/networks/${n}/endpoints/${e}`);
    await d.req('DELETE', `/networks/${n}`);
  }
});

t.test('services: publish, get, list, attach, backends, detach, unpublish', async (t) => {
  const foo = (await d.req('POST', '/networks', { name: 'svcnet', network_type: 'null' })).json;
  const p = await d.req('POST', '/services', { name: 'bar', network_name: 'svcnet', exposed_ports: null, port_mapping: null });
  t.equal(p.status, 200);
  const sid = p.json as string;
  t.match((await d.req('GET', `/services/${sid}`)).json, { name: 'bar', id: sid, network: 'svcnet' });
  const list = await d.req('GET', '/services');
  t.ok(list.json.some((s: any) => s.id === sid && s.network === 'svcnet'));
  t.equal((await d.req('GET', '/services?network=svcnet')).json.length, 1);
  t.equal((await d.req('GET', '/services?name=bar')).json.length, 1);
  t.equal((await d.req('GET', `/services?partial-id=${sid.slice(0, 8)}`)).json.length, 1);
  const ep = (await d.req('POST', `/networks/${foo}/endpoints`, { name: '/lonely_pasteur' })).json;
  t.ok((await d.req('GET', '/services')).json.some((s: any) => s.id === ep && s.name === '/lonely_pasteur'), 'a container endpoint is listed among services');
  const a = await d.req('POST', `/services/${sid}/backend`, { container_id: cid(6), host_name: '', domain_name: '', hosts_path: '', resolv_conf_path: '', dns: null, extra_hosts: null, parent_updates: null, use_default_sandbox: false });
  t.equal(a.status, 200, a.text);
  t.equal(a.json, `${d.netnsDir}/${cid(6)}`);
  t.same((await d.req('GET', `/services/${sid}/backend`)).json, [{ id: cid(6) }]);
  t.equal((await d.req('DELETE', `/services/${sid}`)).status, 409, 'a service with a backend cannot be unpublished');
  t.equal((await d.req('DELETE', `/services/${sid}/backend/${cid(6)}`)).status, 200);
  t.same((await d.req('GET', `/services/${sid}/backend`)).json, []);
  t.equal((await d.req('DELETE', `/services/${sid}`)).status, 200);
  t.equal((await d.req('GET', `/services/${sid}`)).status, 404);
  await d.req('DELETE', `/networks/${foo}/endpoints/${ep}`);
  await d.req('DELETE', `/networks/${foo}`);
});

t.test('labels on networks and endpoints are kept and returned (and survive a restart)', async (t) => {
  const d = new TestDaemon();
  t.teardown(() => d.cleanup());
  await d.start();
  const net = (await d.req('POST', '/networks', { name: 'lab', network_type: 'null', labels: { team: 'web', 'com.example.tier': '1' } })).json;
  const ep = (await d.req('POST', `/networks/${net}/endpoints`, { name: 'e', labels: { role: 'api' } })).json;
  t.same((await d.req('GET', `/networks/${net}`)).json.labels, { team: 'web', 'com.example.tier': '1' });
  t.same((await d.req('GET', `/networks/${net}/endpoints/${ep}`)).json.labels, { role: 'api' });
  t.same((await d.req('GET', '/networks?name=bridge')).json[0].labels, {}, 'none given: an empty map');
  const bad = await d.req('POST', '/networks', { name: 'lab2', labels: { x: { nested: 1 } } });
  t.equal(bad.status, 400);
  t.equal(bad.json.code, 'INVALID_FIELD');
  await d.stop('SIGTERM');
  await d.start();
  t.same((await d.req('GET', `/networks/${net}/endpoints/${ep}`)).json.labels, { role: 'api' }, 'kept in the store');
});
