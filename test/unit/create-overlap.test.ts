// Endpoint creates on one network pick their names and addresses in turn but
// commit side by side (the picks wait in the controller's pending set while
// their batches are synced): concurrent creates share store writes instead of
// taking one synced write each in a row, never share an address, and one name
// still wins once. A create that publishes ports keeps the old way (its host
// ports are allocated under the same lock as its commit).

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InProc } from '../lib/inproc.js';
import { openLevelStore } from '../../store/level.js';

t.test('concurrent creates on one network', async (t) => {
  // a real LevelDB: its synced writes take long enough for the next creates to queue behind them
  const dir = mkdtempSync(join(tmpdir(), 'lnetd-overlap-'));
  const store = await openLevelStore(dir);
  const p = await new InProc().start({ store });
  t.teardown(async () => { await p.close(); await store.close().catch(() => undefined); rmSync(dir, { recursive: true, force: true }); });
  const net = (await p.req('POST', '/networks', { name: 'n', ipam: { subnet: '10.62.0.0/24' } })).json;
  const before = { writes: p.store.writes };
  const eps = await Promise.all(Array.from({ length: 20 }, (_, i) => p.req('POST', `/networks/${net}/endpoints`, { name: `e${i}` })));
  t.ok(eps.every((r) => r.status === 200), 'all 20 created');
  const writes = p.store.writes - before.writes;
  t.ok(writes < 20, `their commits shared writes (${writes} LevelDB writes for 20 creates)`);
  const list = (await p.req('GET', `/networks/${net}/endpoints`)).json as Array<{ ipv4_address?: string; ipv4?: string; name: string }>;
  const addrs = list.map((e) => e.ipv4_address ?? e.ipv4);
  t.equal(addrs.length, 20, 'twenty endpoints listed');
  t.equal(new Set(addrs).size, 20, 'every one its own address');
  t.equal(p.c.pending.size, 0, 'nothing left pending');

  const same = await Promise.all(Array.from({ length: 10 }, () => p.req('POST', `/networks/${net}/endpoints`, { name: 'dup' })));
  t.equal(same.filter((r) => r.status === 200).length, 1, 'one create of a name wins');
  t.equal(same.filter((r) => r.status === 409 && r.json.code === 'NAME_IN_USE').length, 9, 'the others are 409 NAME_IN_USE, also while the winner is not committed');

  const asked = await Promise.all([0, 1].map((i) => p.req('POST', `/networks/${net}/endpoints`, { name: `w${i}`, ipv4_address: '10.62.0.200' })));
  t.same(asked.map((r) => r.status).sort(), [200, 409], 'two creates asking for one address: one gets it');
});
