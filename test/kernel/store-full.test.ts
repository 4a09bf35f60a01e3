// A full disk under the store (issue 9 item 1): the data dir on a 2 MB tmpfs
// in a throwaway mount namespace is filled until a write fails. From then on
// lnetd must acknowledge nothing that is not durable: writes are refused
// (503 STORE_UNAVAILABLE) and /_ping says the store failed, until the store is
// reopened cleanly; after that every acknowledged change survives a restart
// and reconcile tears down nothing that was acknowledged.

import t from 'tap';
import { TestDaemon } from '../lib/daemon.js';
import { MountNs } from '../lib/mountns.js';

t.setTimeout(120_000);

const cid = (n: number) => n.toString(16).padStart(4, '0').repeat(16);

/** Retry a write until the daemon takes it (it refuses while the store is failed). */
async function eventually(d: TestDaemon, method: string, path: string, body?: unknown): Promise<any> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await d.req(method, path, body);
    if (r.status === 200) return r.json;
    if (r.status !== 503 || Date.now() > deadline) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

const links = (d: TestDaemon): string[] => JSON.parse(d.exec(['ip', '-j', 'link']).stdout).map((l: any) => l.ifname);

t.test('after a write error nothing is acknowledged that is not durable', async (t) => {
  const mnt = await MountNs.make();
  const d = new TestDaemon([], { LNETD_STORE_REOPEN_MS: '300' });
  d.enter = mnt.enter;
  t.teardown(async () => { await d.cleanup(); mnt.cleanup(); });
  mnt.run(['mkdir', '-p', d.dataDir]);
  mnt.run(['mount', '-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', d.dataDir]);
  await d.start();
  const before = await d.ok('POST', '/networks', { name: 'before', ipam: { subnet: '10.171.0.0/24' } });

  // fill the disk, then write until the store fails
  mnt.run(['dd', 'if=/dev/zero', `of=${d.dataDir}/fill`, 'bs=64k'], true);
  let failed: any;
  for (let i = 0; i < 50 && !failed; i++) {
    const r = await d.req('POST', '/networks', { name: `full-${i}`, ipam: { subnet: `10.172.${i}.0/24` } });
    if (r.status !== 200) failed = r;
  }
  t.ok(failed, 'a write fails once the disk is full');
  t.equal(failed.status, 503, 'answered 503');
  t.equal(failed.json?.code, 'STORE_UNAVAILABLE', 'with code STORE_UNAVAILABLE');
  const ping = await d.req('GET', '/_ping');
  t.equal(ping.status, 503, '/_ping says the store failed');
  t.match(ping.text, /store/i);

  // free the space: writes are taken again only once the store reopened cleanly
  mnt.run(['rm', '-f', `${d.dataDir}/fill`]);
  const net = await eventually(d, 'POST', '/networks', { name: 'after', ipam: { subnet: '10.173.0.0/24' } });
  t.equal((await d.req('GET', '/_ping')).status, 200, '/_ping is OK again after the reopen');
  const acked: string[] = [];
  for (let i = 1; i <= 3; i++) {
    await d.ok('POST', `/networks/${net}/endpoints`, { name: `c${i}` });
    await d.ok('POST', `/networks/${net}/endpoints/c${i}/containers`, { container_id: cid(i) });
    acked.push(`c${i}`);
  }
  await d.ok('POST', `/networks/${before}/endpoints`, { name: 'gone' });
  await d.ok('DELETE', `/networks/${before}/endpoints/gone`);
  const eps = await d.ok('GET', `/networks/${net}/endpoints`);
  const veths = eps.map((e: any) => `lv${e.id.slice(0, 11)}`);
  t.ok(veths.every((v: string) => links(d).includes(v)), 'the joined containers are plugged in');

  // restart: everything acknowledged is there, and reconcile kept it
  t.equal(await d.stop('SIGTERM'), 0);
  await d.start();
  const names = (await d.ok('GET', '/networks')).map((n: any) => n.name);
  t.ok(names.includes('before') && names.includes('after'), 'networks acknowledged before and after the failure survive');
  t.same((await d.ok('GET', `/networks/${net}/endpoints`)).map((e: any) => e.name).sort(), acked, 'every acknowledged endpoint survives');
  t.same((await d.ok('GET', `/networks/${before}/endpoints`)), [], 'the acknowledged delete survives');
  const now = links(d);
  t.ok(veths.every((v: string) => now.includes(v)), 'reconcile kept the veths of acknowledged joins');
  t.ok(now.includes(`lnet-${net.slice(0, 8)}`), 'and the bridge');
});
