// The resolver over real sockets on loopback (no root): UDP and TCP, bad
// input of every kind, strangers, the per-source bucket, forwarding to an
// upstream the test runs (and SERVFAIL in time when it is silent), the
// upstream file re-read on change; and the feed: names follow a join and a
// leave in the commit's step.

import t from 'tap';
import dgram from 'node:dgram';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket, { type Packet } from 'dns-packet';
import { Resolver } from '../../daemon/dns/resolver.js';
import type { DnsFirewall } from '../../daemon/dns/nft.js';
import { startDns } from '../../daemon/dns/index.js';
import { InProc, quiet } from '../lib/inproc.js';

class FakeDnsFirewall implements DnsFirewall {
  gateways: string[] = [];
  async apply(gateways: string[]): Promise<void> { this.gateways = [...gateways].sort(); }
  reset(): void { this.gateways = []; }
}

const dir = mkdtempSync(join(tmpdir(), 'lnetd-dns-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const q = (name: string, type = 'A', id = 7) => dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: type as 'A', name }] });

function udpAsk(port: number, msg: Buffer, from = '127.0.0.1', ms = 400): Promise<Packet & { rcode?: string; flag_tc?: boolean } | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => { s.close(); resolve(undefined); }, ms);
    s.on('message', (m) => { clearTimeout(timer); s.close(); resolve(dnsPacket.decode(m) as never); });
    s.bind({ address: from, port: 0 }, () => s.send(msg, port, '127.0.0.1'));
  });
}

function tcpAsk(port: number, msgs: Buffer[], raw?: Buffer): Promise<Packet[]> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const out: Packet[] = [];
    let buf = Buffer.alloc(0);
    s.on('connect', () => {
      for (const m of msgs) { const l = Buffer.alloc(2); l.writeUInt16BE(m.length); s.write(Buffer.concat([l, m])); }
      if (raw) s.write(raw);
    });
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= buf.readUInt16BE(0) + 2) {
        out.push(dnsPacket.decode(buf.subarray(2, buf.readUInt16BE(0) + 2)));
        buf = buf.subarray(buf.readUInt16BE(0) + 2);
      }
      if (out.length === msgs.length) s.destroy();
    });
    s.on('close', () => resolve(out));
    s.on('error', () => undefined);
    setTimeout(() => s.destroy(), 1500);
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** An upstream on 127.0.0.3: answers every A query with 192.0.2.1 (UDP and TCP), or stays silent. */
async function upstream(port: number, silent = false) {
  let seen = 0;
  const answer = (m: Buffer) => {
    const p = dnsPacket.decode(m);
    return dnsPacket.encode({ type: 'response', id: p.id, flags: dnsPacket.RECURSION_AVAILABLE, questions: p.questions, answers: [{ type: 'A', name: p.questions![0]!.name, ttl: 60, data: '192.0.2.1' }] });
  };
  const u = dgram.createSocket('udp4');
  u.on('message', (m, r) => { seen++; if (!silent) u.send(answer(m), r.port, r.address); });
  await new Promise<void>((r) => u.bind(port, '127.0.0.3', r));
  const tcp = net.createServer((s) => s.on('data', (d: Buffer) => {
    seen++;
    const a = answer(d.subarray(2));
    const l = Buffer.alloc(2); l.writeUInt16BE(a.length);
    s.end(Buffer.concat([l, a]));
  }));
  await new Promise<void>((r) => tcp.listen(port, '127.0.0.3', r));
  let open = true;
  return { get seen() { return seen; }, close: () => { if (open) { open = false; u.close(); tcp.close(); } } };
}

