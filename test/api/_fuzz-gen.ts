// Request generators for the API fuzz test (fast-check): every route, with
// ids, bodies and query strings that are valid, nearly valid (one field
// mutated, dropped or retyped) or garbage. Ids that must name live objects
// are drawn at run time from what exists (`Known`), by index.

import fc from 'fast-check';

export interface Known { nets: string[]; eps: Map<string, string[]>; containers: string[] }

/** A request before its ids are resolved against what exists. */
export interface Plan {
  method: string;
  path: Array<string | { pick: 'net' | 'ep' | 'ctr'; i: number; mangle: number }>;
  query?: Array<[string, string]>;
  body?: unknown;
  raw?: string;
}

const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
const junk = fc.oneof(
  fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), hex(64), hex(12),
  fc.constantFrom('..', '.', '%00', '%2e%2e', '%', '%zz', ' ', 'a/b', '\u0000', 'null', '-1', 'x'.repeat(300), 'bridge', 'host', 'none'),
);
/** An id: one that exists (whole, prefix, name) or junk. */
const ref = (pick: 'net' | 'ep' | 'ctr') => fc.oneof(
  { arbitrary: fc.record({ pick: fc.constant(pick), i: fc.nat(), mangle: fc.integer({ min: 0, max: 3 }) }), weight: 3 },
  { arbitrary: junk, weight: 1 },
);

const name = fc.oneof(fc.nat({ max: 40 }).map((n) => `fz${n}`), junk);
const port = fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constantFrom(0, -1, 65536, 80, 8080), fc.jsonValue());
const proto = fc.oneof(fc.constantFrom(6, 17, 132), fc.integer({ min: -5, max: 300 }), fc.jsonValue());
const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const cidr = fc.oneof(
  fc.tuple(fc.integer({ min: 10, max: 10 }), fc.nat(255), fc.nat(255), fc.integer({ min: 8, max: 32 })).map(([a, b, c, p]) => `${a}.${b}.${c}.0/${p}`),
  fc.tuple(v4, fc.integer({ min: 0, max: 33 })).map(([a, p]) => `${a}/${p}`),
  fc.constantFrom('fd00::/64', 'fd00:1::/48', '::/0', '10.0.0.0/8', '300.1.1.1/24', 'banana'),
);
const options = fc.oneof(
  fc.constant({}),
  fc.dictionary(fc.constantFrom('com.docker.network.bridge.name', 'com.docker.network.driver.mtu', 'com.docker.network.bridge.enable_icc',
    'com.docker.network.bridge.enable_ip_masquerade', 'com.docker.network.enable_ipv6', 'com.docker.network.internal', 'mtu', 'icc', 'other'),
  fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('true', 'false', '1500', '68', 'lo', 'lnet-aaaaaaaa', 'br"x', 'eth0'), fc.jsonValue())),
  fc.jsonValue(),
);
const ipam = fc.oneof(
  fc.constant(undefined), fc.record({ subnet: cidr }, { requiredKeys: [] }),
  fc.record({ subnet: cidr, gateway: v4, ip_range: cidr, aux_addresses: fc.dictionary(fc.string({ maxLength: 8 }), v4) }, { requiredKeys: [] }),
  fc.record({ config: fc.array(fc.record({ subnet: cidr, gateway: fc.oneof(v4, fc.constant('fd00::1')) }, { requiredKeys: [] }), { maxLength: 3 }) }),
  fc.jsonValue(),
);
const portBinding = fc.record({ proto, port, host_ip: fc.oneof(fc.constantFrom('', '0.0.0.0', '::', '127.0.0.1', 'x'), v4), host_port: port, host_port_end: port }, { requiredKeys: [] });
const wildEndpoint = fc.record({
  name, exposed_ports: fc.oneof(fc.array(fc.record({ proto, port }), { maxLength: 3 }), fc.jsonValue()),
  port_mapping: fc.oneof(fc.array(portBinding, { maxLength: 3 }), fc.jsonValue()),
  ipv4_address: fc.oneof(v4, junk), ipv6_address: fc.oneof(fc.constantFrom('fd00::5', '::1'), junk),
  mac_address: fc.oneof(fc.constantFrom('02:42:ac:11:00:09', 'zz:zz'), junk),
}, { requiredKeys: [] });
/** Mostly what a runtime sends: succeeds unless the name or port is taken. */
const goodEndpoint = fc.record({
  name: fc.nat({ max: 60 }).map((n) => `fz${n}`),
  exposed_ports: fc.constant([{ proto: 6, port: 80 }]),
  port_mapping: fc.oneof(fc.constant([]), fc.record({ proto: fc.constantFrom(6, 17), port: fc.constant(80), host_port: fc.oneof(fc.constant(0), fc.integer({ min: 20000, max: 20020 })) }).map((b) => [b])),
}, { requiredKeys: ['name'] });
const wildNetwork = fc.record({
  name, network_type: fc.oneof(fc.constantFrom('bridge', 'null', 'host', ''), junk), options, ipam,
  enable_ipv6: fc.oneof(fc.boolean(), fc.jsonValue()), internal: fc.oneof(fc.boolean(), fc.jsonValue()),
}, { requiredKeys: [] });
const goodNetwork = fc.record({
  name: fc.nat({ max: 40 }).map((n) => `fz${n}`),
  network_type: fc.constantFrom('bridge', 'bridge', 'bridge', 'null'),
  options: fc.oneof(fc.constant({}), fc.constant({ 'com.docker.network.bridge.enable_icc': 'false' }), fc.constant({ 'com.docker.network.driver.mtu': '1400' }),
    fc.constantFrom('lo', 'lnet-aaaaaaaa', 'br-fz', 'eth0').map((b) => ({ 'com.docker.network.bridge.name': b }))),
  ipam: fc.oneof(fc.constant(undefined), fc.tuple(fc.nat(255), fc.constantFrom(24, 28, 30)).map(([n, p]) => ({ subnet: `10.200.${n}.0/${p}` }))),
  internal: fc.boolean(),
}, { requiredKeys: ['name', 'network_type'] });
/** hosts/resolv.conf paths: never a real file of this machine (the executor keeps any absolute one in a tmp dir). */
const path = fc.oneof(fc.constant(undefined), fc.constantFrom('relative/hosts', '/x/../etc', '/tmp/./a', '', '@tmp/missing-dir/hosts'), fc.nat(5).map((n) => `@tmp/f${n}`));
const wildJoin = fc.record({
  container_id: fc.oneof(fc.nat(30).map((n) => `ctr${n}`), hex(64), junk),
  host_name: fc.oneof(fc.constantFrom('web', 'a-b'), junk), domain_name: fc.oneof(fc.constantFrom('example.org'), junk),
  hosts_path: path, resolv_conf_path: path, dns: fc.oneof(fc.array(fc.oneof(v4, junk), { maxLength: 3 }), fc.jsonValue()),
  extra_hosts: fc.oneof(fc.array(fc.oneof(fc.constant('db:10.0.0.9'), junk), { maxLength: 2 }), fc.jsonValue()),
  use_default_sandbox: fc.oneof(fc.boolean(), fc.jsonValue()), parent_updates: fc.oneof(fc.constant(null), fc.jsonValue()),
}, { requiredKeys: [] });
const goodJoin = fc.record({
  container_id: fc.nat(30).map((n) => `ctr${n}`),
  host_name: fc.constant('web'), hosts_path: fc.oneof({ arbitrary: fc.nat(5).map((n) => `@tmp/f${n}`), weight: 5 }, { arbitrary: fc.constant('@tmp/missing-dir/hosts'), weight: 1 }),
  dns: fc.constant(['10.0.0.53']),
  use_default_sandbox: fc.boolean(),
}, { requiredKeys: ['container_id'] });

