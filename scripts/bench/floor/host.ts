// The floor's host: a throwaway namespace with one plain bridge (no
// firewall: the floor is the kernel's link work only) and a tmpfs for the
// namespace files, as lnetd keeps its sandboxes.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHostNs } from '../netns.js';
import { runSync } from '../proc.js';
import { onCleanup, unmountUnder } from '../cleanup.js';

export const FLOOR_BRIDGE = 'br0';

export interface FloorHost { ns: string; netnsDir: string; prefix16: string }

export function createFloorHost(tmpDir: string, tag: string, prefix16: string): FloorHost {
  const ns = createHostNs(tag);
  const ip = (...args: string[]): void => { runSync('ip', ['-n', ns, ...args]); };
  ip('link', 'add', FLOOR_BRIDGE, 'type', 'bridge');
  ip('addr', 'add', `${prefix16}.0.1/16`, 'dev', FLOOR_BRIDGE);
  ip('link', 'set', FLOOR_BRIDGE, 'up');
  const netnsDir = join(tmpDir, tag, 'netns');
  mkdirSync(netnsDir, { recursive: true });
  onCleanup(`floor mounts under ${netnsDir}`, () => unmountUnder(netnsDir));
  runSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0755', `${tag}-netns`, netnsDir]);
  return { ns, netnsDir, prefix16 };
}
