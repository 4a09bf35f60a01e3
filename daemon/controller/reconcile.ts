// Start-up reconcile, after journal recovery: make the kernel say what the
// records say. Sandboxes whose namespace is gone (a reboot, or someone ran
// `ip netns del`) are released; kernel objects a driver owns that no record
// implies are removed (each driver says which objects are its own and which
// the records need: reconcile knows no name patterns); bridges, gateway
// addresses and firewall rules the records need are re-created. Every step is
// idempotent: a crash in the middle is finished by the next start.

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { sandboxKey } from './sandbox-key.js';
import type { DriverRecords, JoinTarget, OwnedObject } from '../../drivers/driver.js';
import { claimNetnsDir, decide, linkLive, markedLink, netnsLiveCheck, NETNS_MARKER, sweepState, type Stray } from './sweep.js';
import type { Firewall, FwNetwork, FwPortMap } from '../../drivers/linux/firewall.js';
import type { LinkInfo } from '../../drivers/linux/kernel.js';
import type { SandboxRecord } from '../../store/records.js';
import type { BatchOp, Kind } from '../../store/store.js';
import type { Controller } from './controller.js';

export interface ReconcileReport {
  released: string[];   // container ids whose sandbox namespace was gone
  links: string[];      // owned kernel objects no record implies, removed (names)
  netns: string[];      // unexplained namespace files removed from the netns dir
  networks: number;     // networks restored
  ports: number;        // published ports in the rebuilt firewall
  quarantined: Stray[]; // unexplained, marked, live: left for an operator (sweep.ts)
  unmarked: Stray[];    // named like ours but without this instance's mark: never removed
}

/** start: sweep with quarantine; plan: report what a sweep would remove, remove nothing; apply: remove quarantined too (operator confirmed). */
type SweepMode = 'start' | 'plan' | 'apply';

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

const objKey = (o: OwnedObject) => `${o.kind}:${o.name}`;

/** The records one driver is handed: its networks, their endpoints, and every unreadable id. */
export function driverRecords(c: Controller, type: string): DriverRecords {
  const networks = [...c.state.networks.values()].filter((n) => n.type === type);
  return {
    networks,
    endpoints: networks.flatMap((n) => c.state.networkEndpoints(n.id)),
    unreadable: { networks: unreadableKeys(c, 'networks'), endpoints: unreadableKeys(c, 'endpoints') },
  };
}

/** What each driver owns in the kernel and no record (of any driver) implies. */
export async function strays(c: Controller, links?: readonly LinkInfo[]): Promise<Array<{ type: string; obj: OwnedObject }>> {
  const implied = new Set<string>();
  for (const d of c.drivers.values()) for (const o of d.implied(driverRecords(c, d.type))) implied.add(objKey(o));
  const out: Array<{ type: string; obj: OwnedObject }> = [];
  const seen = new Set<string>();
  for (const d of c.drivers.values()) {
    for (const obj of await d.owned(links)) {
      const k = objKey(obj);
      if (implied.has(k) || seen.has(k)) continue;
      seen.add(k);
      out.push({ type: d.type, obj });
    }
  }
  return out;
}

async function sweepOwned(c: Controller, r: ReconcileReport, mode: SweepMode): Promise<void> {
  const all = await c.kernel.links();
  const byName = new Map(all.map((l) => [l.name, l]));
  const mine = sweepState(c).mark;
  const marked: Array<{ s: Stray; type: string; obj: OwnedObject }> = [];
  // one link dump for the sweep and every driver (2,000 links with 1,000 containers)
  for (const { type, obj } of await strays(c, all)) {
    const l = byName.get(obj.name);
    const s: Stray = { kind: obj.linkKind === 'bridge' ? 'bridge' : 'veth', name: obj.name, live: l ? linkLive(l, all) : undefined };
    const ok = obj.mark !== undefined ? !mine || obj.mark === mine : l ? markedLink(c, l) : !mine;
    if (ok) marked.push({ s, type, obj });
    else r.unmarked.push(s);
  }
  const { remove, quarantine } = mode === 'apply' ? { remove: marked.map((m) => m.s), quarantine: [] } : decide(c, marked.map((m) => m.s));
  r.quarantined.push(...quarantine);
  for (const m of marked.filter((x) => remove.includes(x.s))) {
    if (mode !== 'plan') await c.driver(m.type).removeOwned(m.obj);
    r.links.push(m.obj.name);
  }
}

