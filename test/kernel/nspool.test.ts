// Namespaces made ahead on a pool thread: each is fresh and distinct, the
// main thread's namespace is untouched, and closing the pool closes them.

import t from 'tap';
import { fstatSync, readlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { NetnsPool } from '../../drivers/linux/nspool.js';
import { makeNetns } from '../../drivers/linux/native.js';
import { waitFor } from '../lib/ready.js';

const ownNs = () => readlinkSync('/proc/thread-self/ns/net');

t.test('makeNetns: a fresh namespace as an fd, made off the main thread', async (t) => {
  const before = ownNs();
  const [a, b] = await Promise.all([makeNetns(), makeNetns()]);
  t.not(fstatSync(a).ino, fstatSync(b).ino, 'two distinct namespaces');
  t.not(`net:[${fstatSync(a).ino}]`, before, 'not our own');
  t.equal(ownNs(), before, 'the main thread stayed home');
  const lo = JSON.parse(execFileSync('nsenter', [`--net=/proc/${process.pid}/fd/${a}`, 'ip', '-j', 'link', 'show', 'lo'], { encoding: 'utf8' }));
  t.ok(lo[0].flags.includes('UP'), 'lo is up already: a join sends nothing for it');
  const { closeSync } = await import('node:fs');
  closeSync(a);
  closeSync(b);
});

t.test('the pool fills, hands out distinct namespaces, and closes what it holds', async (t) => {
  const errors: string[] = [];
  const pool = new NetnsPool(3, (m) => errors.push(m));
  t.equal(pool.take(), undefined, 'empty at first: the caller makes one in line');
  t.ok(pool.low, 'and it is low');
  pool.refill();
  // it fills on a pool thread: wait until all three are there
  await waitFor('the pool holds 3 namespaces', () => (pool as unknown as { ready: number[] }).ready.length === 3);
  const taken = [pool.take(), pool.take(), pool.take()];
  t.ok(taken.every((fd) => typeof fd === 'number'), 'three ready after a moment');
  t.equal(pool.take(), undefined, 'a take does not refill by itself: the owner picks a quiet moment');
  t.equal(new Set(taken.map((fd) => fstatSync(fd!).ino)).size, 3, 'all distinct');
  await pool.close();
  t.same(errors, []);
  const { closeSync } = await import('node:fs');
  for (const fd of taken) closeSync(fd!);
});
