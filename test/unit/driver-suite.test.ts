// The shared driver suite (test/lib/driver-suite.ts) on the fake kernel and
// firewall, for every driver the daemon runs; and the suite's own check: a
// bridge driver whose join returns at once, or whose leave leaves its
// interface, must be caught.

import t from 'tap';
import { randomBytes } from 'node:crypto';
import type { Driver, JoinTarget } from '../../drivers/driver.js';
import { BridgeDriver } from '../../drivers/bridge/bridge.js';
import { FakeFirewall } from '../lib/fake-firewall.js';
import { FakeKernel } from '../lib/fake-kernel.js';
import { drivers } from '../../daemon/daemon.js';
import { BRIDGE_FAULT_STEPS } from '../../drivers/bridge/bridge.js';
import { FAULT_STEPS } from '../../daemon/fault.js';
import { driverSuite, endpointRecord, joinProblems, leaveProblems, networkRecord } from '../lib/driver-suite.js';

const NETNS = '/run/lnetd-suite/netns';
let n = 0;
const nsPath = (label: string) => `${NETNS}/${label}-${++n}`;

for (const type of drivers({ kernel: new FakeKernel(), firewall: new FakeFirewall(), netnsDir: NETNS }).map((d) => d.type)) {
  t.test(`driver ${type} on the fake kernel`, async (t) => {
    const kernel = new FakeKernel();
    const driver = drivers({ kernel, firewall: new FakeFirewall(), netnsDir: NETNS }).find((d) => d.type === type)!;
    await driver.init();
    driverSuite(t, { kernel, driver, nsPath, idSeed: randomBytes(6).toString('hex') });
  });
}

t.test('every fault step a driver or the controller names is walked by LNETD_FAULT', async (t) => {
  t.same(BRIDGE_FAULT_STEPS.filter((s) => !(FAULT_STEPS as readonly string[]).includes(s)), []);
});

t.test('the suite catches a join that does nothing and a leave that leaves', async (t) => {
  const kernel = new FakeKernel();
  const bridge = new BridgeDriver({ kernel, firewall: new FakeFirewall(), netnsDir: NETNS });
  const lazy: Driver = Object.assign(Object.create(bridge) as Driver, { join: async () => undefined });
  const sticky: Driver = Object.assign(Object.create(bridge) as Driver, { leave: async () => undefined });
  const net = networkRecord(bridge, 'abcdef01', 9);
  net.driver = await bridge.createNetwork(net);
  const ep = endpointRecord(net, 1);
  const tg: JoinTarget = { containerId: 'x', key: nsPath('x'), isDefault: false, ifname: 'eth0', gatewayProvider: true };
  await kernel.createNetns(tg.key);
  await lazy.join(net, ep, tg);
  t.match(await joinProblems(kernel, lazy, net, ep, tg), [/no interface eth0/], 'a join that returns at once fails the check');
  await bridge.join(net, ep, tg);
  t.same(await joinProblems(kernel, bridge, net, ep, tg), [], 'the real join passes it');
  await sticky.leave(net, ep, tg);
  t.match(await leaveProblems(kernel, sticky, net, ep, tg), [/eth0 is still in the sandbox/], 'a leave that does nothing fails the check');
});
