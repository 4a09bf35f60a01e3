// Published host ports on the real kernel: lnetd reserves each one with a
// bound socket in its network namespace. A port another process listens on
// is refused; while mapped no other process can listen on (TCP) or bind
// (UDP) it, and can after the endpoint is deleted; a restart takes the
// reservations again; and real TCP reaches the container's listener through
// the published port. All inside the daemon's throwaway namespace and one
// "upstream" namespace wired to it.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { TestDaemon } from '../lib/daemon.js';
import { connect, serve, stopAll } from '../lib/traffic.js';

const d = new TestDaemon();
const up = `${d.name}-up`;
const upPath = `/run/netns/${up}`;
t.teardown(async () => { stopAll(); spawnSync('ip', ['netns', 'del', up]); await d.cleanup(); });

const HOST_IP = '192.0.2.1';
const UP_IP = '192.0.2.2';

function sh(argv: string[]): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
}

const TRY = `const [proto,host,port]=process.argv.slice(1);
const done=(x)=>{console.log(x);process.exit(0)};
if(proto==='tcp'){const s=require('net').createServer();s.on('error',e=>done(e.code));s.listen(+port,host,()=>done('OK'))}
else{const s=require('dgram').createSocket(host.includes(':')?'udp6':'udp4');s.on('error',e=>done(e.code));s.bind(+port,host,()=>done('OK'))}`;

/** Another process in the daemon's namespace tries to take host:port: 'OK' or the error code. */
function other(proto: 'tcp' | 'udp', host: string, port: number): string {
  const r = spawnSync('nsenter', [`--net=${d.nsPath}`, process.execPath, '-e', TRY, proto, host, String(port)], { encoding: 'utf8', timeout: 10_000 });
  return (r.stdout ?? '').trim() || `exit ${r.status}: ${r.stderr}`;
}

let n = 0;
const cid = () => (++n).toString(16).padStart(4, '0').repeat(16);

