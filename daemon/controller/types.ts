// The controller's own API types: what operations take, what queries answer.
// API surfaces (daemon/api/<surface>/) parse their wire format into these and
// shape these into their wire format; nothing here knows HTTP.

import type { EndpointRecord, NetworkRecord, PortSpec, SandboxRecord } from '../../store/records.js';

export type { EndpointRecord, NetworkRecord, PortBinding, PortSpec, SandboxRecord, SubnetRecord } from '../../store/records.js';

/** One address family's IPAM request (subnet, gateway, range, reserved addresses). */
export interface IpamInput { subnet?: string; gateway?: string; ipRange?: string; aux: Record<string, string> }

export interface CreateNetworkInput {
  name: string;
  /** Driver type; '' means the default (bridge). */
  networkType: string;
  /** Raw driver options: the driver's validate() turns them into settings. */
  options: Record<string, unknown>;
  ipam: IpamInput[];
  enableIpv6?: boolean;
  /** false: an IPv6-only network (needs enable_ipv6). */
  enableIpv4?: boolean;
  internal?: boolean;
  labels?: Record<string, string>;
  /** Docker's Attachable: kept and shown; lnetd lets any container join any network. */
  attachable?: boolean;
}

/** A requested port mapping; hostPort 0 asks for a free one. */
export interface PortBindingInput { proto: number; port: number; hostIp: string; hostPort: number; hostPortEnd: number; /** the request's field, for errors (port_mapping[i]) */ field?: string }

export interface CreateEndpointInput {
  name: string;
  exposedPorts: PortSpec[];
  portMapping: PortBindingInput[];
  ipv4?: string;
  ipv6?: string;
  /** Further static addresses beyond ipv4/ipv6 (either family, same subnets). */
  extraAddresses: string[];
  /** No address at all (`ipam: "none"`). */
  noAddress: boolean;
  /** Priority of the default routes the endpoint gives its sandbox. */
  routeMetric?: number;
  mac?: string;
  /** Created through /services (publish). */
  service?: boolean;
  /** false: the runtime reserves the host ports itself (podman does); lnetd binds no socket for them. */
  reservePorts?: boolean;
  labels?: Record<string, string>;
}

export interface PublishInput extends CreateEndpointInput { networkName: string }

export interface JoinInput {
  containerId: string;
  hostName?: string;
  domainName?: string;
  hostsPath?: string;
  resolvConfPath?: string;
  dns: string[];
  /** resolv.conf search domains and options for the container (lnetd's resolver stays its nameserver). */
  dnsSearch?: string[];
  dnsOptions?: string[];
  /** Extra DNS names of this endpoint on its network. */
  aliases?: string[];
  extraHosts: Array<{ name: string; address: string }>;
  /** Join in the daemon's own namespace (as host networks always do). */
  useDefaultSandbox: boolean;
  /** The runtime's own namespace to join into (lnetd never deletes it). */
  sandboxKey?: string;
  /** The inode that namespace must have (the caller's fstat of it). */
  netnsInode?: number;
  /** Name of the interface to create inside the sandbox (default eth<N>). */
  interfaceName?: string;
}

/** Docker's connect: an endpoint made for the container and joined, in one operation. */
export interface ConnectInput {
  containerId: string;
  /** Endpoint name: Docker names a container's endpoint after the container. */
  name: string;
  ipv4?: string;
  ipv6?: string;
  mac?: string;
  /** Extra DNS names of the container on this network (the resolver reads them). */
  aliases: string[];
}

export interface ConnectResult { endpoint: EndpointRecord; sandboxKey: string }

/** List filters every query shares: exact name, id prefix. */
export interface NameFilter { name?: string; idPrefix?: string }
export interface ServiceFilter extends NameFilter { network?: string }

/** An endpoint with what a reader needs beside its record. */
export interface EndpointView extends EndpointRecord {
  networkName: string;
  /** The sandbox (netns path) while joined. */
  sandboxKey?: string;
}

export interface EndpointBrief { id: string; name: string; networkName: string }

/** A network with its endpoints, in creation order. */
export interface NetworkView extends NetworkRecord {
  endpoints: EndpointBrief[];
}

export type SandboxView = SandboxRecord;

export interface Counts { networks: number; endpoints: number; sandboxes: number }
