// A bridge name is checked once, by the rule the driver and the firewall layer
// share (drivers/linux/ifname.ts), when the request is validated: a name the
// kernel would take but the firewall would not is a 400 naming the option
// before any kernel call. And a network create that fails after changing a
// sysctl puts it back.

import t from 'tap';
import { InProc } from '../lib/inproc.js';
import { validBridgeName } from '../../drivers/linux/ifname.js';
import { checkNetwork } from '../../drivers/linux/nft-rules.js';
import { normaliseBridgeOptions } from '../../drivers/bridge/options.js';

// accepted by the kernel's dev_valid_name, not by the firewall's rule
const KERNEL_ONLY = ['br@1', 'br"x', 'br+1', 'br;x', 'é', '-br', 'br{x}', 'br#1'];

t.test('driver and firewall agree on every name', async (t) => {
  const names = [...KERNEL_ONLY, 'br0', 'lnet-0123abcd', 'a', 'br-test.1_x', '123456789012345', '1234567890123456', '.', '..', 'a/b', 'a:b', 'a b', ''];
  for (const name of names) {
    let driver = true;
    try { normaliseBridgeOptions({ bridge_name: name }); } catch { driver = false; }
    let firewall = true;
    try { checkNetwork({ id: 'a'.repeat(64), bridge: name, masquerade: true, icc: true, internal: false }); } catch { firewall = false; }
    t.equal(driver, firewall, `${JSON.stringify(name)}: driver ${driver}, firewall ${firewall}`);
    t.equal(driver, validBridgeName(name));
  }
});

t.test('a bridge name the firewall would refuse is a 400 before any kernel call', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  for (const name of KERNEL_ONLY) {
    const calls = p.kernel.calls.length;
    const fw = p.firewall.calls.length;
    const r = await p.req('POST', '/networks', { name: 'n', network_type: 'bridge', options: { 'com.docker.network.bridge.name': name } });
    t.equal(r.status, 400, `${name}: ${r.text}`);
    t.equal(r.json?.code, 'INVALID_OPTION');
    t.match(r.json?.message, /com\.docker\.network\.bridge\.name/);
    t.same(p.kernel.calls.slice(calls).map((c) => c.method), [], `${name}: no kernel call`);
    t.same(p.firewall.calls.slice(fw), [], `${name}: no firewall call`);
  }
  const d = await p.docker('POST', '/networks/create', { Name: 'd', Options: { 'com.docker.network.bridge.name': 'br@1' } });
  t.equal(d.status, 400, `Docker API: ${d.text}`);
  t.equal((await p.req('GET', '/networks')).json.filter((n: { name: string }) => n.name === 'n' || n.name === 'd').length, 0, 'no network');
  t.equal((await p.req('POST', '/networks', { name: 'ok', network_type: 'bridge', options: { bridge_name: 'br-test.1_x' } })).status, 200, 'a name both accept');
});

t.test('a failed network create puts back the sysctl it set', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  // the predefined bridge network turned it on; an operator turned it off since
  await p.kernel.writeSysctl('net/ipv4/ip_forward', '0');
  const bridges = async () => (await p.kernel.links()).filter((l) => l.kind === 'bridge').map((l) => l.name).sort();
  const before = await bridges();
  p.firewall.failNext('addNetwork');
  const r = await p.req('POST', '/networks', { name: 'f', network_type: 'bridge' });
  t.equal(r.status, 500, r.text);
  t.equal(await p.kernel.readSysctl('net/ipv4/ip_forward'), '0', 'forwarding off again');
  t.same(await bridges(), before, 'no bridge left');
  t.equal((await p.req('POST', '/networks', { name: 'f', network_type: 'bridge' })).status, 200);
  t.equal(await p.kernel.readSysctl('net/ipv4/ip_forward'), '1', 'a network that exists turns it on');
});
