// The one kernel interface. Everything lnetd does to links, addresses, routes
// and namespaces goes through it, so unit tests can use a fake and benchmarks
// can count what a join costs. `ns` arguments are netns paths; undefined means
// the daemon's own namespace.

export interface LinkInfo {
  index: number;
  name: string;
  kind?: string;          // bridge, veth … (from IFLA_INFO_KIND)
  master?: number;        // ifindex of the bridge a port is enslaved to
  up: boolean;
  mtu: number;
  mac: string;            // aa:bb:cc:dd:ee:ff
  alias?: string;         // IFLA_IFALIAS: lnetd's instance mark on what it made
  peerElsewhere?: boolean; // a veth whose peer lives in another namespace (IFLA_LINK_NETNSID)
}

export interface AddressInfo {
  index: number;          // ifindex
  cidr: string;           // 10.0.0.2/24, fd00::2/64
  family: 4 | 6;
}

export interface RouteInfo {
  family: 4 | 6;
  dst: string;            // CIDR, or 'default'
  gateway?: string;
  index?: number;         // output ifindex
  metric?: number;        // priority, when not 0
}

export interface VethSpec {
  name: string;           // host side, in the daemon's namespace
  master?: string;        // bridge to enslave the host side to
  mtu?: number;
  hairpin?: boolean;      // let traffic leave the port it came in on (port mapping to self)
  alias?: string;         // the host side's IFLA_IFALIAS: lnetd's instance mark
  peer: {
    name: string;         // container side name, created directly in `ns`
    ns: string;           // netns path
    mac?: string;
  };
}

export interface RouteSpec { dst: string; gateway?: string; ifname?: string; metric?: number }

export interface SetupConfig {
  addresses: string[];
  routes: RouteSpec[];
  /** false: no IPv6 link-local either (an IPv4-only network), so the
   *  container sends no DAD/MLD/RS packets for the bridge to flood. */
  ipv6?: boolean;
}

export interface Kernel {
  /** Make the sandbox directory cheap to create files in (a tmpfs of its own
   *  when it is empty and on disk). Returns what was done, for the log. */
  prepareNetnsDir(dir: string): Promise<'tmpfs' | 'mounted' | 'skipped'>;

  /** New persistent namespace bind-mounted at path, with lo up. */
  createNetns(path: string): Promise<void>;
  /** Unmount and remove the namespace file; a missing one is success. */
  deleteNetns(path: string): Promise<void>;
  /** Close what we hold open in a namespace (socket, fd); the namespace lives
   *  on by its mount and is reopened on next use. A joined container needs
   *  nothing from us until it leaves, so we don't keep 2 fds per container. */
  releaseNetns(path: string): void;
  /** Bind the runtime's namespace, named by source (a netns file, /proc/<pid>/ns/net
   *  or /proc/<pid>/fd/<n>), at path; it stays the runtime's: deleteNetns(path)
   *  only drops our mount. Refuses a non-namespace, the daemon's own namespace,
   *  and a namespace whose inode is not expectIno. Returns the inode. */
  adoptNetns(path: string, source: string, expectIno?: number): Promise<number>;
  /** Inode of the network namespace behind source (the same checks as adoptNetns), without mounting it. */
  netnsInode(source: string): Promise<number>;
  /** True when path is a live network-namespace mount. */
  isNetns(path: string): Promise<boolean>;
  /** Bind the daemon's own namespace at path (host networking). */
  bindOwnNetns(path: string): Promise<void>;

  links(ns?: string): Promise<LinkInfo[]>;
  link(name: string, ns?: string): Promise<LinkInfo | undefined>;
  /** Create a bridge, or accept an existing bridge of that name; set up. */
  ensureBridge(name: string, opts: { mtu?: number; mac?: string; alias?: string }): Promise<LinkInfo>;
  /** Veth pair with the peer created straight inside its namespace; host side up.
   *  setup: then bring the peer up inside its namespace as setupInterface(peer
   *  name, peer ns, setup) does, in the same round of kernel requests; when that
   *  part fails the pair is deleted again before the error is thrown (its
   *  message and code are setupInterface's), so nothing is left half made. */
  createVeth(spec: VethSpec, setup?: SetupConfig): Promise<void>;
  /** Delete a link; a missing one is success. */
  deleteLink(name: string, ns?: string): Promise<void>;
  setLinkUp(name: string, ns?: string): Promise<void>;
  /** Set a link down (a missing one is success): cuts its traffic at once. */
  setLinkDown(name: string, ns?: string): Promise<void>;

  /** Add an address (IPv6 without DAD); an existing one is success. */
  addAddress(ifname: string, cidr: string, ns?: string): Promise<void>;
  deleteAddress(ifname: string, cidr: string, ns?: string): Promise<void>;
  addresses(ns?: string): Promise<AddressInfo[]>;

  /** Bring a link up inside ns with its addresses and routes (existing ones are
   * success): the requests go out back to back and the kernel applies them in
   * order, so a join waits for one round trip instead of one per step. */
  setupInterface(ifname: string, ns: string, cfg: SetupConfig): Promise<void>;

  /** Add a route; an existing one is success. */
  addRoute(route: RouteSpec, ns?: string): Promise<void>;
  routes(ns?: string): Promise<RouteInfo[]>;

  /** /proc/sys/net/... inside ns, e.g. ('net/ipv4/ip_forward', '1'). */
  writeSysctl(path: string, value: string, ns?: string): Promise<void>;
  readSysctl(path: string, ns?: string): Promise<string>;

  /** Release sockets and namespace handles. */
  close(): Promise<void>;
}
