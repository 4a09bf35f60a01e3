// Assembly: store, kernel, firewall, drivers and controller, and the start-up
// sequence (recover the journal, bind the default sandbox, reconcile the
// kernel with the records, make the predefined ones).

import { mkdir } from 'node:fs/promises';
import { DEFAULT_POOLS_V4, DEFAULT_POOLS_V6, parseDefaultPools } from '../drivers/ipam/index.js';
import type { IpamPool } from '../drivers/ipam/pools.js';
import type { Driver, DriverContext } from '../drivers/driver.js';
import { NullDriver } from '../drivers/null/null.js';
import { HostDriver } from '../drivers/host/host.js';
import { BridgeDriver } from '../drivers/bridge/bridge.js';
import type { Kernel } from '../drivers/linux/kernel.js';
import type { Firewall } from '../drivers/linux/firewall.js';
import type { PortReserver } from '../drivers/linux/port-reserve.js';
import type { Store } from '../store/store.js';
import { Controller, type Logger } from './controller/controller.js';
import { filePolicy } from './files/policy.js';
import { ensurePredefined } from './controller/networks.js';
import { recoverJournal } from './controller/recover.js';
import { reconcile } from './controller/reconcile.js';
import { setMark } from './controller/sweep.js';
import type { Config } from './config.js';

export interface Parts {
  store: Store;
  kernel: Kernel;
  firewall: Firewall;
  log: Logger;
  fault?: (step: string) => void;
  /** This daemon's instance id (daemon/instance.ts): the mark on what it makes. */
  instance?: string;
  /** Where published host ports are reserved (main: real sockets; tests: in memory). */
  ports: PortReserver;
}

/** Pools from the config (parsed by loadConfig) or a spec string (tests that build a Config by hand). */
function poolsOf(given: Config['defaultAddressPools'], dflt: readonly IpamPool[]): readonly IpamPool[] {
  if (given === undefined) return dflt;
  return typeof given === 'string' ? parseDefaultPools(given) : given;
}

export function drivers(ctx: DriverContext): Driver[] {
  return [new NullDriver(), new HostDriver(), new BridgeDriver(ctx)];
}

export async function startController(cfg: Pick<Config, 'netnsDir' | 'defaultAddressPools' | 'defaultAddressPools6'> & Partial<Pick<Config, 'eventsMax' | 'minSubnetPrefix'>> & Partial<Pick<Config, 'dataDir' | 'socket' | 'filesDirs' | 'runDir'>>, parts: Parts): Promise<Controller> {
  await mkdir(cfg.netnsDir, { recursive: true, mode: 0o755 });
  const dir = await parts.kernel.prepareNetnsDir(cfg.netnsDir);
  if (dir === 'skipped') parts.log.warn({ netns_dir: cfg.netnsDir }, 'netns dir is on disk and not empty: not putting it on a tmpfs (each sandbox costs a disk file)');
  const mark = parts.instance ? `lnetd:${parts.instance}` : undefined;
  const ctx: DriverContext = { kernel: parts.kernel, firewall: parts.firewall, netnsDir: cfg.netnsDir, fault: parts.fault, mark };
  const ipam = {
    pools4: poolsOf(cfg.defaultAddressPools, DEFAULT_POOLS_V4),
    pools6: poolsOf(cfg.defaultAddressPools6, DEFAULT_POOLS_V6),
    minPrefix: cfg.minSubnetPrefix,
  };
  const files = filePolicy({ filesDirs: cfg.filesDirs, dataDir: cfg.dataDir, netnsDir: cfg.netnsDir, socket: cfg.socket, runDir: cfg.runDir });
  const c = new Controller({ store: parts.store, drivers: drivers(ctx), ctx, ipam, log: parts.log, fault: parts.fault, files, eventsMax: cfg.eventsMax, ports: parts.ports });
  // each driver takes what it needs first (the bridge driver: lnetd's firewall
  // table, two nft processes); that reads no records, so it runs while they load
  const init = (async () => { for (const d of c.drivers.values()) await d.init(); })();
  const load = (async () => { await c.state.load(parts.store); await c.events.load(); })();
  await Promise.all([init, load]);
  await recoverJournal(c);
  // every published port of the records held again, before the API answers
  c.hostPorts.sync();
  if (!(await parts.kernel.isNetns(c.defaultSandboxKey))) await parts.kernel.bindOwnNetns(c.defaultSandboxKey);
  // after a reboot or a crash the records and the kernel disagree: the records win
  setMark(c, mark);
  await reconcile(c, parts.firewall);
  await ensurePredefined(c);
  return c;
}
