// The resolver's pure parts: the record table (visibility by shared
// network), query decisions (A/AAAA/PTR/NODATA/NXDOMAIN/forward/REFUSED),
// shuffling, truncation to the client's size, resolv.conf parsing and plans.

import t from 'tap';
import dnsPacket, { type Packet } from 'dns-packet';
import { decide, encodeWithin, errorFor, reverseAddr, udpLimit, RCODE } from '../../daemon/dns/answer.js';
import { DnsTable, type Asker } from '../../daemon/dns/table.js';
import { parseResolvConf } from '../../daemon/dns/upstream.js';
import { resolvPlan } from '../../daemon/dns/resolvconf.js';
import { endpointNames } from '../../daemon/dns/feed.js';
import { questionBytes } from '../../daemon/dns/forward.js';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from '../../store/records.js';

function table(): DnsTable {
  const tb = new DnsTable();
  tb.setNetwork({ id: 'n1', name: 'one', enabled: true, internal: false, gateway4: '10.1.0.1', subnets: ['10.1.0.0/24', 'fd00:1::/64'] });
  tb.setNetwork({ id: 'n2', name: 'two', enabled: true, internal: false, gateway4: '10.2.0.1', subnets: ['10.2.0.0/24'] });
  tb.setNetwork({ id: 'n3', name: 'three', enabled: true, internal: true, gateway4: '10.3.0.1', subnets: ['10.3.0.0/24'] });
  const ep = (id: string, net: string, ctr: string, names: string[], v4: string, v6?: string) => {
    tb.setEndpoint({ id, networkId: net, containerId: ctr, names, v4, v6 });
  };
  ep('e1', 'n1', 'a', ['web', 'svc'], '10.1.0.2', 'fd00:1::2');
  ep('e2', 'n1', 'b', ['db', 'svc'], '10.1.0.3');
  ep('e3', 'n2', 'c', ['other', 'web'], '10.2.0.2');
  ep('e4', 'n3', 'd', ['inside'], '10.3.0.2');
  ep('e5', 'n1', 'e', ['multi'], '10.1.0.4');
  ep('e6', 'n2', 'e', ['multi'], '10.2.0.4');
  tb.setContainer('a', { endpoints: ['e1'], dns: [] });
  tb.setContainer('b', { endpoints: ['e2'], dns: [], domain: 'corp.test' });
  tb.setContainer('c', { endpoints: ['e3'], dns: ['192.0.2.53'] });
  tb.setContainer('d', { endpoints: ['e4'], dns: [] });
  tb.setContainer('e', { endpoints: ['e5', 'e6'], dns: [] });
  return tb;
}

const query = (name: string, type: string, extra: Partial<Packet> = {}): Packet =>
  dnsPacket.decode(dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: type as 'A', name }], ...extra }));

function answer(tb: DnsTable, asker: Asker, name: string, type = 'A', extra?: Partial<Packet>) {
  const d = decide(tb, asker, query(name, type, extra));
  if (d.kind !== 'answer') return d.kind;
  const p = dnsPacket.decode(dnsPacket.encode(d.packet)) as unknown as Packet & { rcode: string; flag_aa: boolean };
  return { rcode: p.rcode, aa: p.flag_aa, data: (p.answers ?? []).map((a) => String((a as { data: unknown }).data)), id: p.id };
}

t.test('names resolve only on networks the asker shares', async (t) => {
  const tb = table();
  const a = tb.asker('10.1.0.2')!;
  const c = tb.asker('10.2.0.2')!;
  t.same(answer(tb, a, 'db'), { rcode: 'NOERROR', aa: true, data: ['10.1.0.3'], id: 4242 });
  t.same(answer(tb, a, 'DB.'), { rcode: 'NOERROR', aa: true, data: ['10.1.0.3'], id: 4242 }, 'case and trailing dot do not matter');
  t.same(answer(tb, a, 'other'), { rcode: 'NXDOMAIN', aa: true, data: [], id: 4242 }, 'a name on another network is invisible');
  t.same(answer(tb, c, 'web'), { rcode: 'NOERROR', aa: true, data: ['10.2.0.2'], id: 4242 }, 'the same name on the asker\'s own network');
  t.equal(tb.asker('10.9.9.9'), undefined, 'a stranger is nobody');
});

