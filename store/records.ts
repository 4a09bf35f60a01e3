// Record types kept in LevelDB. Every record carries `version` so a later
// lnetd can migrate what an earlier one wrote.

export const RECORD_VERSION = 1;

/** One address family's slice of a network's IPAM configuration. */
export interface SubnetRecord {
  subnet: string;                 // CIDR, canonical (network address), e.g. 172.18.0.0/16
  gateway: string;                // address of the bridge in this subnet (no prefix)
  ipRange?: string;               // CIDR inside subnet that endpoints are allocated from
  aux: Record<string, string>;    // reserved addresses by label (libnetwork's AuxAddresses)
  cursor?: string;                // last address handed out: allocation continues after it (round robin)
  pool?: string;                  // default pool the subnet was carved from, when it was not given
}

export interface NetworkRecord {
  version: number;
  id: string;                     // 64 hex
  name: string;                   // unique among networks
  type: string;                   // driver type: null, host, bridge
  created: string;                // ISO time
  predefined: boolean;            // none/host/bridge: can't be deleted
  internal: boolean;              // no route out, no NAT
  enableIpv6: boolean;
  options: Record<string, string>; // driver options as given (normalised to strings)
  ipv4?: SubnetRecord;
  ipv6?: SubnetRecord;
  labels?: Record<string, string>; // user metadata (Docker's Labels)
  attachable?: boolean;           // Docker's Attachable flag, kept as given
  driver: Record<string, unknown>; // driver-owned state (bridge name, mtu, firewall layout …)
}

/** A port a container exposes (seed: exposed_ports). proto: 6 tcp, 17 udp, 132 sctp. */
export interface PortSpec { proto: number; port: number }

/** A published port (seed: port_mapping). hostPort is the port actually bound. */
export interface PortBinding {
  proto: number;
  port: number;                   // container port
  hostIp: string;                 // '' = every host address
  hostPort: number;               // chosen host port (0 never stored once allocated)
  hostPortEnd: number;            // end of the requested range, 0 = single port
}

export interface EndpointRecord {
  version: number;
  id: string;
  name: string;                   // unique within its network
  networkId: string;
  created: string;
  exposedPorts: PortSpec[];
  portMapping: PortBinding[];
  ipv4?: string;                  // CIDR of the endpoint's address, e.g. 172.18.0.2/16
  ipv6?: string;
  /** Further addresses (CIDRs, either family) beyond ipv4/ipv6, in the same subnets. */
  extraAddresses?: string[];
  /** true: no address at all (the runtime's `ipam: none`). */
  noAddress?: boolean;
  /** Priority of the default routes this endpoint gives its sandbox (absent: the kernel's 0). */
  routeMetric?: number;
  /** false: the runtime holds the published host ports itself (podman's conmon): lnetd checks them but binds no socket. */
  reservePorts?: false;
  mac?: string;
  service: boolean;               // created through /services (publish)
  container?: string;             // container id while joined
  ifname?: string;                // interface name inside the sandbox while joined (eth0 …)
  labels?: Record<string, string>; // user metadata, kept and returned as given
  aliases?: string[];             // extra DNS names on its network (a join's or a Docker connect's aliases)
  driver: Record<string, unknown>; // driver-owned state (host-side veth name …)
}

export interface SandboxRecord {
  version: number;
  containerId: string;
  key: string;                    // netns path answered to the runtime
  isDefault: boolean;             // the daemon's own namespace (host network, use_default_sandbox)
  /** false: the runtime made the namespace (key is only our bind mount of it);
   *  lnetd never deletes it, only unmounts its own mount. Absent: lnetd made it. */
  owned?: boolean;
  runtimeKey?: string;            // the path the runtime named when it handed the namespace over
  netnsIno?: number;              // inode of the runtime's namespace (nsfs), to recognise it again
  endpoints: string[];            // endpoint ids in join order; eth<N> follows this order
  nextIf: number;                 // next N for eth<N>: never reused while the sandbox lives
  hostName?: string;
  domainName?: string;
  hostsPath?: string;
  resolvConfPath?: string;
  dns: string[];
  dnsSearch?: string[];           // resolv.conf search domains the join asked for
  dnsOptions?: string[];          // resolv.conf options the join asked for
  extraHosts: string[];
  created: string;
}

/** What undo/redo of each operation needs, by op (crash safety: written
 *  before the operation's first kernel change, cleared in its commit batch).
 *  Recovery (daemon/controller/recover.ts) has one step per member. */
export interface JournalIntents {
  createNetwork: { network: NetworkRecord };
  deleteNetwork: { network: NetworkRecord };
  createEndpoint: { endpoint: EndpointRecord };
  deleteEndpoint: { endpoint: EndpointRecord };
  join: {
    networkId: string; endpointId: string; containerId: string;
    key: string;                  // the sandbox's netns path
    fresh: boolean;               // the join makes the sandbox (its undo removes it)
    ifname: string;
    files: string[];              // hosts / resolv.conf paths: a kill may leave a temporary beside them
  };
  leave: {
    networkId: string; endpointId: string; containerId: string; key: string;
    last: boolean;                // the sandbox's last endpoint: the sandbox goes too
    ifname?: string;
    sandboxCreated?: string;      // with nextIf: names this very join (no replay over a later one)
    nextIf?: number;
  };
  connect: {
    networkId: string;
    endpoint: EndpointRecord;     // the endpoint the connect creates
    containerId: string; key: string; fresh: boolean; ifname: string;
  };
  disconnect: { networkId: string; endpointId: string; containerId: string; key: string; ifname: string; last: boolean };
}

export type JournalOp = keyof JournalIntents;

/** One intent as stored: op names the member of JournalIntents that data is. */
export type JournalRecord = {
  [Op in JournalOp]: {
    version: number;
    id: string;
    op: Op;
    started: string;
    data: JournalIntents[Op];
  };
}[JournalOp];