type Body = Record<string, unknown>;

/** Mostly valid bodies, some with one field swapped for a wild one, some wild or garbage. */
function mutated(good: fc.Arbitrary<Body>, wild: fc.Arbitrary<Body>): fc.Arbitrary<{ body?: unknown; raw?: string }> {
  return fc.oneof(
    { arbitrary: good.map((b) => ({ body: b })), weight: 5 },
    { arbitrary: fc.tuple(good, wild).chain(([g, w]) => (Object.keys(w).length ? fc.constantFrom(...Object.keys(w)).map((k) => ({ body: { ...g, [k]: w[k] } })) : fc.constant({ body: g }))), weight: 3 },
    { arbitrary: fc.tuple(good, fc.string({ maxLength: 12 }), fc.jsonValue()).map(([b, k, v]) => ({ body: { ...b, [k]: v } })), weight: 1 },
    { arbitrary: wild.map((b) => ({ body: b })), weight: 2 },
    { arbitrary: fc.jsonValue().map((v) => ({ body: v })), weight: 1 },
    { arbitrary: fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom('{', '{"name":', '[]', 'null', '\u0000', '{"a":1}{')).map((raw) => ({ raw })), weight: 1 },
  );
}

const query = fc.array(fc.tuple(fc.oneof(fc.constantFrom('name', 'partial-id', 'network', 'filters'), fc.string({ maxLength: 8 })), fc.oneof(fc.string({ maxLength: 20 }), hex(6))), { maxLength: 3 });

const route = (method: string, path: Plan['path'], extra: Partial<Plan> = {}): Plan => ({ method, path, ...extra });

