// The driver contract, run against every driver on the fake kernel and
// firewall: validation is pure, creation and teardown are idempotent, a join
// is undone by its leave, leave works when the sandbox is already gone, and
// deleting the network leaves the kernel as it found it.

import t from 'tap';
import type { Driver, JoinTarget } from '../../drivers/driver.js';
import { FakeFirewall } from '../../drivers/linux/fake-firewall.js';
import { FakeKernel } from '../../drivers/linux/fake.js';
import type { EndpointRecord, NetworkRecord } from '../../store/records.js';
import { drivers } from '../../daemon/daemon.js';

const NETNS = '/run/lnetd-suite/netns';

function record(d: Driver, raw: Record<string, unknown>): NetworkRecord {
  const s = d.validateNetwork(raw);
  const n: NetworkRecord = {
    version: 1, id: 'cd'.repeat(32), name: `suite-${d.type}`, type: d.type, created: '', predefined: false,
    internal: s.internal, enableIpv6: false, options: s.options, driver: {},
  };
  if (s.needsIpam) n.ipv4 = { subnet: '10.61.0.0/24', gateway: '10.61.0.1', aux: {} };
  return n;
}

function endpoint(n: NetworkRecord, i: number): EndpointRecord {
  return {
    version: 1, id: `${i}`.repeat(64), name: `e${i}`, networkId: n.id, created: '', exposedPorts: [], portMapping: [],
    ipv4: n.ipv4 ? `10.61.0.${i + 1}/24` : undefined, mac: n.ipv4 ? `02:42:0a:3d:00:0${i + 1}` : undefined, service: false, driver: {},
  };
}

const snapshot = async (k: FakeKernel, f: FakeFirewall) =>
  JSON.stringify({ links: await k.links(), addrs: await k.addresses(), ns: k.netnsPaths(), nets: [...f.networks.keys()], ports: [...f.portMaps.keys()] });

const make = (k: FakeKernel, f: FakeFirewall) => drivers({ kernel: k, firewall: f, netnsDir: NETNS });

for (const type of make(new FakeKernel(), new FakeFirewall()).map((d) => d.type)) {
    t.test(`driver ${type}`, async (t) => {
      const kernel = new FakeKernel();
      const firewall = new FakeFirewall();
      const d = make(kernel, firewall).find((x) => x.type === type)!;
      const before = await snapshot(kernel, firewall);

      const calls = kernel.calls.length;
      const n = record(d, {});
      t.equal(kernel.calls.length, calls, 'validateNetwork touches no kernel');
      t.throws(() => d.validateNetwork({ bad: { nested: true } }), { code: 'INVALID_OPTION' }, 'a non-scalar option is a BadRequest');

      n.driver = await d.createNetwork(n);
      const e = endpoint(n, 2);
      e.driver = await d.createEndpoint(n, e);
      const key = `${NETNS}/c2`;
      await kernel.createNetns(key);
      const target: JoinTarget = { containerId: 'c2', key, isDefault: false, ifname: 'eth0', gatewayProvider: true };
      await d.join(n, e, target);
      await d.leave(n, e, target);
      await d.leave(n, e, target);
      t.pass('leave twice is fine');

      await d.join(n, e, target);
      await kernel.deleteNetns(key);
      await d.leave(n, e, target);
      t.pass('leave after the sandbox was deleted by someone else');

      await d.deleteEndpoint(n, e);
      await d.deleteEndpoint(n, e);
      await d.deleteNetwork(n);
      await d.deleteNetwork(n);
      t.pass('deletes are idempotent');
      t.equal(await snapshot(kernel, firewall), before, 'the kernel and firewall are as they were');
    });
  }