t.test('over UDP and TCP; bad input; strangers; flood bucket; forwarding', async (t) => {
  const port = await freePort();
  const upPort = await freePort();
  const resolvConf = join(dir, 'resolv.conf');
  writeFileSync(resolvConf, 'nameserver 127.0.0.3\n');
  const fw = new FakeDnsFirewall();
  const r = new Resolver({ port, resolvConf, ratePerSource: 100, forward: { tryMs: 200, budgetMs: 450, maxInflight: 16, maxPerAsker: 8, port: upPort } }, fw, quiet);
  r.table.setNetwork({ id: 'lo', name: 'lo', enabled: true, internal: false, gateway4: '127.0.0.1', subnets: ['127.0.0.0/30'] });
  r.table.setEndpoint({ id: 'e1', networkId: 'lo', containerId: 'c1', names: ['me'], v4: '127.0.0.1' });
  r.table.setEndpoint({ id: 'e2', networkId: 'lo', containerId: 'c2', names: ['peer', 'svc'], v4: '127.0.0.5' });
  r.table.setContainer('c1', { endpoints: ['e1'], dns: [] });
  await r.start();
  t.teardown(() => r.stop());
  t.same(fw.gateways, ['127.0.0.1'], 'the redirect is installed for the gateway');
  t.ok(r.listening('lo'));

  const a = await udpAsk(port, q('peer'));
  t.same(a?.answers?.map((x) => (x as { data?: unknown }).data), ['127.0.0.5']);
  t.equal(a?.id, 7);
  const [t1, t2] = await tcpAsk(port, [q('peer', 'A', 1), q('me', 'A', 2)]);
  t.same([t1?.id, t2?.id].sort(), [1, 2], 'two pipelined TCP queries both answered');

  t.equal(await udpAsk(port, Buffer.from([1, 2, 3])), undefined, 'a 3-byte datagram: nothing back');
  const junk = Buffer.concat([q('peer').subarray(0, 12), Buffer.from([0x3f, 0x41])]);
  t.equal((await udpAsk(port, junk))?.rcode, 'FORMERR', 'a truncated question: FORMERR, 12 bytes');
  const hugeLen = Buffer.from([0xff, 0xff, 0, 1, 2]);
  t.same(await tcpAsk(port, [], hugeLen), [], 'a 65535-byte promise with 3 bytes behind it: nothing, no crash');
  t.same(await tcpAsk(port, [], Buffer.from([0, 3, 1, 2, 3])), [], 'a length below a header: connection closed');
  t.same((await udpAsk(port, q('peer')))?.answers?.map((x) => (x as { data?: unknown }).data), ['127.0.0.5'], 'still answering');
  t.equal(await udpAsk(port, q('peer'), '127.0.0.2'), undefined, 'a stranger gets nothing (no open resolver)');

  // forwarding
  const up = await upstream(upPort);
  t.teardown(() => up.close());
  const f = await udpAsk(port, q('www.example.com'), '127.0.0.1', 1000);
  t.same(f?.answers?.map((x) => (x as { data?: unknown }).data), ['192.0.2.1'], 'forwarded over UDP');
  const [ft] = await tcpAsk(port, [q('www.example.com', 'A', 9)]);
  t.equal(ft?.id, 9, 'forwarded over TCP with the client\'s id');
  t.same(ft?.answers?.map((x) => (x as { data?: unknown }).data), ['192.0.2.1']);
  up.close();
  const silent = await upstream(upPort, true);
  t.teardown(() => silent.close());
  const t0 = Date.now();
  const sf = await udpAsk(port, q('slow.example.com'), '127.0.0.1', 2000);
  t.equal(sf?.rcode, 'SERVFAIL', 'a silent upstream: SERVFAIL, not a hang');
  t.ok(Date.now() - t0 < 1500, `within the budget (${Date.now() - t0} ms)`);

  // flood from one source: the bucket (100/s here) drops the excess; strangers never counted
  const before = r.stats().ratelimited;
  const s = dgram.createSocket('udp4');
  let got = 0;
  s.on('message', () => got++);
  await new Promise<void>((res) => s.bind(0, '127.0.0.1', res));
  for (let i = 0; i < 400; i++) s.send(q('peer', 'A', i), port, '127.0.0.1');
  await new Promise((res) => setTimeout(res, 300));
  s.close();
  t.ok(got <= 140 && got >= 50, `about a second's worth answered (${got} of 400)`);
  t.ok(r.stats().ratelimited - before >= 200);
});

