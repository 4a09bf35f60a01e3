// The driver contract. Drivers never touch the store or HTTP: the controller
// hands them records, persists what they return in `driver` state, and calls
// `validateNetwork` before any kernel work.

import type { EndpointRecord, NetworkRecord } from '../store/records.js';
import type { Kernel } from './linux/kernel.js';
import type { Firewall, FwNetwork, FwPortMap } from './linux/firewall.js';

export interface DriverContext {
  kernel: Kernel;
  firewall: Firewall;
  netnsDir: string;
  /** Fault injection for crash tests (LNETD_FAULT): called at each named kernel step. */
  fault?: (step: string) => void;
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

export interface Driver {
  readonly type: string;
  /** Pure: turn raw options into settings or throw BadRequest naming the option. */
  validateNetwork(raw: Record<string, unknown>): NetworkSettings;
  /** Make the network's kernel objects; returns driver state to persist. Undoes itself on failure. */
  createNetwork(net: NetworkRecord): Promise<Record<string, unknown>>;
  /** Remove everything createNetwork made; missing objects are success. */
  deleteNetwork(net: NetworkRecord): Promise<void>;
  /** Returns driver state for the endpoint (e.g. host veth name). */
  createEndpoint(net: NetworkRecord, ep: EndpointRecord): Promise<Record<string, unknown>>;
  deleteEndpoint(net: NetworkRecord, ep: EndpointRecord): Promise<void>;
  /** Plug the endpoint into the sandbox. Undoes itself on failure. */
  join(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget): Promise<void>;
  /** Unplug; succeeds when the sandbox namespace is already gone. */
  leave(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget): Promise<void>;
  /** Re-create what the records say must exist (after a reboot or a flush). */
  restore?(net: NetworkRecord, eps: EndpointRecord[], opts?: RestoreOptions): Promise<void>;
  /** Pure: the firewall rules the records imply (Firewall.restore after a flush). */
  firewallRules?(net: NetworkRecord, eps: EndpointRecord[]): FirewallRules;
}
