// Concurrency on the real daemon and kernel: 200 concurrent joins across 4
// networks (50 containers joining all four, so sandboxes are made and shared
// under contention), fired together with duplicate joins, leaves, endpoint
// and network deletes and endpoint creates. Every answer is a 2xx or a 409
// with a code; no address is handed out twice or lost; the final state
// agrees with the kernel.

import t from 'tap';
import { TestDaemon, type Reply } from '../lib/daemon.js';
import { settle } from './_agree.js';

t.setTimeout(240_000);

const NETS = [0, 1, 2, 3].map((i) => ({ name: `cc${i}`, subnet: `10.17${i}.0.0/25` }));
/** Addresses a /25 hands out: 128 minus network, broadcast and gateway. */
const CAPACITY = 128 - 3;
const PER_NET = 60;       // endpoints made up front per network
const PRE = 10;           // of which joined before the storm (then left and deleted during it)
const CONTAINERS = 50;    // each joins one endpoint of every network: 200 joins

interface Op { what: string; r: Reply }

async function all(label: string, reqs: Array<Promise<Reply>>): Promise<Op[]> {
  return (await Promise.all(reqs)).map((r) => ({ what: label, r }));
}

type Pending = { what: string; go: () => Promise<Reply> };
const many = (what: string, n: number, go: (i: number) => Promise<Reply>): Pending[] => Array.from({ length: n }, (_, i) => ({ what, go: () => go(i) }));

/** Fire every request at once, in a shuffled order (seeded), so a delete may
 *  reach the daemon before or after the leave it races. */
async function storm(reqs: Pending[], seed: number): Promise<Op[]> {
  let x = seed;
  const rnd = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const order = reqs.map((r) => ({ r, k: rnd() })).sort((a, b) => a.k - b.k).map((o) => o.r);
  return Promise.all(order.map(async (p) => ({ what: p.what, r: await p.go() })));
}

const tally = (ops: Op[]) => {
  const out: Record<string, number> = {};
  for (const o of ops) out[`${o.what} ${o.r.status}${o.r.status >= 300 ? ` ${o.r.json?.code}` : ''}`] = (out[`${o.what} ${o.r.status}${o.r.status >= 300 ? ` ${o.r.json?.code}` : ''}`] ?? 0) + 1;
  return out;
};

