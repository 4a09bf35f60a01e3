// Reconcile removes only what this instance provably made, and quarantines
// instead of deleting when the records fail to explain many live objects
// (issue 9 item 2). On the fake kernel: links carry IFLA_IFALIAS marks there
// as on the real one, and a veth made into a sandbox has its peer elsewhere.

import t from 'tap';
import { InProc } from '../lib/inproc.js';
import { openMemoryStore } from '../../store/level.js';
import { sweepNow } from '../../daemon/controller/reconcile.js';
import { sweepState } from '../../daemon/controller/sweep.js';

const ID = 'a1b2c3d4e5f60718';
const cid = (n: number) => n.toString(16).padStart(4, '0').repeat(16);
const names = async (p: InProc) => (await p.kernel.links()).map((l) => l.name);

/** A network with n joined containers, made by instance ID. */
async function populated(n: number): Promise<{ p: InProc; bridge: string; veths: string[] }> {
  const p = await new InProc().start({ instance: ID });
  const net = (await p.req('POST', '/networks', { name: 'n', ipam: { subnet: '10.71.0.0/24' } })).json;
  const veths: string[] = [];
  for (let i = 1; i <= n; i++) {
    const ep = (await p.req('POST', `/networks/${net}/endpoints`, { name: `e${i}` })).json;
    await p.req('POST', `/networks/${net}/endpoints/e${i}/containers`, { container_id: cid(i) });
    veths.push(`lv${ep.slice(0, 11)}`);
  }
  return { p, bridge: `lnet-${net.slice(0, 8)}`, veths };
}

t.test('what lnetd makes carries its instance mark', async (t) => {
  const { p, bridge, veths } = await populated(1);
  t.teardown(() => p.close());
  const links = await p.kernel.links();
  t.equal(links.find((l) => l.name === bridge)?.alias, `lnetd:${ID}`, 'the bridge');
  t.equal(links.find((l) => l.name === veths[0])?.alias, `lnetd:${ID}`, 'the host veth');
});

t.test('records that explain nothing: live objects are quarantined, not deleted', async (t) => {
  const { p, bridge, veths } = await populated(3);
  t.teardown(() => p.close());
  // a restored, empty backup: the same instance starts on records that know nothing
  await p.stopServing();
  await p.start({ store: await openMemoryStore(), instance: ID });
  const now = await names(p);
  t.ok(now.includes(bridge) && veths.every((v) => now.includes(v)), 'the bridge and every veth are still there');
  const q = sweepState(p.c).quarantined;
  t.same(q.map((s) => s.name).sort(), [bridge, ...veths].sort(), 'each is quarantined');
  t.ok(q.every((s) => s.live), 'with why it is live');
  const plan = await sweepNow(p.c, false);
  t.same(plan.links, [], 'a dry run removes nothing');
  t.equal((await names(p)).filter((n) => veths.includes(n)).length, 3, 'still there');
  const done = await sweepNow(p.c, true);
  t.same(done.links.sort(), [bridge, ...veths].sort(), 'the operator confirms: apply removes them');
  const after = await names(p);
  t.notOk(after.includes(bridge) || veths.some((v) => after.includes(v)), 'gone');
  t.same(sweepState(p.c).quarantined, [], 'nothing left in quarantine');
});

t.test('a few true leftovers with our mark are swept at start', async (t) => {
  const { p, veths } = await populated(1);
  t.teardown(() => p.close());
  await p.kernel.createVeth({ name: 'lv0123456789a', alias: `lnetd:${ID}`, peer: { name: 'x0', ns: p.kernel.netnsPaths()[0] } });
  await p.stopServing();
  await p.start({ store: p.store, instance: ID });
  const now = await names(p);
  t.notOk(now.includes('lv0123456789a'), 'the marked stray veth is removed (one live object is under the limit)');
  t.ok(now.includes(veths[0]), 'the explained veth stays');
  t.same(sweepState(p.c).quarantined, [], 'nothing quarantined');
});

t.test('unmarked objects or another instance\'s are never removed', async (t) => {
  const { p } = await populated(1);
  t.teardown(() => p.close());
  await p.kernel.ensureBridge('lnet-deadbeef', {});
  await p.kernel.ensureBridge('lnet-0badf00d', { alias: 'lnetd:ffffffffffffffff' });
  await p.stopServing();
  await p.start({ store: p.store, instance: ID });
  let now = await names(p);
  t.ok(now.includes('lnet-deadbeef'), 'an unmarked bridge named like ours stays');
  t.ok(now.includes('lnet-0badf00d'), "another instance's bridge stays");
  t.same(sweepState(p.c).unmarked.map((s) => s.name).sort(), ['lnet-0badf00d', 'lnet-deadbeef'], 'both reported as unmarked');
  await sweepNow(p.c, true);
  now = await names(p);
  t.ok(now.includes('lnet-deadbeef') && now.includes('lnet-0badf00d'), 'not even apply=true removes them');
});