/** Namespace files and mounts in our netns dir that no sandbox explains. */
async function sweepNetns(c: Controller, r: ReconcileReport, mode: SweepMode): Promise<void> {
  const keep = new Set([c.defaultSandboxKey, join(c.netnsDir, NETNS_MARKER), ...[...c.state.sandboxes.values()].map((s) => s.key)]);
  // an unreadable record's sandbox may use either scheme: v1's 12-character prefix or the full key
  for (const id of unreadableKeys(c, 'sandboxes')) keep.add(join(c.netnsDir, id.slice(0, 12))).add(sandboxKey(c.netnsDir, id));
  const ours = claimNetnsDir(c, c.netnsDir);
  const live = netnsLiveCheck(c);
  const marked: Stray[] = [];
  for (const ent of await readdir(c.netnsDir, { withFileTypes: true })) {
    const path = join(c.netnsDir, ent.name);
    if (keep.has(path)) continue;
    // only mount-point files are ours to sweep: a symlink, directory or anything else stays
    if (!ent.isFile()) { c.log.warn({ path }, 'reconcile: netns dir entry is not a file lnetd makes; left in place'); continue; }
    const s: Stray = { kind: 'netns', name: ent.name, live: await live(path) };
    if (ours) marked.push(s);
    else r.unmarked.push(s);
  }
  const { remove, quarantine } = mode === 'apply' ? { remove: marked, quarantine: [] } : decide(c, marked);
  r.quarantined.push(...quarantine);
  for (const s of remove) {
    const path = join(c.netnsDir, s.name);
    try {
      if (mode !== 'plan') await c.kernel.deleteNetns(path);
      r.netns.push(s.name);
    } catch (err) {
      c.log.warn({ path, err }, 'reconcile: netns dir entry left in place');
    }
  }
}

/** The sweeps alone, while the daemon serves (GET/POST /_reconcile; the
 *  caller holds every lock): apply=false reports what a sweep would remove
 *  and quarantine, apply=true removes every marked leftover, live ones too. */
export async function sweepNow(c: Controller, apply: boolean): Promise<ReconcileReport> {
  const r = emptyReport();
  const mode: SweepMode = apply ? 'apply' : 'plan';
  await sweepOwned(c, r, mode);
  await sweepNetns(c, r, mode);
  if (apply && (r.links.length || r.netns.length)) c.log.warn({ links: r.links, netns: r.netns }, 'reconcile: operator confirmed; unexplained objects removed');
  remember(c, r);
  return r;
}

function emptyReport(): ReconcileReport {
  return { released: [], links: [], netns: [], networks: 0, ports: 0, quarantined: [], unmarked: [] };
}

function remember(c: Controller, r: ReconcileReport): void {
  const st = sweepState(c);
  st.quarantined = r.quarantined;
  st.unmarked = r.unmarked;
  st.at = new Date().toISOString();
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
  const r = emptyReport();
  const phase = async (name: string, fn: () => Promise<unknown>): Promise<void> => {
    try { await fn(); } catch (err) { c.log.error({ err, phase: name }, 'reconcile step failed; the next start tries again'); }
  };
  await phase('release sandboxes', () => releaseGone(c, r));
  await phase('sweep owned objects', () => sweepOwned(c, r, 'start'));
  await phase('sweep netns dir', () => sweepNetns(c, r, 'start'));
  remember(c, r);
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
  if (r.unmarked.length) c.log.warn({ unmarked: r.unmarked.slice(0, 20) }, 'reconcile: objects named like lnetd\'s but without this instance\'s mark are left alone');
  return r;
}
