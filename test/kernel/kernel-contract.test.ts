// The kernel contract suite on the real kernel (NetlinkKernel), inside a
// throwaway host namespace; test/unit/kernel-contract runs the same cases on
// the fake kernel, so the fake answers like the kernel.

import t from 'tap';
import { NetlinkKernel } from '../../drivers/linux/netlink.js';
import { kernelSuite } from '../lib/kernel-suite.js';
import { withHostNs } from './_hostns.js';

if (process.getuid?.() !== 0) {
  t.plan(0, 'kernel tests need root');
} else {
  // one throwaway host namespace for the file: the kernel takes it as its own;
  // each case uses names of its own and makes its own sandboxes in host.dir
  const host = withHostNs(t);
  const kernel = new NetlinkKernel();
  t.teardown(() => kernel.close());
  kernelSuite(t, async () => ({ kernel, nsPath: (label) => host.nsPath(label) }));
}