t.test('the upstream file is re-read when it changes', async (t) => {
  const path = join(dir, 'watch.conf');
  writeFileSync(path, 'nameserver 10.0.0.1\n');
  const r = new Resolver({ port: await freePort(), resolvConf: path, ratePerSource: 100 }, new FakeDnsFirewall(), quiet);
  await r.start();
  t.teardown(() => r.stop());
  t.same(r.upstreams.current.nameservers, ['10.0.0.1']);
  await new Promise((res) => setTimeout(res, 20));
  writeFileSync(path, 'nameserver 10.0.0.2\nnameserver 10.0.0.3\n');
  for (let i = 0; i < 50 && r.upstreams.current.nameservers[0] !== '10.0.0.2'; i++) await new Promise((res) => setTimeout(res, 20));
  t.same(r.upstreams.current.nameservers, ['10.0.0.2', '10.0.0.3']);
});

t.test('the feed: names appear with the join and go with the leave, in the commit\'s step', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  const fw = new FakeDnsFirewall();
  const r = await startDns(p.c, { port: await freePort(), resolvConf: join(dir, 'none.conf'), ratePerSource: 100 }, fw, quiet);
  t.teardown(() => r.stop());
  const netId = (await p.req('POST', '/networks', { name: 'dn', ipam: { subnet: '10.60.0.0/24' } })).json;
  const off = (await p.req('POST', '/networks', { name: 'quiet', ipam: { subnet: '10.61.0.0/24' }, options: { dns_enabled: 'false' } })).json;
  t.equal((await p.req('POST', '/networks', { name: 'bad', options: { dns_enabled: 'maybe' } })).status, 400, 'a bad value names the option');
  await r.syncListeners();
  t.ok(fw.gateways.includes('10.60.0.1') && !fw.gateways.includes('10.61.0.1'), `redirect only where DNS is on: ${fw.gateways}`);
  const ep1 = (await p.req('POST', `/networks/${netId}/endpoints`, { name: 'one' })).json;
  const ep2 = (await p.req('POST', `/networks/${netId}/endpoints`, { name: 'two' })).json;
  const c1 = 'a'.repeat(64);
  const c2 = 'b'.repeat(64);
  const resolv = join(p.filesDir, 'resolv.conf');
  await p.req('POST', `/networks/${netId}/endpoints/${ep1}/containers`, { container_id: c1, host_name: 'alpha', aliases: ['api'], resolv_conf_path: resolv, dns_search: ['x.test'], dns_options: ['timeout:1'] });
  const j = await p.req('POST', `/networks/${netId}/endpoints/${ep2}/containers`, { container_id: c2, host_name: 'beta' });
  t.equal(j.status, 200);
  const asker = r.table.asker('10.60.0.3')!;
  t.ok(asker, 'the second container is known by its address');
  t.same(r.table.lookup(asker, 'alpha')?.v4, ['10.60.0.2'], 'a name is there when the join answers');
  t.same(r.table.lookup(asker, 'api')?.v4, ['10.60.0.2'], 'aliases of the join');
  t.same(r.table.lookup(asker, c1.slice(0, 12))?.v4, ['10.60.0.2'], 'the 12-character id');
  t.same(r.table.lookup(asker, 'one')?.v4, ['10.60.0.2'], 'the endpoint name');
  const { readFileSync } = await import('node:fs');
  t.equal(readFileSync(resolv, 'utf8'), '# lnetd resolver on dn; other names forwarded to nobody (no upstream)\nsearch x.test\nnameserver 10.60.0.1\noptions ndots:0 timeout:1\n');
  t.equal((await p.req('POST', `/networks/${netId}/endpoints/${ep2}/containers`, { container_id: 'c'.repeat(64), aliases: ['bad alias'] })).status, 400, 'a bad alias names the field');
  await p.req('DELETE', `/networks/${netId}/endpoints/${ep1}/containers/${c1}`);
  t.equal(r.table.lookup(asker, 'alpha'), undefined, 'gone when the leave answers');
  t.equal(r.table.asker('10.60.0.2'), undefined, 'the left container asks no more');
  await p.req('DELETE', `/networks/${netId}/endpoints/${ep2}/containers/${c2}`);
  await p.req('DELETE', `/networks/${netId}/endpoints/${ep1}`);
  await p.req('DELETE', `/networks/${netId}/endpoints/${ep2}`);
  await p.req('DELETE', `/networks/${netId}`);
  await p.req('DELETE', `/networks/${off}`);
  await r.syncListeners();
  t.notOk(fw.gateways.includes('10.60.0.1'), 'the redirect goes with the network');
  t.equal(r.table.size, 0);
});
