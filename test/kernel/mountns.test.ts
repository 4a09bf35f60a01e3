// A private mount namespace (issue 9 item 14): run so (`ip netns exec`, a unit
// with PrivateMounts=/PrivateTmp=), lnetd's sandbox mounts are invisible to
// every runtime in the host's mount namespace. It must say so at start.

import t from 'tap';
import { TestDaemon } from '../lib/daemon.js';
import { MountNs } from '../lib/mountns.js';

t.setTimeout(60_000);

const warned = (d: TestDaemon) => d.stdout.split('\n').some((l) => l.includes('private mount namespace'));

t.test('a private mount namespace is warned about; the host one is not', async (t) => {
  const plain = new TestDaemon();
  t.teardown(() => plain.cleanup());
  await plain.start();
  t.notOk(warned(plain), "in the host's mount namespace: no warning");

  const mnt = await MountNs.make();
  const d = new TestDaemon();
  d.enter = mnt.enter;
  t.teardown(async () => { await d.cleanup(); mnt.cleanup(); });
  await d.start();
  t.ok(warned(d), 'in a private one: warned at start');
  const line = JSON.parse(d.stdout.split('\n').find((l) => l.includes('private mount namespace'))!);
  t.equal(line.level, 40, 'as a warning');
  t.match(line.netns_dir, d.netnsDir, 'naming the netns dir whose mounts are hidden');
  const key = (await d.req('POST', '/networks/none/endpoints', { name: 'e' })).status === 200
    ? (await d.req('POST', '/networks/none/endpoints/e/containers', { container_id: 'a'.repeat(64) })).json
    : undefined;
  t.ok(key, 'it still serves');
  t.equal(mnt.run(['stat', '-f', '-c', '%T', key], true).stdout.trim(), 'nsfs', 'the sandbox is a namespace inside its mount namespace');
  t.not(plain.exec(['stat', '-f', '-c', '%T', key]).stdout.trim(), 'nsfs', 'and not in the host one: what the warning is about');
});
