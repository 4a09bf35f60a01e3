// Sandbox keys: the netns path a container's sandbox lives at. The mapping
// from container id to file name is injective, so two containers can never be
// handed the same namespace:
// - an id that is already a safe file name (a letter or digit, then letters,
//   digits, "_", "." or "-", up to 128 bytes) is its own name, in full: a
//   12-character prefix collides as soon as two runtimes' ids share it;
// - any other id (longer, other characters, or a name lnetd keeps for itself
//   such as `default`, the host's namespace) becomes "_" + 40 hex of its
//   SHA-256. Direct names start with a letter or digit, so the two forms never
//   meet; the controller still checks the key is free under the key's lock.

import { createHash } from 'node:crypto';
import { join } from 'node:path';

const DIRECT = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

/** Names in the netns dir that lnetd uses itself and no container may get. */
export const RESERVED_KEY_NAMES: ReadonlySet<string> = new Set(['default']);

/** The file name of a container's sandbox in the netns dir. */
export function sandboxKeyName(containerId: string): string {
  if (DIRECT.test(containerId) && !RESERVED_KEY_NAMES.has(containerId)) return containerId;
  return `_${createHash('sha256').update(containerId).digest('hex').slice(0, 40)}`;
}

/** The sandbox key (netns path) of a container. */
export function sandboxKey(netnsDir: string, containerId: string): string {
  return join(netnsDir, sandboxKeyName(containerId));
}

/** The lock every join and leave of that key takes, so reserving it is atomic across networks. */
export const keyLock = (key: string): string => `sbkey:${key}`;
