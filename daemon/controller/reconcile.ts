// Start-up reconcile, after journal recovery: make the kernel say what the
// records say. Sandboxes whose namespace is gone (a reboot, or someone ran
// `ip netns del`) are released; kernel objects with our prefix that no record
// explains are removed; bridges, gateway addresses and firewall rules the
// records need are re-created. Every step is idempotent: a crash in the middle
// is finished by the next start. Nothing without our prefix is touched.

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { sandboxKey } from './sandbox-key.js';
import { defaultBridgeName, hostVethName } from '../../drivers/bridge/bridge.js';
import type { JoinTarget } from '../../drivers/driver.js';
import type { Firewall, FwNetwork, FwPortMap } from '../../drivers/linux/firewall.js';
import type { SandboxRecord } from '../../store/records.js';
import type { BatchOp, Kind } from '../../store/store.js';
import type { Controller } from './controller.js';

/** Names lnetd gives (DESIGN "Kernel rules"); anything else is not ours. */
const OUR_BRIDGE = /^lnet-[0-9a-f]{8}$/;
const OUR_VETH = /^lv[0-9a-f]{11}$/;

export interface ReconcileReport {
  released: string[];   // container ids whose sandbox namespace was gone
  links: string[];      // unexplained bridges and veths removed
  netns: string[];      // unexplained namespace files removed from the netns dir
  networks: number;     // networks restored
  ports: number;        // published ports in the rebuilt firewall
}

/** Keys of records the store could not read: what they explain is kept, not swept. */
function unreadableKeys(c: Controller, kind: Kind): string[] {
  const list = (c.store as { unreadable?: Array<{ kind: Kind; key: string }> }).unreadable ?? [];
  return list.filter((u) => u.kind === kind).map((u) => u.key);
}

/** Unplug every endpoint of a sandbox whose namespace is gone and drop the
 *  sandbox; the endpoints keep their addresses and port reservations. */
export async function releaseSandbox(c: Controller, sb: SandboxRecord): Promise<void> {
  const ops: BatchOp[] = [];
  for (const id of sb.endpoints) {
    const ep = c.state.endpoints.get(id);
    const net = ep && c.state.networks.get(ep.networkId);
    if (!ep || !net || ep.container !== sb.containerId) continue;
    const target: JoinTarget = { containerId: sb.containerId, key: sb.key, isDefault: sb.isDefault, ifname: ep.ifname ?? 'eth0', gatewayProvider: false };
    await c.driver(net.type).leave(net, ep, target).catch((err) => c.log.error({ err, endpoint: ep.name }, 'reconcile: release endpoint'));
    const { container: _c, ifname: _i, ...rest } = ep;
    ops.push({ type: 'put', kind: 'endpoints', key: ep.id, value: rest });
  }
  if (!sb.isDefault) await c.kernel.deleteNetns(sb.key);  // a leftover plain file
  await c.commit([...ops, { type: 'del', kind: 'sandboxes', key: sb.containerId }]);
}

async function releaseGone(c: Controller, r: ReconcileReport): Promise<void> {
  for (const sb of [...c.state.sandboxes.values()]) {
    if (sb.isDefault || (await c.kernel.isNetns(sb.key))) continue;
    await releaseSandbox(c, sb);
    r.released.push(sb.containerId);
  }
}

/** Bridges and host-side veths named like ours that no record explains. */
async function sweepLinks(c: Controller, r: ReconcileReport): Promise<void> {
  const bridges = new Set(unreadableKeys(c, 'networks').map(defaultBridgeName));
  for (const n of c.state.networks.values()) {
    bridges.add(defaultBridgeName(n.id));
    if (typeof n.driver.bridge === 'string') bridges.add(n.driver.bridge);
  }
  const veths = new Set(unreadableKeys(c, 'endpoints').map(hostVethName));
  for (const e of c.state.endpoints.values()) if (e.container) veths.add(hostVethName(e.id));
  for (const l of await c.kernel.links()) {
    const stray = (l.kind === 'bridge' && OUR_BRIDGE.test(l.name) && !bridges.has(l.name))
      || (l.kind === 'veth' && OUR_VETH.test(l.name) && !veths.has(l.name));
    if (!stray) continue;
    await c.kernel.deleteLink(l.name);
    r.links.push(l.name);
  }
}