if (process.getuid?.() !== 0) {
  t.plan(0, 'kernel tests need root');
} else {
  const d = new TestDaemon();
  t.teardown(() => d.cleanup());

  t.test('200 concurrent joins mixed with leaves and deletes', async (t) => {
    await d.start();
    for (const n of NETS) t.equal((await d.req('POST', '/networks', { name: n.name, ipam: { subnet: n.subnet } })).status, 200);
    const ep = (n: number, i: number) => `e${n}-${i}`;
    // endpoints, all at once; every fifth publishes a port the daemon picks
    const made = await all('create', NETS.flatMap((net, n) => Array.from({ length: PER_NET }, (_, i) =>
      d.req('POST', `/networks/${net.name}/endpoints`, { name: ep(n, i), ...(i % 5 === 0 ? { port_mapping: [{ proto: 6, port: 80, host_port: 0 }] } : {}) }))));
    t.same(tally(made), { 'create 200': NETS.length * PER_NET }, 'every create answered 200');
    const pre = await all('pre-join', NETS.flatMap((net, n) => Array.from({ length: PRE }, (_, i) =>
      d.req('POST', `/networks/${net.name}/endpoints/${ep(n, i)}/containers`, { container_id: `pre${n}x${i}` }))));
    t.same(tally(pre), { 'pre-join 200': NETS.length * PRE });

    const t0 = Date.now();
    const seed = Number(process.env.LNETD_CONCURRENCY_SEED ?? Date.now() % 100_000);
    const ops = await storm(NETS.flatMap((net, n) => [
      // 50 joins per network, 200 in all: container c joins endpoint PRE+c of every network
      ...many('join', CONTAINERS, (c) => d.req('POST', `/networks/${net.name}/endpoints/${ep(n, PRE + c)}/containers`, { container_id: `ctr${c}` })),
      // another container wants one of the same endpoints: one of the two wins
      ...many('dup-join', 1, () => d.req('POST', `/networks/${net.name}/endpoints/${ep(n, PRE + n)}/containers`, { container_id: `dup${n}` })),
      ...many('leave', PRE, (i) => d.req('DELETE', `/networks/${net.name}/endpoints/${ep(n, i)}/containers/pre${n}x${i}`)),
      // racing the leaves: 409 while still joined, 200 after
      ...many('delete-ep', PRE, (i) => d.req('DELETE', `/networks/${net.name}/endpoints/${ep(n, i)}`)),
      ...many('delete-net', 1, () => d.req('DELETE', `/networks/${net.name}`)),
      ...many('create', 5, (i) => d.req('POST', `/networks/${net.name}/endpoints`, { name: `late${n}-${i}` })),
    ]), seed);
    t.comment(`shuffle seed ${seed} (LNETD_CONCURRENCY_SEED replays it)`);
    t.comment(`storm: ${ops.length} concurrent requests in ${Date.now() - t0} ms: ${JSON.stringify(tally(ops))}`);
    const bad = ops.filter((o) => !(o.r.status === 200 || (o.r.status === 409 && typeof o.r.json?.code === 'string')));
    t.same(bad.map((o) => `${o.what}: ${o.r.status} ${o.r.text}`), [], 'every answer is a 2xx or a 409 with a code');
    t.equal(ops.filter((o) => o.what === 'join' && o.r.status === 200).length + ops.filter((o) => o.what === 'dup-join' && o.r.status === 200).length,
      NETS.length * CONTAINERS, 'each contested endpoint went to exactly one container');
    t.ok(ops.filter((o) => o.what === 'leave').every((o) => o.r.status === 200), 'every leave succeeded');
    t.ok(ops.filter((o) => o.what === 'delete-net').every((o) => o.r.json?.code === 'NETWORK_IN_USE'), 'networks in use are refused');
    t.ok(ops.filter((o) => o.what === 'delete-ep' && o.r.status === 409).every((o) => o.r.json?.code === 'ENDPOINT_IN_USE'));
    t.same(await settle(d, {}, 10_000), [], 'store and kernel agree (links, addresses, sandboxes, eth<N>, nft, no address twice)');

    const eps = (await d.req('GET', '/services')).json as any[];
    const deleted = ops.filter((o) => o.what === 'delete-ep' && o.r.status === 200).length;
    t.equal(eps.length, NETS.length * (PER_NET + 5) - deleted, 'endpoint count adds up');
    const ctr0 = eps.filter((e) => e.container_id === 'ctr0').map((e) => e.interface_name).sort();
    t.same(ctr0, ['eth0', 'eth1', 'eth2', 'eth3'].slice(0, ctr0.length), 'a container that joined 4 networks at once has eth0..ethN');

    // every address comes back: leave and delete everything, then fill each network
    const joined = eps.filter((e) => e.container_id);
    await Promise.all(joined.map((e) => d.req('DELETE', `/networks/${e.network_id}/endpoints/${e.id}/containers/${e.container_id}`)));
    const dels = await Promise.all(eps.map((e) => d.req('DELETE', `/networks/${e.network_id}/endpoints/${e.id}`)));
    t.ok(dels.every((r) => r.status === 200), 'every endpoint deleted');
    const fill = await Promise.all(NETS.map(async (net) => {
      let n = 0;
      while ((await d.req('POST', `/networks/${net.name}/endpoints`, { name: `fill${n}` })).status === 200) n++;
      return n;
    }));
    t.same(fill, NETS.map(() => CAPACITY), `each /25 hands out all ${CAPACITY} addresses again: none lost`);
    t.same(await settle(d), [], 'store and kernel agree at the end');
  });

  t.test('kill -9 in the middle of 160 concurrent joins and 40 creates', async (t) => {
    const k = new TestDaemon();
    t.teardown(() => k.cleanup());
    await k.start();
    for (const n of NETS) await k.req('POST', '/networks', { name: n.name, ipam: { subnet: n.subnet } });
    await Promise.all(NETS.flatMap((net) => Array.from({ length: 40 }, (_, i) => k.req('POST', `/networks/${net.name}/endpoints`, { name: `k${i}` }))));
    const joins = NETS.flatMap((net) => Array.from({ length: 40 }, (_, i) => ({ path: `/networks/${net.name}/endpoints/k${i}/containers`, body: { container_id: `kc${i}` } })));
    const answers = [
      ...joins.map((j) => k.req('POST', j.path, j.body).then((r) => r.status, () => 0)),
      ...NETS.flatMap((net) => Array.from({ length: 10 }, (_, i) => k.req('POST', `/networks/${net.name}/endpoints`, { name: `late${i}` }).then((r) => r.status, () => 0))),
    ];
    // in the middle: once the daemon has answered the first of them, not after a guessed time
    await Promise.race(answers);
    await k.stop('SIGKILL');
    const statuses = await Promise.all(answers);
    const cut = statuses.filter((x) => x === 0).length;
    t.comment(`killed with ${cut} of ${statuses.length} requests unanswered`);
    t.ok(cut > 0, 'the kill landed while requests were in flight');
    await k.start();
    t.same(await settle(k), [], 'after recovery the store and kernel agree (no address twice)');
    const retried = await Promise.all(joins.map((j) => k.req('POST', j.path, j.body)));
    t.same(retried.filter((r) => r.status !== 200).map((r) => r.text), [], 'each join retried succeeds (those done before the kill answer as the first time)');
    t.same(await settle(k), [], 'and agree after the retries');
    const joined = ((await k.req('GET', '/services')).json as any[]).filter((e) => e.container_id);
    t.equal(joined.length, joins.length, 'every endpoint joined exactly once');
  });
}