t.before(async () => {
  await d.start();
  sh(['ip', 'netns', 'add', up]);
  sh(['ip', '-n', d.name, 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', up]);
  sh(['ip', '-n', d.name, 'addr', 'add', `${HOST_IP}/24`, 'dev', 'uplink']);
  sh(['ip', '-n', d.name, 'link', 'set', 'uplink', 'up']);
  sh(['ip', '-n', up, 'addr', 'add', `${UP_IP}/24`, 'dev', 'eth0']);
  sh(['ip', '-n', up, 'link', 'set', 'eth0', 'up']);
  sh(['ip', '-n', up, 'link', 'set', 'lo', 'up']);
  const r = await d.req('POST', '/networks', { name: 'pub', network_type: 'bridge', ipam: { subnet: '10.77.0.0/24' } });
  if (r.status !== 200) throw new Error(r.text);
});

t.test('a host port another process listens on is refused, and nothing changes', async (t) => {
  const holder = await serve(d.nsPath, 9095, 'other', '0.0.0.0');
  for (const host_ip of ['', '0.0.0.0', '127.0.0.1', HOST_IP]) {
    const r = await d.req('POST', '/networks/pub/endpoints', { name: 'taken', port_mapping: [{ proto: 6, port: 80, host_ip, host_port: 9095 }] });
    t.equal(r.status, 409, `${host_ip || "''"}: ${r.text}`);
    t.equal(r.json?.code, 'PORT_IN_USE');
    t.match(r.json?.message, /port_mapping\[0\]\.host_port 9095.*another process/);
  }
  t.equal((await d.req('GET', '/networks/pub/endpoints')).json.length, 0, 'no endpoint was made');
  t.match(connect(d.nsPath, '127.0.0.1', 9095), /^other /, 'the other process keeps its port');
  holder.kill('SIGKILL');
  const dyn = await d.req('POST', '/networks/pub/endpoints', { name: 'nonlocal', port_mapping: [{ proto: 6, port: 80, host_ip: '10.9.9.9', host_port: 9099 }] });
  t.equal(dyn.status, 400, 'an address the namespace does not have');
  t.equal(dyn.json?.code, 'INVALID_ADDRESS');
});

t.test('a published port is held while mapped, carries real traffic, survives a restart, and is free after delete', async (t) => {
  const e = await d.req('POST', '/networks/pub/endpoints', {
    name: 'web', exposed_ports: [{ proto: 6, port: 80 }],
    port_mapping: [{ proto: 6, port: 80, host_port: 9096 }, { proto: 17, port: 53, host_port: 9097 }],
  });
  t.equal(e.status, 200, e.text);
  const spare = await d.req('POST', '/networks/pub/endpoints', { name: 'spare', port_mapping: [{ proto: 6, port: 80, host_port: 9098 }] });
  t.equal(spare.status, 200, spare.text);
  // held from create, before any join: no other process can take them
  t.equal(other('tcp', '0.0.0.0', 9096), 'EADDRINUSE', 'tcp 0.0.0.0:9096 is held');
  t.equal(other('tcp', '127.0.0.1', 9096), 'EADDRINUSE', 'tcp 127.0.0.1:9096 too (every address is held)');
  t.equal(other('udp', '0.0.0.0', 9097), 'EADDRINUSE', 'udp 9097 is held');
  t.equal(other('tcp', '0.0.0.0', 9097), 'OK', 'tcp 9097 was not published');

  const id = cid();
  const j = await d.req('POST', `/networks/pub/endpoints/${e.json}/containers`, { container_id: id });
  t.equal(j.status, 200, j.text);
  await serve(j.json, 80, 'web');
  t.match(connect(upPath, HOST_IP, 9096), /^web /, 'TCP from upstream reaches the container through the published port');
  t.match(connect(d.nsPath, '127.0.0.1', 9096), /^web /, 'and from the host namespace via localhost');

  // restart: the reservations are taken again for the records; one taken meanwhile is reported
  t.equal(await d.stop(), 0);
  const thief = await serve(d.nsPath, 9098, 'thief', '0.0.0.0');
  await d.start();
  t.equal(other('tcp', '0.0.0.0', 9096), 'EADDRINUSE', 'held again after the restart');
  t.equal(other('udp', '0.0.0.0', 9097), 'EADDRINUSE', 'udp too');
  const stats = (await d.req('GET', '/_stats')).json;
  t.same(stats.host_ports.unreserved.map((u: { ports: string[] }) => u.ports), [['0.0.0.0:9098/tcp']], 'the port another process took meanwhile is reported');
  t.match(connect(upPath, HOST_IP, 9096), /^web /, 'traffic still flows after the restart');
  thief.kill('SIGKILL');

  t.equal((await d.req('DELETE', `/networks/pub/endpoints/${e.json}/containers/${id}`)).status, 200);
  t.equal(other('tcp', '0.0.0.0', 9096), 'EADDRINUSE', 'leave keeps the reservation: the mapping still exists');
  t.equal((await d.req('DELETE', `/networks/pub/endpoints/${e.json}`)).status, 200);
  t.equal(other('tcp', '0.0.0.0', 9096), 'OK', 'delete releases tcp');
  t.equal(other('udp', '0.0.0.0', 9097), 'OK', 'and udp');
});

t.test('host port 0: 1,000 mappings in one create, each one held', async (t) => {
  const many = Array.from({ length: 1000 }, (_, i) => ({ proto: 6, port: i + 1, host_port: 0 }));
  const r = await d.req('POST', '/networks/pub/endpoints', { name: 'many', port_mapping: many });
  t.equal(r.status, 200, r.text.slice(0, 300));
  const ports: number[] = (await d.req('GET', `/networks/pub/endpoints/${r.json}`)).json.port_mapping.map((b: { host_port: number }) => b.host_port);
  t.equal(new Set(ports).size, 1000, 'distinct host ports');
  t.equal(other('tcp', '0.0.0.0', ports[0]!), 'EADDRINUSE', 'the first is held');
  t.equal(other('tcp', '0.0.0.0', ports[999]!), 'EADDRINUSE', 'the last is held');
  t.equal((await d.req('GET', '/_stats')).json.host_ports.sockets, 1000, 'one socket per mapping (spare lost its port to the thief)');
  t.equal((await d.req('DELETE', `/networks/pub/endpoints/${r.json}`)).status, 200);
  t.equal(other('tcp', '0.0.0.0', ports[500]!), 'OK', 'released at delete');
});
