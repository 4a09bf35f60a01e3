// The shared driver suite (test/lib/driver-suite.ts) on the real kernel and
// nftables, for every driver the daemon runs, inside a throwaway host
// namespace (withHostNs) that is deleted afterwards with all it holds.

import t from 'tap';
import { randomBytes } from 'node:crypto';
import { NetlinkKernel } from '../../drivers/linux/netlink.js';
import { NftFirewall } from '../../drivers/linux/nftables.js';
import { drivers } from '../../daemon/daemon.js';
import { driverSuite } from '../lib/driver-suite.js';
import { withHostNs } from './_hostns.js';

t.setTimeout(120_000);

if (process.getuid?.() !== 0) {
  t.plan(0, 'kernel tests need root');
} else {
  const host = withHostNs(t);
  const kernel = new NetlinkKernel();
  t.teardown(() => kernel.close());
  const firewall = new NftFirewall();
  const all = drivers({ kernel, firewall, netnsDir: host.dir });
  for (const driver of all) {
    t.test(`driver ${driver.type} on the real kernel`, async (t) => {
      await driver.init();
      driverSuite(t, { kernel, driver, nsPath: host.nsPath, idSeed: randomBytes(6).toString('hex') });
    });
  }
}
