// The kernel contract suite on the fake kernel; test/kernel/kernel-contract
// runs the same cases on the real one, so the fake answers like the kernel.

import t from 'tap';
import { kernelSuite } from '../lib/kernel-suite.js';
import { FakeKernel } from '../lib/fake-kernel.js';

kernelSuite(t, async () => {
  let n = 0;
  return { kernel: new FakeKernel(), nsPath: (label) => `/run/lnetd-fake/netns/${label}-${++n}` };
});
