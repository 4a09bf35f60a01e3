// The firewall contract suite: the same cases through the `Firewall`
// interface against the fake firewall (unit tier) and NftFirewall (kernel
// tier, as root, inside a throwaway network namespace). What each installed
// is read back by an observer of its own (the fake's maps; `nft -j list` of
// the real table), reduced to the same shape: the bridges lnetd isolates and
// the port-map elements, `<map> <key> : <value>` as nft prints them. Same
// answers, same error codes on both, or this goes red.

import type { Test } from 'tap';
import type { Firewall, FwNetwork, FwPortMap } from '../../drivers/linux/firewall.js';

export interface Installed {
  /** Whether lnetd's table exists. */
  table: boolean;
  /** Bridges in the isolation set, sorted. */
  bridges: string[];
  /** Port-map elements, `<map> <key> : <value>`, sorted. */
  ports: string[];
}

export interface FirewallEnv {
  fw: Firewall;
  observe(): Promise<Installed>;
}

const A: FwNetwork = { id: 'a7'.repeat(32), bridge: 'lnet-a7a7a7a7', subnet4: '172.28.0.0/16', subnet6: 'fd28::/64', masquerade: true, icc: true, internal: false };
const B: FwNetwork = { id: 'b8'.repeat(32), bridge: 'lnet-b8b8b8b8', subnet4: '172.29.0.0/16', masquerade: false, icc: true, internal: true };

const pm = (net: FwNetwork, hostIp: string, hostPort: number, containerIp: string, proto: FwPortMap['proto'] = 'tcp', containerPort = 80): FwPortMap =>
  ({ networkId: net.id, proto, hostIp, hostPort, containerIp, containerPort, bridge: net.bridge });

export function firewallSuite(t: Test, make: (t: Test) => Promise<FirewallEnv>): void {
  t.test('init makes the table, empty; networks go in and out by id; a missing one removes as success', async (t) => {
    const { fw, observe } = await make(t);
    await fw.init();
    await fw.init();  // idempotent
    t.same(await observe(), { table: true, bridges: [], ports: [] });
    await fw.addNetwork(A);
    await fw.addNetwork(B);
    await fw.addNetwork(A);  // replace: the same again
    t.same((await observe()).bridges, [A.bridge, B.bridge].sort());
    await fw.removeNetwork(A.id);
    await fw.removeNetwork(A.id);  // missing is success
    t.same((await observe()).bridges, [B.bridge]);
    await fw.removeNetwork('cd'.repeat(32));
    t.pass('a network never installed removes as success');
  });

  t.test('port maps: one element each, keyed by proto, host address (or any) and port; the same again is a no-op', async (t) => {
    const { fw, observe } = await make(t);
    await fw.init();
    await fw.addNetwork(A);
    await fw.addPortMaps([pm(A, '', 8080, '172.28.0.2'), pm(A, '10.0.9.1', 8081, '172.28.0.3'), pm(A, '', 8080, 'fd28::2'), pm(A, '::1', 5353, 'fd28::3', 'udp', 53)]);
    await fw.addPortMaps([pm(A, '', 8080, '172.28.0.2')]);
    await fw.addPortMaps([]);
    t.same((await observe()).ports, [
      'ports4 tcp . 10.0.9.1 . 8081 : 172.28.0.3 . 80',
      'ports4_any tcp . 8080 : 172.28.0.2 . 80',
      'ports6 udp . ::1 . 5353 : fd28::3 . 53',
      'ports6_any tcp . 8080 : fd28::2 . 80',
    ]);
    t.same(await observe().then((o) => o.ports.filter((p) => p.includes('0.0.0.0'))), [], '0.0.0.0 is "any", not an address');
  });

  t.test('a host port leading elsewhere is PORT_IN_USE and the whole call changes nothing', async (t) => {
    const { fw, observe } = await make(t);
    await fw.init();
    await fw.addNetwork(A);
    await fw.addPortMaps([pm(A, '', 8080, '172.28.0.2')]);
    const before = await observe();
    await t.rejects(fw.addPortMaps([pm(A, '', 9090, '172.28.0.4'), pm(A, '', 8080, '172.28.0.3')]), { code: 'PORT_IN_USE' });
    t.same(await observe(), before, '9090, before the conflict in the same call, was not added either');
    await fw.removePortMaps([pm(A, '', 8080, '172.28.0.3')]);
    t.same(await observe(), before, 'removing a mapping that leads elsewhere leaves the port alone');
    await fw.removePortMaps([pm(A, '', 8080, '172.28.0.2')]);
    await fw.removePortMaps([pm(A, '', 8080, '172.28.0.2')]);  // missing is success
    t.same((await observe()).ports, [], 'our own mapping goes');
    await fw.addPortMaps([pm(A, '', 8080, '172.28.0.3')]);
    t.same((await observe()).ports, ['ports4_any tcp . 8080 : 172.28.0.3 . 80'], 'and the port is free for another');
  });

  t.test('bad input is refused with its code before anything changes', async (t) => {
    const { fw, observe } = await make(t);
    await fw.init();
    await fw.addNetwork(A);
    const before = await observe();
    await t.rejects(fw.addNetwork({ ...B, bridge: 'no good' }), { code: 'INVALID_NAME' });
    await t.rejects(fw.addNetwork({ ...B, id: 'not hex' }), { code: 'INVALID_NAME' });
    await t.rejects(fw.removeNetwork('x; flush ruleset'), { code: 'INVALID_NAME' });
    await t.rejects(fw.addPortMaps([pm(A, '', 0, '172.28.0.2')]), { code: 'INVALID_PORT' });
    await t.rejects(fw.addPortMaps([pm(A, '', 8080, '172.28.0.2'), pm(A, '', 70000, '172.28.0.2')]), { code: 'INVALID_PORT' });
    await t.rejects(fw.addPortMaps([pm(A, '', 8080, 'nope')]), { code: 'INVALID_ADDRESS' });
    await t.rejects(fw.addPortMaps([pm(A, '10.0.0.1', 8080, 'fd28::2')]), { code: 'INVALID_ADDRESS' }, 'families differ');
    await t.rejects(fw.addPortMaps([{ ...pm(A, '', 8080, '172.28.0.2'), proto: 'icmp' as FwPortMap['proto'] }]), { code: 'INVALID_PORT' });
    t.same(await observe(), before, 'nothing changed');
  });

  t.test('removeNetwork takes its published ports; restore replaces everything; destroy removes the table', async (t) => {
    const { fw, observe } = await make(t);
    await fw.init();
    await fw.addNetwork(A);
    await fw.addNetwork(B);
    await fw.addPortMaps([pm(A, '', 8080, '172.28.0.2'), pm(B, '', 8082, '172.29.0.2')]);
    await fw.removeNetwork(A.id);
    t.same(await observe(), { table: true, bridges: [B.bridge], ports: ['ports4_any tcp . 8082 : 172.29.0.2 . 80'] }, 'A and its port gone, B kept');
    await fw.restore([A], [pm(A, '', 8083, '172.28.0.5')]);
    t.same(await observe(), { table: true, bridges: [A.bridge], ports: ['ports4_any tcp . 8083 : 172.28.0.5 . 80'] }, 'only what restore was given');
    await fw.destroy();
    t.same(await observe(), { table: false, bridges: [], ports: [] });
    await fw.init();
    t.same(await observe(), { table: true, bridges: [], ports: [] }, 'init after destroy starts empty');
  });
}
