// Fuzzing the Docker routes (fast-check), like the seed routes: bodies from
// the docker CLI's own requests, mutated (a field dropped, retyped or
// replaced), ids that exist or not, filters valid and not, version prefixes
// in and out of range. Never a 5xx, never a crash, and after every 4xx the
// store and the kernel are exactly as before. In-process on the fake kernel;
// LNETD_FUZZ_SEED / LNETD_FUZZ_SCALE as for the seed fuzz.

import t from 'tap';
import fc from 'fast-check';
import { InProc } from '../lib/inproc.js';
import type { Kind } from '../../store/store.js';

t.setTimeout(180_000);

const SEED = process.env.LNETD_FUZZ_SEED === 'random' ? Date.now() % 2 ** 31 : Number(process.env.LNETD_FUZZ_SEED ?? 20261201);
const RUNS = 1000 * Number(process.env.LNETD_FUZZ_SCALE ?? 1);
const KINDS: Kind[] = ['networks', 'endpoints', 'sandboxes', 'ipam', 'journal'];

const junk = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('..', '%00', '%2e%2e', 'a/b', 'x'.repeat(300), 'bridge', 'host', 'none', '-1', ''));
const name = fc.oneof(fc.nat({ max: 20 }).map((n) => `fz${n}`), junk);
const container = fc.oneof(fc.nat({ max: 6 }).map((n) => `ctr${n}`), fc.constant('aaaaaaaaaaaa' + 'b'.repeat(52)), fc.constant('aaaaaaaaaaaa' + 'c'.repeat(52)), junk);
const cidr = fc.oneof(
  fc.tuple(fc.nat(255), fc.integer({ min: 8, max: 32 })).map(([b, p]) => `10.${b}.0.0/${p}`),
  fc.constantFrom('fd00:1::/64', '10.0.0.0/8', '300.1.1.1/24', 'banana', '::/0', '10.9.0.0/24'),
);
const value = fc.oneof(fc.jsonValue(), junk, fc.boolean(), fc.integer());
/** A value as given, or mutated: retyped, junk, or dropped. */
const maybe = <T>(a: fc.Arbitrary<T>) => fc.oneof({ arbitrary: a, weight: 4 }, { arbitrary: value, weight: 1 }, { arbitrary: fc.constant(undefined), weight: 1 });

const create = fc.record({
  Name: maybe(name), Driver: maybe(fc.constantFrom('bridge', '', 'null', 'host', 'overlay')), Scope: maybe(fc.constantFrom('', 'local', 'swarm')),
  EnableIPv6: maybe(fc.boolean()), Internal: maybe(fc.boolean()), Attachable: maybe(fc.boolean()), Ingress: maybe(fc.boolean()), ConfigOnly: maybe(fc.boolean()),
  IPAM: maybe(fc.record({ Driver: maybe(fc.constantFrom('default', '', 'dhcp')), Config: maybe(fc.array(fc.record({ Subnet: maybe(cidr), Gateway: maybe(fc.constantFrom('10.9.0.1', '10.0.0.1', 'x')), IPRange: maybe(cidr) }), { maxLength: 3 })) })),
  Options: maybe(fc.dictionary(fc.constantFrom('com.docker.network.bridge.enable_icc', 'com.docker.network.driver.mtu', 'mtu', 'x'), fc.oneof(fc.constantFrom('true', 'false', '1500', '9'), junk))),
  Labels: maybe(fc.dictionary(fc.constantFrom('a', 'b', 'team'), fc.oneof(junk, fc.constant('x')))),
}, { requiredKeys: [] });
const connect = fc.record({
  Container: maybe(container),
  EndpointConfig: maybe(fc.record({
    IPAMConfig: maybe(fc.record({ IPv4Address: maybe(fc.constantFrom('10.9.0.5', '10.9.0.1', '1.2.3.4', 'x')), IPv6Address: maybe(fc.constantFrom('fd00:1::5', 'x')) }, { requiredKeys: [] })),
    Aliases: maybe(fc.array(fc.oneof(junk, fc.constant('web')), { maxLength: 3 })), MacAddress: maybe(fc.constantFrom('', '02:00:00:00:00:01', 'zz')),
    DriverOpts: maybe(fc.constant({})), GwPriority: maybe(fc.constantFrom(0, 1)), Links: maybe(fc.constant(null)),
  }, { requiredKeys: [] })),
}, { requiredKeys: [] });
const filters = fc.oneof(
  fc.constant(undefined),
  fc.dictionary(fc.constantFrom('name', 'id', 'label', 'label!', 'driver', 'type', 'dangling', 'scope', 'until', 'bogus'), fc.array(fc.oneof(junk, fc.constantFrom('fz1', 'custom', 'builtin', 'true', '1h', 'a=b', '(a+)+$')), { maxLength: 2 })).map((d) => JSON.stringify(d)),
  junk,
);
const version = fc.constantFrom('', '/v1.50', '/v1.44', '/v1.24', '/v1.51', '/v9', '/vx');
const net = fc.oneof({ arbitrary: fc.nat().map((i) => ({ pick: i })), weight: 3 }, { arbitrary: junk, weight: 1 });

