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
  /** Base tables and chains, forwarding sysctls; idempotent. */
  init(): Promise<void>;
  /** Install or replace one network's rules, in one transaction. */
  addNetwork(net: FwNetwork): Promise<void>;
  /** Remove one network's rules and elements; missing is success. */
  removeNetwork(id: string): Promise<void>;
  addPortMaps(maps: FwPortMap[]): Promise<void>;
  removePortMaps(maps: FwPortMap[]): Promise<void>;
  /** Rebuild every table from records in one transaction (after a flush or reboot). */
  restore(nets: FwNetwork[], maps: FwPortMap[]): Promise<void>;
  /** Remove all of lnetd's tables. */
  destroy(): Promise<void>;
}
