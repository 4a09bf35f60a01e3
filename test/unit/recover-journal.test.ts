// Journal recovery does work of its own, which start-up reconcile would not
// do: these fail with recovery disabled (checked: recoverJournal returning at
// once, and one that only drops the intents without replaying them). A join
// a crash interrupted is undone by recovery, the temporary copy of a sandbox
// file the kill left beside it included (reconcile knows nothing of files).

import t from 'tap';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InProc } from '../lib/inproc.js';
import { tempPrefix } from '../../daemon/files/write.js';

const cid = 'd'.repeat(64);

t.test('a join a crash interrupted is undone at the next start, its sandbox files\' temporaries too', async (t) => {
  const p = await new InProc().start({ fault: (step) => { if (step === 'join:after-driver') throw new Error('crash here'); } });
  t.teardown(() => p.close());
  const net = (await p.req('POST', '/networks', { name: 'rj', network_type: 'bridge', ipam: { subnet: '10.65.0.0/24' } })).json;
  const ep = (await p.req('POST', `/networks/${net}/endpoints`, { name: 'e' })).json;
  const hosts = join(p.filesDir, 'hosts');
  const { Controller } = await import('../../daemon/controller/controller.js');
  const origClear = Controller.prototype.clearIntent;
  Controller.prototype.clearIntent = async () => undefined;  // keep the intent, as a kill would
  const r = await p.req('POST', `/networks/${net}/endpoints/${ep}/containers`, { container_id: cid, hosts_path: hosts });
  Controller.prototype.clearIntent = origClear;
  t.equal(r.status, 500, 'the join "crashed"');
  t.equal((await p.store.entries('journal')).length, 1, 'its intent is left');
  const stray = join(p.filesDir, `${tempPrefix('hosts')}0123456789abcdef`);
  writeFileSync(stray, 'half written');  // what a kill between write and rename leaves
  const q = await p.restart();
  t.teardown(() => q.stopServing());
  t.same(await p.store.entries('journal'), [], 'the intent is done');
  t.notOk(existsSync(stray), 'recovery swept the temporary copy beside the sandbox file');
  t.same(readdirSync(p.filesDir).filter((f) => f.startsWith('.')), [], 'nothing else left beside it');
  t.equal((await q.req('GET', `/networks/${net}/endpoints/${ep}`)).json.container_id, '', 'the endpoint is not joined');
  t.same((await q.kernel.links()).filter((l) => l.kind === 'veth'), [], 'no veth of the undone join');
  t.equal((await q.req('POST', `/networks/${net}/endpoints/${ep}/containers`, { container_id: cid })).status, 200, 'the runtime\'s retry joins');
});