const plan = fc.oneof(
  fc.record({ method: fc.constant('POST'), path: fc.constant('/networks/create'), body: create }),
  fc.record({ method: fc.constant('GET'), path: fc.constant('/networks'), filters }),
  fc.record({ method: fc.constantFrom('GET', 'DELETE'), path: fc.constant('/networks/:net'), net }),
  fc.record({ method: fc.constant('POST'), path: fc.constantFrom('/networks/:net/connect', '/networks/:net/disconnect'), net, body: connect }),
  fc.record({ method: fc.constant('POST'), path: fc.constant('/networks/prune'), filters }),
  fc.record({ method: fc.constantFrom('GET', 'HEAD', 'POST'), path: fc.constantFrom('/_ping', '/version', '/info', '/containers/json', '/nope') }),
  fc.record({ method: fc.constant('POST'), path: fc.constant('/networks/create'), raw: fc.oneof(fc.string(), fc.constant('{"Name":'), fc.constant('[]'), fc.constant('null')) }),
);

t.test(`the Docker routes in-process on the fake kernel (seed ${SEED})`, async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  const snapshot = async () => {
    const store: Record<string, unknown> = {};
    for (const k of KINDS) store[k] = await p.store.entries(k);
    const kernel: Record<string, unknown> = {};
    for (const ns of [undefined, ...p.kernel.netnsPaths()]) kernel[ns ?? 'own'] = [await p.kernel.links(ns), await p.kernel.addresses(ns), await p.kernel.routes(ns)];
    return JSON.stringify({ store, kernel, fw: [[...p.firewall.networks], [...p.firewall.portMaps]] });
  };
  const statuses: Record<string, number> = {};
  await fc.assert(fc.asyncProperty(fc.tuple(plan, version), async ([r, v]) => {
    const nets = p.c.listNetworks();
    const ref = typeof (r as any).net === 'object' ? (() => { const n = nets[(r as any).net.pick % nets.length]; return (r as any).net.pick % 3 === 0 ? n.name : (r as any).net.pick % 3 === 1 ? n.id : n.id.slice(0, 6); })() : (r as any).net;
    let path = v + r.path.replace(':net', encodeURIComponent(String(ref ?? '')));
    const f = (r as any).filters;
    if (f !== undefined) path += `?filters=${encodeURIComponent(f)}`;
    const raw = (r as any).raw as string | undefined;
    const before = await snapshot();
    const res = await p.docker(r.method, path, raw === undefined ? (r as any).body : undefined, raw);
    const bucket = `${Math.floor(res.status / 100)}xx`;
    statuses[bucket] = (statuses[bucket] ?? 0) + 1;
    if (res.status >= 500) throw new Error(`${res.status} for ${r.method} ${path} ${JSON.stringify((r as any).body ?? raw)}: ${res.text}`);
    if (res.status >= 400) {
      if (r.method !== 'HEAD' && typeof res.json?.message !== 'string') throw new Error(`${res.status} without a message for ${r.method} ${path}: ${res.text}`);
      if ((await snapshot()) !== before) throw new Error(`${res.status} for ${r.method} ${path} ${JSON.stringify((r as any).body ?? raw)} changed state`);
    }
  }), { numRuns: RUNS, seed: SEED, endOnFailure: true });
  t.comment(`${RUNS} cases: ${JSON.stringify(statuses)}`);
  t.notOk(statuses['5xx'], 'no 5xx');
  t.ok((statuses['2xx'] ?? 0) > 50 && (statuses['4xx'] ?? 0) > 200, 'both successes and refusals were exercised');
});