t.test('a shared name answers every backend, shuffled; AAAA and NODATA', async (t) => {
  const tb = table();
  const a = tb.asker('10.1.0.3')!;
  const firsts = new Set<string>();
  for (let i = 0; i < 64; i++) {
    const r = answer(tb, a, 'svc') as { data: string[] };
    t.same([...r.data].sort(), ['10.1.0.2', '10.1.0.3']);
    firsts.add(r.data[0]!);
  }
  t.equal(firsts.size, 2, 'each backend comes first sometimes');
  t.same((answer(tb, a, 'web', 'AAAA') as { data: string[] }).data, ['fd00:1::2']);
  t.same(answer(tb, a, 'db', 'AAAA'), { rcode: 'NOERROR', aa: true, data: [], id: 4242 }, 'known name without AAAA: NODATA, not NXDOMAIN');
  t.same(answer(tb, a, 'db', 'MX'), { rcode: 'NOERROR', aa: true, data: [], id: 4242 });
});

t.test('a container on two networks sees both; the first network in join order answers a name on both', async (t) => {
  const tb = table();
  const e = tb.asker('10.2.0.4')!;
  t.same(e.networks.map((n) => n.id), ['n1', 'n2']);
  t.same((answer(tb, e, 'web') as { data: string[] }).data, ['10.1.0.2']);
  t.same((answer(tb, e, 'other') as { data: string[] }).data, ['10.2.0.2']);
});

t.test('PTR for handed-out addresses on shared networks; NXDOMAIN inside our subnets; forward outside', async (t) => {
  const tb = table();
  const a = tb.asker('10.1.0.2')!;
  t.equal(reverseAddr('3.0.1.10.in-addr.arpa'), '10.1.0.3');
  t.equal(reverseAddr('2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa'), 'fd00:1::2');
  t.equal(reverseAddr('x.0.1.10.in-addr.arpa'), undefined);
  t.same((answer(tb, a, '3.0.1.10.in-addr.arpa', 'PTR') as { data: string[] }).data, ['db']);
  t.same((answer(tb, a, '2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa', 'PTR') as { data: string[] }).data, ['web']);
  t.equal((answer(tb, a, '200.0.1.10.in-addr.arpa', 'PTR') as { rcode: string }).rcode, 'NXDOMAIN');
  t.equal((answer(tb, a, '2.0.2.10.in-addr.arpa', 'PTR') as { rcode: string }).rcode, 'NXDOMAIN', 'not visible from here, and inside an lnetd subnet');
  t.equal(answer(tb, a, '1.2.0.192.in-addr.arpa', 'PTR'), 'forward');
});

t.test('lnetd\'s domain: single labels and the domains of visible containers; the rest forwards, except from internal networks', async (t) => {
  const tb = table();
  const a = tb.asker('10.1.0.2')!;
  t.same([...a.domains], ['corp.test']);
  t.equal(answer(tb, a, 'www.example.com'), 'forward');
  t.equal((answer(tb, a, 'nope.corp.test') as { rcode: string }).rcode, 'NXDOMAIN');
  const d = tb.asker('10.3.0.2')!;
  t.equal(d.forward, false);
  t.equal((answer(tb, d, 'www.example.com') as { rcode: string }).rcode, 'REFUSED', 'internal only: never forwarded');
  t.same((answer(tb, d, 'inside') as { data: string[] }).data, ['10.3.0.2'], 'internal networks resolve their own names');
  t.same(tb.asker('10.2.0.2')!.upstreams, ['192.0.2.53'], 'a join\'s dns list is its upstream');
});

t.test('bad queries: answers are dropped, other opcodes NOTIMP, several questions FORMERR', async (t) => {
  const tb = table();
  const a = tb.asker('10.1.0.2')!;
  const resp = dnsPacket.decode(dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'db' }] }));
  t.equal(decide(tb, a, resp).kind, 'drop');
  const two = dnsPacket.decode(dnsPacket.encode({ type: 'query', id: 2, questions: [{ type: 'A', name: 'db' }, { type: 'A', name: 'web' }] }));
  const d = decide(tb, a, two);
  t.equal(d.kind === 'answer' && ((d.packet.flags ?? 0) & 0xf), RCODE.FORMERR);
  const raw = dnsPacket.encode({ type: 'query', id: 3, questions: [{ type: 'A', name: 'db' }] });
  raw[2] = (raw[2]! & 0x87) | (2 << 3); // opcode STATUS
  const st = decide(tb, a, dnsPacket.decode(raw));
  t.equal(st.kind === 'answer' && ((st.packet.flags ?? 0) & 0xf), RCODE.NOTIMP);
  t.equal(errorFor(Buffer.alloc(5), RCODE.FORMERR), undefined, 'too short to answer');
  const e = errorFor(raw, RCODE.SERVFAIL)!;
  t.equal(e.length, 12, 'an error answer is never larger than needed');
  t.equal(e.readUInt16BE(0), 3);
  t.equal(e[3]! & 0xf, RCODE.SERVFAIL);
  const r = Buffer.from(raw);
  r[2] = r[2]! | 0x80;
  t.equal(errorFor(r, RCODE.FORMERR), undefined, 'never answer an answer');
});