/** One request to any route of the API. */
export const plan: fc.Arbitrary<Plan> = fc.oneof(
  fc.tuple(fc.constantFrom('GET', 'HEAD'), fc.constantFrom('_ping', 'version', '_stats', 'nope')).map(([m, p]) => route(m, [p])),
  fc.constant(route('POST', ['_reapply'])),
  query.map((q) => route('GET', ['networks'], { query: q })),
  mutated(goodNetwork, wildNetwork).map((b) => route('POST', ['networks'], b)),
  ref('net').map((n) => route('GET', ['networks', n])),
  ref('net').map((n) => route('DELETE', ['networks', n])),
  fc.tuple(ref('net'), query).map(([n, q]) => route('GET', ['networks', n, 'endpoints'], { query: q })),
  fc.tuple(ref('net'), mutated(goodEndpoint, wildEndpoint)).map(([n, b]) => route('POST', ['networks', n, 'endpoints'], b)),
  fc.tuple(ref('net'), ref('ep')).map(([n, e]) => route('GET', ['networks', n, 'endpoints', e])),
  fc.tuple(ref('net'), ref('ep')).map(([n, e]) => route('DELETE', ['networks', n, 'endpoints', e])),
  fc.tuple(ref('net'), ref('ep'), mutated(goodJoin, wildJoin)).map(([n, e, b]) => route('POST', ['networks', n, 'endpoints', e, 'containers'], b)),
  fc.tuple(ref('net'), ref('ep'), ref('ctr')).map(([n, e, c]) => route('DELETE', ['networks', n, 'endpoints', e, 'containers', c])),
  query.map((q) => route('GET', ['services'], { query: q })),
  fc.tuple(mutated(goodEndpoint, wildEndpoint), fc.oneof(ref('net'), junk)).map(([b, n]) => route('POST', ['services'], b.body && typeof b.body === 'object' && !Array.isArray(b.body) ? { body: { ...b.body, network_name: n } } : b)),
  ref('ep').map((e) => route('GET', ['services', e])),
  ref('ep').map((e) => route('DELETE', ['services', e])),
  fc.tuple(ref('ep'), mutated(goodJoin, wildJoin)).map(([e, b]) => route('POST', ['services', e, 'backend'], b)),
  ref('ep').map((e) => route('GET', ['services', e, 'backend'])),
  fc.tuple(ref('ep'), ref('ctr')).map(([e, c]) => route('DELETE', ['services', e, 'backend', c])),
);

/** Turn a plan into a method, URL and body against what exists now. */
export function resolve(p: Plan, known: Known, tmp: string): { method: string; url: string; body?: unknown; raw?: string } {
  let net = '';
  const segs = p.path.map((s) => {
    if (typeof s === 'string') return encodeURIComponent(s);
    const pool = s.pick === 'net' ? known.nets : s.pick === 'ctr' ? known.containers : (known.eps.get(net) ?? [...known.eps.values()].flat());
    let id = pool.length ? pool[s.i % pool.length]! : 'missing';
    if (s.pick === 'net') net = id;
    if (s.mangle === 1) id = id.slice(0, 12);       // a unique prefix, most likely
    if (s.mangle === 2) id = id.slice(0, 1);        // an ambiguous prefix, likely
    return encodeURIComponent(id);
  });
  const qs = p.query?.length ? '?' + p.query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&') : '';
  return { method: p.method, url: '/' + segs.join('/') + qs, body: confine(p.body, tmp, known), raw: p.raw === undefined ? undefined : confineRaw(p.raw, tmp, known) };
}

/** Sandbox file paths only inside the test's tmp dir; a network_name picked by index resolved. */
function confine(body: unknown, tmp: string, known: Known): unknown {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return body;
  const o = { ...(body as Record<string, unknown>) };
  // the daemon refuses these itself (requests.ts filePath); anything else absolute would be written
  const refused = (p: string) => p.endsWith('/') || p.includes('\0') || p.split('/').some((seg) => seg === '.' || seg === '..');
  for (const k of ['hosts_path', 'resolv_conf_path']) {
    const v = o[k];
    if (typeof v === 'string' && v.startsWith('@tmp/')) o[k] = `${tmp}/${v.slice(5)}`;  // f<n>, or in a missing dir
    else if (typeof v === 'string' && v.startsWith('/') && !v.startsWith(`${tmp}/`) && !refused(v)) o[k] = `${tmp}/stray`;
  }
  const nn = o.network_name as { pick?: string; i?: number } | undefined;
  if (nn && typeof nn === 'object' && nn.pick === 'net') o.network_name = known.nets[(nn.i ?? 0) % Math.max(1, known.nets.length)] ?? 'missing';
  return o;
}

/** Raw text that happens to be a JSON object goes through the same confinement. */
function confineRaw(raw: string, tmp: string, known: Known): string {
  let v: unknown;
  try { v = JSON.parse(raw); } catch { return raw; }
  return v && typeof v === 'object' && !Array.isArray(v) ? JSON.stringify(confine(v, tmp, known)) : raw;
}
