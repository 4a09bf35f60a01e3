// The firewall interface: lnetd's nftables tables, changed one atomic
// transaction at a time. Per-network chains use sets and maps keyed by
// address/interface, so a join adds elements rather than rules.

export interface FwNetwork {
  id: string;              // network id (64 hex); chains/sets are named by its first 12
  bridge: string;          // bridge interface name
  subnet4?: string;        // CIDR
  subnet6?: string;
  masquerade: boolean;     // NAT traffic leaving the subnet through another interface
  icc: boolean;            // containers of this network may talk to each other
  internal: boolean;       // no traffic in or out of the bridge except between its containers
}

export interface FwPortMap {
  networkId: string;
  proto: 'tcp' | 'udp' | 'sctp';
  hostIp: string;          // '' = any host address of that family
  hostPort: number;
  containerIp: string;     // address without prefix
  containerPort: number;
  bridge: string;          // for hairpin masquerade
}

export interface Firewall {
  /** Which rule layout this firewall installs (e.g. `inet-lnetd/1`): drivers store
   *  it with each network so a later version knows what it is removing. */
  readonly layout: string;
  /** Base tables and chains, forwarding sysctls; idempotent. */
  init(): Promise<void>;
  /** Install or replace one network's rules, in one transaction. */
  addNetwork(net: FwNetwork): Promise<void>;
  /** Remove one network's rules and elements, its published ports included; missing is success. */
  removeNetwork(id: string): Promise<void>;
  /** Publish ports (map elements only). A host port already leading elsewhere is a Conflict PORT_IN_USE; the same mapping again is a no-op. */
  addPortMaps(maps: FwPortMap[]): Promise<void>;
  /** Unpublish ports; missing ones, and ports that lead to another container by now, are left alone. */
  removePortMaps(maps: FwPortMap[]): Promise<void>;
  /** Rebuild every table from records in one transaction (after a flush or reboot). */
  restore(nets: FwNetwork[], maps: FwPortMap[]): Promise<void>;
  /** Remove all of lnetd's tables. */
  destroy(): Promise<void>;
}