t.test('answers fit the client: 512 without EDNS, up to 1232 with, TC set when cut', async (t) => {
  const tb = new DnsTable();
  tb.setNetwork({ id: 'n', name: 'n', enabled: true, internal: false, gateway4: '10.5.0.1', subnets: ['10.5.0.0/16'] });
  for (let i = 0; i < 200; i++) tb.setEndpoint({ id: `e${i}`, networkId: 'n', containerId: `c${i}`, names: [`c${i}`, 'many'], v4: `10.5.${i >> 8}.${(i & 255) + 2}` });
  const a = tb.asker('10.5.0.2')!;
  const q = query('many', 'A');
  const d = decide(tb, a, q);
  if (d.kind !== 'answer') throw new Error('expected an answer');
  const small = encodeWithin(d.packet, udpLimit(q));
  t.ok(small.length <= 512, `${small.length} bytes`);
  const dec = dnsPacket.decode(small) as Packet & { flag_tc: boolean };
  t.ok(dec.flag_tc, 'truncated: the client asks again over TCP');
  t.ok((dec.answers ?? []).length > 0 && (dec.answers ?? []).length < 200);
  const qe = query('many', 'A', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 } as never] });
  t.equal(udpLimit(qe), 1232, 'EDNS size capped');
  const full = encodeWithin(d.packet, 65535);
  t.equal((dnsPacket.decode(full).answers ?? []).length, 200, 'over TCP every backend');
});

t.test('question bytes of a query; resolv.conf parsing', async (t) => {
  const raw = dnsPacket.encode({ type: 'query', id: 9, questions: [{ type: 'A', name: 'a.bc' }] });
  t.same(questionBytes(raw), raw.subarray(12));
  t.equal(questionBytes(raw.subarray(0, 14)), undefined);
  const rc = parseResolvConf('# c\nnameserver 10.0.0.2\nnameserver fe80::1%eth0\nnameserver bogus\nsearch a.test b.test\noptions ndots:2 edns0 ; x\nnameserver 10.0.0.2\n');
  t.same(rc, { nameservers: ['10.0.0.2', 'fe80::1'], search: ['a.test', 'b.test'], options: ['ndots:2', 'edns0'] });
});

t.test('endpoint names and resolv.conf plans', async (t) => {
  const sb: SandboxRecord = { version: 1, containerId: 'abcdef0123456789abcdef', key: '/x', isDefault: false, endpoints: ['e'], nextIf: 1, hostName: 'Web', domainName: 'corp.test', dns: [], extraHosts: [], created: '' };
  const ep = { id: 'e', name: '/my_ctr', networkId: 'n', aliases: ['api', 'bad name!'] } as unknown as EndpointRecord;
  t.same(endpointNames(ep, sb), ['web.corp.test', 'my_ctr.corp.test', 'api.corp.test', 'abcdef0123456789abcdef.corp.test', 'abcdef012345.corp.test', 'web', 'my_ctr', 'api', 'abcdef0123456789abcdef', 'abcdef012345']);
  const net = { id: 'n', name: 'one', type: 'bridge', internal: false, options: {}, ipv4: { subnet: '10.1.0.0/24', gateway: '10.1.0.1', aux: {} } } as unknown as NetworkRecord;
  const host = { nameservers: ['127.0.0.53', '10.0.0.2'], search: ['lan'], options: ['edns0'] };
  const p = resolvPlan(sb, [ep], () => net, host, true);
  t.same(p.nameservers, ['10.1.0.1']);
  t.same(p.search, ['corp.test']);
  t.same(p.options, ['ndots:0', 'edns0']);
  t.match(p.comment, /127\.0\.0\.53 10\.0\.0\.2/);
  const own = resolvPlan({ ...sb, dnsSearch: ['x.test'], dnsOptions: ['ndots:3'], dns: ['192.0.2.1'] }, [ep], () => net, host, true);
  t.same([own.search, own.options], [['x.test'], ['ndots:3']], 'the join\'s dns_search and dns_options win');
  t.match(own.comment, /192\.0\.2\.1/);
  const off = resolvPlan(sb, [ep], () => ({ ...net, options: { 'com.docker.network.bridge.enable_dns': 'false' } }), host, true);
  t.same(off.nameservers, ['10.0.0.2'], 'DNS off: the host\'s servers, without those only its loopback answers');
  t.same(resolvPlan({ ...sb, isDefault: true }, [ep], () => net, host, true).nameservers, ['127.0.0.53', '10.0.0.2'], 'host namespace: all of them');
});
