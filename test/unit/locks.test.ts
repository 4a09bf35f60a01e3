// Keyed locks with shared and exclusive holders: shared holders of a key run
// at once, an exclusive one runs alone, waiters are served in arrival order
// (an exclusive waiter is not starved by later shared ones), and two
// operations taking overlapping keys never deadlock.

import t from 'tap';
import { Locks } from '../../daemon/controller/locks.js';

const tick = () => new Promise((r) => setImmediate(r));

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => { open = r; });
  return { wait, open };
}

t.test('shared holders overlap; an exclusive one waits for them and runs alone', async (t) => {
  const l = new Locks();
  const log: string[] = [];
  const g1 = gate(); const g2 = gate(); const g3 = gate();
  const a = l.with(['ep:1'], async () => { log.push('a in'); await g1.wait; log.push('a out'); }, ['net:x']);
  const b = l.with(['ep:2'], async () => { log.push('b in'); await g2.wait; log.push('b out'); }, ['net:x']);
  const x = l.with(['net:x'], async () => { log.push('x in'); await g3.wait; log.push('x out'); });
  const c = l.with(['ep:3'], async () => { log.push('c in'); }, ['net:x']);
  await tick();
  t.same(log, ['a in', 'b in'], 'two shared holders of net:x at once');
  g2.open(); await tick();
  t.same(log, ['a in', 'b in', 'b out'], 'the exclusive waiter waits for every shared holder');
  g1.open(); await tick();
  t.same(log.slice(3), ['a out', 'x in'], 'then runs, and the later shared waiter does not get ahead of it');
  g3.open();
  await Promise.all([a, b, x, c]);
  t.same(log.slice(5), ['x out', 'c in'], 'the shared waiter runs once the exclusive holder is done');
});

t.test('the same exclusive key serialises; a key in both lists is exclusive', async (t) => {
  const l = new Locks();
  let inside = 0; let most = 0;
  const job = () => l.with(['ep:1'], async () => { inside++; most = Math.max(most, inside); await tick(); inside--; }, ['net:x', 'ep:1']);
  await Promise.all([job(), job(), job()]);
  t.equal(most, 1, 'never two holders of ep:1');
});

t.test('a failing holder releases its keys; overlapping key sets do not deadlock', async (t) => {
  const l = new Locks();
  await t.rejects(l.with(['a'], async () => { throw new Error('boom'); }, ['b']), /boom/);
  const order: string[] = [];
  await Promise.all([
    l.with(['b', 'a'], async () => { await tick(); order.push('1'); }),
    l.with(['a'], async () => { await tick(); order.push('2'); }, ['b']),
    l.with(['c'], async () => { order.push('3'); }, ['a']),
  ]);
  t.same(order.sort(), ['1', '2', '3'], 'all three finished');
  t.equal((l as unknown as { slots: Map<string, unknown> }).slots.size, 0, 'no entry left behind');
});
