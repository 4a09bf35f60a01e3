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

t.test('concurrent Docker connects and disconnects on one network', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lnetd-overlap-'));
  const store = await openLevelStore(dir);
  const p = await new InProc().start({ store });
  t.teardown(async () => { await p.close(); await store.close().catch(() => undefined); rmSync(dir, { recursive: true, force: true }); });
  const net = (await p.docker('POST', '/networks/create', { Name: 'dn', IPAM: { Config: [{ Subnet: '10.63.0.0/24' }] } })).json.Id;
  const before = p.store.writes;
  const cids = Array.from({ length: 20 }, (_, i) => `ctr${i}`);
  const conns = await Promise.all(cids.map((cid) => p.docker('POST', `/networks/${net}/connect`, { Container: cid })));
  t.same(conns.map((r) => r.status), cids.map(() => 200), 'all 20 connected');
  // each connect writes its intent and its commit: one after the other they would be 40 writes, 20 of them synced
  const writes = p.store.writes - before;
  t.ok(writes < 40, `their writes were shared (${writes} LevelDB writes for 20 connects)`);
  const seen = (await p.docker('GET', `/networks/${net}`)).json.Containers as Record<string, { IPv4Address: string }>;
  t.equal(Object.keys(seen).length, 20, 'twenty containers on it');
  t.equal(new Set(Object.values(seen).map((e) => e.IPv4Address)).size, 20, 'every one its own address');
  t.equal(p.c.pending.size, 0, 'nothing left pending');

  const again = await Promise.all([0, 1, 2].map(() => p.docker('POST', `/networks/${net}/connect`, { Container: 'twice' })));
  t.same(again.map((r) => r.status).sort(), [200, 403, 403], 'one container connected at once three times: connected once');
  const macs = await Promise.all(['x1', 'x2'].map((cid) => p.docker('POST', `/networks/${net}/connect`, { Container: cid, EndpointConfig: { MacAddress: '02:42:0a:3f:00:aa' } })));
  t.same(macs.map((r) => r.status).sort(), [200, 403], 'two connects asking for one MAC: one gets it');
  const multicast = await p.docker('POST', `/networks/${net}/connect`, { Container: 'x3', EndpointConfig: { MacAddress: '03:42:0a:3f:00:ab' } });
  t.equal(multicast.status, 400, 'a multicast MAC is refused before anything is made');
  t.match(multicast.json.message, /multicast/);

  const gone = await Promise.all(cids.map((cid) => p.docker('POST', `/networks/${net}/disconnect`, { Container: cid })));
  t.same(gone.map((r) => r.status), cids.map(() => 200), 'all 20 disconnected at once');
  t.same(Object.keys((await p.docker('GET', `/networks/${net}`)).json.Containers).sort(), ['twice', macs[0]!.status === 200 ? 'x1' : 'x2'].sort(), 'only the others are left');
});