/** Namespace files and mounts in our netns dir that no sandbox explains. */
async function sweepNetns(c: Controller, r: ReconcileReport): Promise<void> {
  const keep = new Set([c.defaultSandboxKey, ...[...c.state.sandboxes.values()].map((s) => s.key)]);
  // an unreadable record's sandbox may use either scheme: v1's 12-character prefix or the full key
  for (const id of unreadableKeys(c, 'sandboxes')) keep.add(join(c.netnsDir, id.slice(0, 12))).add(sandboxKey(c.netnsDir, id));
  for (const ent of await readdir(c.netnsDir, { withFileTypes: true })) {
    const path = join(c.netnsDir, ent.name);
    if (keep.has(path)) continue;
    // only mount-point files are ours to sweep: a symlink, directory or anything else stays
    if (!ent.isFile()) { c.log.warn({ path }, 'reconcile: netns dir entry is not a file lnetd makes; left in place'); continue; }
    try {
      await c.kernel.deleteNetns(path);
      r.netns.push(ent.name);
    } catch (err) {
      c.log.warn({ path, err }, 'reconcile: netns dir entry left in place');
    }
  }
}

/** Bridges, gateway addresses and forwarding, from the records; the firewall
 *  follows in one transaction for all networks (rebuildFirewall). */
async function restoreNetworks(c: Controller, r: ReconcileReport, firewall = false): Promise<void> {
  for (const net of c.state.networks.values()) {
    const driver = c.drivers.get(net.type);
    if (!driver?.restore) continue;
    try {
      await driver.restore(net, c.state.networkEndpoints(net.id), { firewall });
      r.networks++;
    } catch (err) {
      c.log.error({ err, network: net.name }, 'reconcile: restore network failed');
    }
  }
}

/** Rebuild lnetd's firewall tables from the records in one transaction: after
 *  a flush, a reboot, or a crash that left elements no record explains. */
export async function rebuildFirewall(c: Controller, fw: Firewall): Promise<{ networks: number; ports: number }> {
  const nets: FwNetwork[] = [];
  const ports: FwPortMap[] = [];
  for (const net of c.state.networks.values()) {
    const rules = c.drivers.get(net.type)?.firewallRules?.(net, c.state.networkEndpoints(net.id));
    if (rules?.network) nets.push(rules.network);
    if (rules) ports.push(...rules.ports);
  }
  await fw.restore(nets, ports);
  return { networks: nets.length, ports: ports.length };
}

/** The same while the daemon serves: holds every network's lock, so no join
 *  or leave changes port maps between reading the records and the rebuild. */
export async function reapplyFirewall(c: Controller, fw: Firewall): Promise<{ networks: number; ports: number }> {
  for (;;) {
    const ids = [...c.state.networks.keys()];
    const keys = ['networks', ...ids.map((id) => `net:${id}`)];
    const done = await c.locks.with(keys, async () => {
      // a network made while we queued has no lock of ours: take the new set
      if (c.state.networks.size !== ids.length || ids.some((id) => !c.state.networks.has(id))) return undefined;
      return rebuildFirewall(c, fw);
    });
    if (done) return done;
  }
}

export async function reconcile(c: Controller, fw: Firewall): Promise<ReconcileReport> {
  const r: ReconcileReport = { released: [], links: [], netns: [], networks: 0, ports: 0 };
  const phase = async (name: string, fn: () => Promise<unknown>): Promise<void> => {
    try { await fn(); } catch (err) { c.log.error({ err, phase: name }, 'reconcile step failed; the next start tries again'); }
  };
  await phase('release sandboxes', () => releaseGone(c, r));
  await phase('sweep links', () => sweepLinks(c, r));
  await phase('sweep netns dir', () => sweepNetns(c, r));
  await phase('restore networks', () => restoreNetworks(c, r));
  await phase('rebuild firewall', async () => {
    try {
      r.ports = (await rebuildFirewall(c, fw)).ports;
    } catch (err) {
      // one transaction for all: a network it can't take must not leave the others bare
      c.log.error({ err }, 'reconcile: firewall rebuild failed; restoring network by network');
      await restoreNetworks(c, { ...r, networks: 0 }, true);
    }
  });
  if (r.released.length || r.links.length || r.netns.length) c.log.warn({ ...r }, 'reconcile: kernel brought in line with the records');
  return r;
}
