// Namespace files on the real kernel: a failed create never unmounts or
// removes what was at the path before (another sandbox's namespace, a symlink,
// someone's file), a delete never follows a symlink, and a leftover mount
// point is reused only when it is the empty file lnetd made. Then the daemon:
// a container called `default` gets a sandbox of its own and the host
// network's sandbox stays alive.

import t from 'tap';
import { chmodSync, lstatSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetlinkKernel } from '../../drivers/linux/netlink.js';
import { MOUNT_POINT_MODE } from '../../drivers/linux/native.js';
import { TestDaemon } from '../lib/daemon.js';
import { withHostNs } from './_hostns.js';

const mounted = (p: string): boolean => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === p);

/** Wait until the kernel's namespace pool holds a ready namespace (it fills on a pool thread). */
async function poolReady(k: NetlinkKernel): Promise<void> {
  const pool = (k as unknown as { pool?: { ready: number[] } }).pool;
  for (let i = 0; i < 400 && pool && pool.ready.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  if (pool && pool.ready.length === 0) throw new Error('namespace pool never filled');
}

if (process.getuid?.() !== 0) {
  t.plan(0, 'kernel tests need root');
} else {
  const host = withHostNs(t);

  for (const pool of [0, 2]) {
    t.test(`pool ${pool}: a failed create leaves the namespace already at the path alone`, async (t) => {
      const k = new NetlinkKernel({ pool });
      t.teardown(() => k.close());
      const p = host.nsPath('live');
      await k.createNetns(p);
      await poolReady(k);
      await t.rejects(k.createNetns(p), { code: 'EEXIST' }, 'the path is taken');
      t.ok(mounted(p) && (await k.isNetns(p)), 'the first namespace is still mounted there');
      t.same((await k.links(p)).map((l) => l.name), ['lo'], 'and still answers');
      await k.deleteNetns(p);
    });
  }

  t.test('symlinks and files of others at a key are never mounted over, unmounted or removed', async (t) => {
    const k = new NetlinkKernel({ pool: 0 });
    t.teardown(() => k.close());
    const target = host.nsPath('target');
    await k.createNetns(target);
    const link = join(host.dir, 'link');
    symlinkSync(target, link);
    await t.rejects(k.createNetns(link), { code: 'EEXIST' }, 'a symlink at the path is refused');
    await t.rejects(k.deleteNetns(link), { code: 'EEXIST' }, 'delete reports the symlink instead of following it');
    t.ok(lstatSync(link).isSymbolicLink(), 'the symlink stays');
    t.ok(mounted(target), 'and what it points at is still mounted');

    const theirs = join(host.dir, 'theirs');
    writeFileSync(theirs, '', { mode: 0o644 });
    await t.rejects(k.createNetns(theirs), { code: 'EEXIST' }, "an empty file lnetd did not make is not reused");
    t.notOk(mounted(theirs));
    const full = join(host.dir, 'full');
    writeFileSync(full, 'data');
    chmodSync(full, MOUNT_POINT_MODE);
    await t.rejects(k.createNetns(full), { code: 'EEXIST' }, 'nor a file with content');
    t.equal(readFileSync(full, 'utf8'), 'data');

    const ours = join(host.dir, 'ours');
    writeFileSync(ours, '');
    chmodSync(ours, MOUNT_POINT_MODE);
    await k.createNetns(ours);
    t.ok(mounted(ours), 'a leftover mount point of our own (a crash before the mount) is reused');
    await k.deleteNetns(ours);
    await k.deleteNetns(target);
  });

  t.test('the daemon: container `default` does not take the host sandbox', async (t) => {
    const d = new TestDaemon();
    t.teardown(() => d.cleanup());
    await d.start();
    const hostKey = `${d.netnsDir}/default`;
    const nul = (await d.req('GET', '/networks?name=none')).json[0].id;
    await d.req('POST', `/networks/${nul}/endpoints`, { name: 'x' });
    const j = await d.req('POST', `/networks/${nul}/endpoints/x/containers`, { container_id: 'default' });
    t.equal(j.status, 200, j.text);
    t.not(j.json, hostKey);
    t.ok(mounted(hostKey), 'the host sandbox is still mounted');
    const hostNet = (await d.req('GET', '/networks?name=host')).json[0].id;
    await d.req('POST', `/networks/${hostNet}/endpoints`, { name: 'h' });
    const h = await d.req('POST', `/networks/${hostNet}/endpoints/h/containers`, { container_id: 'webapp' });
    t.equal(h.json, hostKey);
    const inside = d.exec(['nsenter', `--net=${h.json}`, 'readlink', '/proc/self/ns/net']).stdout;
    t.equal(inside, d.exec(['readlink', '/proc/self/ns/net']).stdout, 'and answers the daemon namespace');
  });
}
