// IP forwarding, which bridge networks need: lnetd turns it on when it is
// off and says so, and remembers that it was the one to do it (a small file
// under the run dir, gone at reboot exactly when the sysctls reset). Where
// lnetd turned a family's forwarding on, the firewall drops forwarded
// traffic of that family that is neither to nor from an lnetd bridge, so the
// host does not start routing between its other interfaces because of lnetd
// (Docker sets the FORWARD policy to DROP for the same reason).
// Policy: auto (that), on (drop such traffic always), off (never).

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { wrap } from '../../errors/index.js';
import type { ForwardDrop } from './nft-rules.js';

export type ForwardPolicy = 'auto' | 'on' | 'off';

export interface ForwardingChange { sysctl: string; from: string; to: string }

const KEYS = { ipv4: 'net/ipv4/ip_forward', ipv6: 'net/ipv6/conf/all/forwarding' } as const;

function read(procSys: string, key: string): string | undefined {
  try {
    return readFileSync(join(procSys, ...key.split('/')), 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;  // no IPv6 in this kernel
    throw wrap(`sysctl ${key}`, err);
  }
}

function loadTurnedOn(file?: string): ForwardDrop {
  if (!file) return { ipv4: false, ipv6: false };
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<ForwardDrop>;
    return { ipv4: v.ipv4 === true, ipv6: v.ipv6 === true };
  } catch {
    return { ipv4: false, ipv6: false };
  }
}

export function ensureForwarding(o: { procSys: string; ipv6: boolean; file?: string; policy: ForwardPolicy }): { changes: ForwardingChange[]; turnedOn: ForwardDrop; drop: ForwardDrop } {
  const turnedOn = loadTurnedOn(o.file);
  const changes: ForwardingChange[] = [];
  for (const fam of ['ipv4', 'ipv6'] as const) {
    if (fam === 'ipv6' && !o.ipv6) continue;
    const key = KEYS[fam];
    const now = read(o.procSys, key);
    if (now === undefined || now === '1') continue;
    try {
      writeFileSync(join(o.procSys, ...key.split('/')), '1');
    } catch (err) {
      throw wrap(`sysctl ${key}=1`, err);
    }
    changes.push({ sysctl: key.replace(/\//g, '.'), from: now, to: '1' });
    turnedOn[fam] = true;
  }
  if (changes.length && o.file) {
    mkdirSync(dirname(o.file), { recursive: true, mode: 0o755 });
    writeFileSync(o.file, JSON.stringify(turnedOn) + '\n');
  }
  const drop = o.policy === 'on' ? { ipv4: true, ipv6: true } : o.policy === 'off' ? { ipv4: false, ipv6: false } : turnedOn;
  return { changes, turnedOn, drop };
}
