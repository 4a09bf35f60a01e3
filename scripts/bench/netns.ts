// Throwaway "host" namespaces: one per system, loopback up, no route out, so
// every bridge, veth and firewall rule a system makes lives and dies in there.

import { PREFIX, RUN_ID, deleteNetns, onCleanup } from './cleanup.js';
import { runSync } from './proc.js';

export function hostNsName(tag: string): string {
  return `${PREFIX}${tag}-${RUN_ID}`;
}

export function createHostNs(tag: string): string {
  const name = hostNsName(tag);
  onCleanup(`netns ${name}`, () => deleteNetns(name));
  runSync('ip', ['netns', 'add', name]);
  runSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

export function hostNsPath(name: string): string {
  return `/run/netns/${name}`;
}
