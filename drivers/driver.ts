// The driver contract. Drivers never touch the store or HTTP: the controller
// hands them records, persists what they return in `driver` state, and calls
// `validateNetwork` before any kernel work.

import type { EndpointRecord, NetworkRecord } from '../store/records.js';
import type { Kernel, LinkInfo } from './linux/kernel.js';
import type { Firewall, FwNetwork, FwPortMap } from './linux/firewall.js';

export interface DriverContext {
  kernel: Kernel;
  firewall: Firewall;
  netnsDir: string;
  /** Fault injection for crash tests (LNETD_FAULT): called at each named kernel step. */
  fault?: (step: string) => void;
  /** lnetd's instance mark (`lnetd:<instance id>`), put on every link a driver makes
   *  (IFLA_IFALIAS), so that reconcile removes only what this instance provably made. */
  mark?: string;
}

/** firewall: false when the caller rebuilds the whole firewall from firewallRules() itself (start-up). */
export interface RestoreOptions { firewall?: boolean }

/** A network's share of the firewall as its records say, for a whole-table rebuild. */
export interface FirewallRules {
  network?: FwNetwork;
  ports: FwPortMap[];
}

/** What a driver makes of the raw `options` map of a create-network request. */
export interface NetworkSettings {
  options: Record<string, string>;  // normalised, as stored on the record
  internal: boolean;
  enableIpv6: boolean;
  needsIpam: boolean;               // bridge: yes; null/host: no
}

/** The sandbox side of a join: where the container end goes. */
export interface JoinTarget {
  containerId: string;
  key: string;            // netns path
  isDefault: boolean;     // the daemon's own namespace
  ifname: string;         // eth<N>, or the name the runtime asked for
  gatewayProvider: boolean; // this endpoint sets the sandbox's default route
  /** Leave only: the sandbox namespace is deleted right after, and the kernel
   * reaps every interface inside it (a veth pair with its peer) in the
   * background — far cheaper than deleting each veth in line (16-20 ms). */
  sandboxGoing?: boolean;
  /** The runtime made the namespace: lnetd only plugs into it (and never deletes it). */
  runtimeNetns?: boolean;
}

/** A kernel object a driver made, as it finds it now (owned()) or as the
 *  records say it must be (implied()). Reconcile removes what is owned and not
 *  implied; it compares `kind` and `name` only. */
export interface OwnedObject {
  kind: 'link';
  name: string;
  /** e.g. bridge, veth: what the driver knows it by. */
  linkKind?: string;
  /** Room for an instance mark (hardening adds it): reconcile may only remove what carries its own. */
  mark?: string;
}

/** The records reconcile hands a driver: its networks, their endpoints, and the
 *  ids of records the store could not read (what they may name is kept). */
export interface DriverRecords {
  networks: NetworkRecord[];
  endpoints: EndpointRecord[];
  unreadable: { networks: string[]; endpoints: string[] };
}

/** What a join promises to leave in the sandbox: checked by the shared driver suite. */
export interface JoinedState {
  interfaces: Array<{ name: string; addresses: string[]; mac?: string }>;
  routes: Array<{ dst: string; gateway: string }>;
}

/** local: the network lives on this host; global: it spans hosts (overlay, on a cluster store). */
export type DriverScope = 'local' | 'global';

export interface Driver {
  readonly type: string;
  readonly scope: DriverScope;
  /** own: each container gets a namespace of its own; host: containers share the daemon's. */
  readonly sandbox: 'own' | 'host';
  /** Named steps where LNETD_FAULT may kill the daemon, in the order operations reach them. */
  readonly faultSteps: readonly string[];
  /** Before the first network call (start-up): take what the driver needs (firewall table …). */
  init(): Promise<void>;
  /** At a graceful stop: release what init took. Kernel objects stay. */
  close(): Promise<void>;
  /** Pure: turn raw options into settings or throw BadRequest (INVALID_OPTION) naming the option. */
  validateNetwork(raw: Record<string, unknown>): NetworkSettings;
  /** Make the network's kernel objects; returns driver state to persist. Undoes itself on failure. */
  createNetwork(net: NetworkRecord): Promise<Record<string, unknown>>;
  /** Remove everything createNetwork made; missing objects are success. */
  deleteNetwork(net: NetworkRecord): Promise<void>;
  /** false: createEndpoint and deleteEndpoint change nothing in the kernel that
   *  outlives lnetd (bridge: the veth is made at join), so the controller writes
   *  no journal intent for them: their commit batch is the whole operation.
   *  Absent: they may, and an intent guards them. */
  readonly endpointKernelWork?: boolean;
  /** Returns driver state for the endpoint (e.g. host veth name). */
  createEndpoint(net: NetworkRecord, ep: EndpointRecord): Promise<Record<string, unknown>>;
  deleteEndpoint(net: NetworkRecord, ep: EndpointRecord): Promise<void>;
  /** Plug the endpoint into the sandbox. Undoes itself on failure. */
  join(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget): Promise<void>;
  /** Unplug; succeeds when the sandbox namespace is already gone. */
  leave(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget): Promise<void>;
  /** Pure: what join(net, ep, target) leaves inside the sandbox. */
  joined(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget): JoinedState;
  /** Pure: whether an endpoint of this network can give a sandbox its default route. */
  givesDefaultRoute(net: NetworkRecord): boolean;
  /** Gateway handover: the endpoint that gave the sandbox its default route
   *  left; this (joined) endpoint of ours gives it now. */
  takeDefaultRoute(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget): Promise<void>;
  /** The kernel objects of this driver that exist now (found by its names and marks).
   *  links: the daemon namespace's links when the caller just listed them (one dump, not one per driver). */
  owned(links?: readonly LinkInfo[]): Promise<OwnedObject[]>;
  /** Pure: the kernel objects the records need (and unreadable ones may name). */
  implied(records: DriverRecords): OwnedObject[];
  /** Remove an owned object no record implies (a crash's leftover); a missing one is success. */
  removeOwned(obj: OwnedObject): Promise<void>;
  /** Re-create what the records say must exist (after a reboot or a flush). */
  restore?(net: NetworkRecord, eps: EndpointRecord[], opts?: RestoreOptions): Promise<void>;
  /** Pure: the firewall rules the records imply (Firewall.restore after a flush). */
  firewallRules?(net: NetworkRecord, eps: EndpointRecord[]): FirewallRules;
}
