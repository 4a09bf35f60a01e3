// FakeFirewall: same validation and key semantics as NftFirewall, all-or-nothing calls, failure injection.
import t from 'tap';
import { FakeFirewall } from '../lib/fake-firewall.js';
import type { FwNetwork, FwPortMap } from '../../drivers/linux/firewall.js';

const NET: FwNetwork = { id: 'ab'.repeat(32), bridge: 'lnet-abababab', subnet4: '172.18.0.0/16', masquerade: true, icc: true, internal: false };
const PM: FwPortMap = { networkId: NET.id, proto: 'tcp', hostIp: '', hostPort: 8080, containerIp: '172.18.0.2', containerPort: 80, bridge: NET.bridge };

t.test('records networks and port maps', async (t) => {
  const fw = new FakeFirewall();
  await fw.init();
  await fw.addNetwork(NET);
  await fw.addPortMaps([PM, { ...PM, hostIp: '10.0.0.1' }]);
  await fw.addPortMaps([PM]); // the same mapping again is a no-op, as in nft
  t.ok(fw.initialized);
  t.same([...fw.networks.keys()], [NET.id]);
  t.same([...fw.portMaps.keys()], ['ports4_any tcp . 8080', 'ports4 tcp . 10.0.0.1 . 8080']);
  t.same(fw.calls, ['init', `addNetwork ${NET.id}`, 'addPortMaps 2', 'addPortMaps 1']);
  t.equal(fw.layout, 'fake/1');
});

t.test('a taken host port is a PORT_IN_USE conflict and changes nothing', async (t) => {
  const fw = new FakeFirewall();
  await fw.addPortMaps([PM]);
  await t.rejects(fw.addPortMaps([{ ...PM, hostPort: 9090 }, { ...PM, containerIp: '172.18.0.3' }]), { code: 'PORT_IN_USE', kind: 'conflict' });
  t.same([...fw.portMaps.keys()], ['ports4_any tcp . 8080'], '9090 was not added either');
  await fw.removePortMaps([{ ...PM, containerIp: '172.18.0.3' }]);
  t.equal(fw.portMaps.size, 1, 'removing a mapping that is not ours leaves the port alone');
  await fw.removePortMaps([PM]);
  await fw.removePortMaps([PM]);
  t.equal(fw.portMaps.size, 0, 'missing is success');
});

t.test('bad input is rejected before anything is recorded', async (t) => {
  const fw = new FakeFirewall();
  await t.rejects(fw.addNetwork({ ...NET, bridge: 'no good' }), { code: 'INVALID_NAME' });
  await t.rejects(fw.addPortMaps([{ ...PM, hostPort: 0 }]), { code: 'INVALID_PORT' });
  t.same(fw.calls, []);
});

t.test('failure injection for undo paths', async (t) => {
  const fw = new FakeFirewall();
  fw.failNext('addNetwork');
  await t.rejects(fw.addNetwork(NET), { message: /injected addNetwork/ });
  t.equal(fw.networks.size, 0);
  await fw.addNetwork(NET);
  fw.failNext('addPortMaps', Object.assign(new Error('boom'), { code: 'EEXEC' }), 2);
  await t.rejects(fw.addPortMaps([PM]), { code: 'EEXEC' });
  await t.rejects(fw.addPortMaps([PM]), { code: 'EEXEC' });
  await fw.addPortMaps([PM]);
  t.equal(fw.count('addPortMaps'), 3);
  t.same(fw.calls.filter((c) => c.startsWith('!')), [`!addNetwork ${NET.id}`, '!addPortMaps 1', '!addPortMaps 1']);
});

t.test('removeNetwork drops its ports; restore and destroy replace everything', async (t) => {
  const fw = new FakeFirewall();
  await fw.addNetwork(NET);
  await fw.addPortMaps([PM]);
  await fw.removeNetwork(NET.id);
  await fw.removeNetwork(NET.id);
  t.same([fw.networks.size, fw.portMaps.size], [0, 0]);
  await fw.restore([NET], [PM]);
  t.same([fw.networks.size, fw.portMaps.size], [1, 1]);
  await fw.destroy();
  t.same([fw.networks.size, fw.portMaps.size, fw.initialized], [0, 0, false]);
});
