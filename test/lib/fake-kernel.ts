// FakeKernel: an in-memory Kernel for unit tests of drivers and controller.
// It keeps the kernel's answers where callers depend on them: EEXIST on a
// duplicate name, ENOENT for a missing namespace path, ENODEV for a missing
// link, deletes of missing objects succeed, a veth pair dies as a whole (also
// when its namespace goes), addresses bring their prefix route while the link
// is up, a link set down loses its routes and IPv6 addresses. The kernel
// contract suite (test/lib/kernel-suite.ts) runs the same cases on this and
// on the netlink kernel, so these answers are the kernel's. failNext() makes
// the next call of a named method fail, for testing undo paths.

import { randomBytes } from 'node:crypto';
import { wrap } from '../../errors/index.js';
import type { AddressInfo, Kernel, LinkInfo, RouteInfo, RouteSpec, SetupConfig, VethSpec } from '../../drivers/linux/kernel.js';
import { bufferToIp, bufferToMac, macToBuffer, parseCidr } from '../../drivers/linux/linkinfo.js';

export interface FakeLink extends LinkInfo {
  hairpin?: boolean;
  peer?: { ns: string; name: string };  // the other end of a veth ('' = own namespace)
}

interface FakeNs {
  links: Map<string, FakeLink>;
  addrs: AddressInfo[];
  routes: RouteInfo[];
  sysctls: Map<string, string>;
  nextIndex: number;
}

type Method = Exclude<keyof Kernel, 'close'>;

const OWN = '';

function err(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(code), { code });
}

function newNs(): FakeNs {
  const ns: FakeNs = { links: new Map(), addrs: [], routes: [], sysctls: new Map(), nextIndex: 2 };
  ns.links.set('lo', { index: 1, name: 'lo', up: true, mtu: 65536, mac: '00:00:00:00:00:00' });
  // lo's addresses; their routes are in the local table, which routes() does not list
  ns.addrs.push({ index: 1, cidr: '127.0.0.1/8', family: 4 }, { index: 1, cidr: '::1/128', family: 6 });
  return ns;
}

/** Network part of an address as a CIDR, e.g. 10.0.0.2/24 -> 10.0.0.0/24. */
function networkOf(cidr: string): string {
  const { addr, prefix } = parseCidr(cidr);
  const net = Buffer.from(addr);
  for (let bit = prefix; bit < net.length * 8; bit++) net[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return `${bufferToIp(net)}/${prefix}`;
}

function contains(cidr: string, ip: string): boolean {
  const net = parseCidr(cidr);
  return parseCidr(ip).family === net.family && networkOf(cidr) === networkOf(`${ip}/${net.prefix}`);
}

export class FakeKernel implements Kernel {
  private readonly spaces = new Map<string, FakeNs>([[OWN, newNs()]]);
  private readonly failures = new Map<Method, string[]>();
  /** Every call, in order, for tests that count or inspect kernel work. */
  readonly calls: { method: Method; args: unknown[] }[] = [];
  closed = false;

  /** Make `times` calls of method fail with errno code (wrapped like the real one),
   *  after letting the next `after` calls through. */
  failNext(method: Method, code = 'EIO', times = 1, after = 0): void {
    const queue = [...new Array<string>(after).fill(''), ...new Array<string>(times).fill(code)];
    this.failures.set(method, [...(this.failures.get(method) ?? []), ...queue]);
  }

  /** Namespace paths that exist (besides the own one). */
  netnsPaths(): string[] {
    return [...this.spaces.keys()].filter((k) => k !== OWN);
  }

  /** Hairpin mode of a host-side port. */
  hairpin(name: string): boolean {
    return !!this.spaces.get(OWN)!.links.get(name)?.hairpin;
  }

  private enter(method: Method, args: unknown[], what: string): void {
    this.calls.push({ method, args });
    const queue = this.failures.get(method);
    const code = queue?.shift();
    if (queue && !queue.length) this.failures.delete(method);
    if (code) throw wrap(what, err(code));
  }

  private space(ns: string | undefined, what: string): FakeNs {
    const s = this.spaces.get(ns ?? OWN);
    if (!s) throw wrap(what, err('ENOENT'));
    return s;
  }

  private linkIn(s: FakeNs, name: string, what: string): FakeLink {
    const l = s.links.get(name);
    if (!l) throw wrap(what, err('ENODEV'));
    return l;
  }

  /** The route the kernel adds for an address while its link is up (none for a full-length prefix). */
  private prefixRoute(s: FakeNs, l: FakeLink, cidr: string): void {
    const c = parseCidr(cidr);
    if (!l.up || c.prefix === c.addr.length * 8) return;
    const dst = networkOf(cidr);
    if (s.routes.some((r) => r.dst === dst && r.index === l.index && !r.gateway)) return;
    const r: RouteInfo = { family: c.family, dst, index: l.index };
    if (c.family === 6) r.metric = 256;  // the kernel's metric for an IPv6 prefix route
    s.routes.push(r);
  }

  /** Up: the prefix routes of its addresses appear. */
  private bringUp(s: FakeNs, l: FakeLink): void {
    if (l.up) return;
    l.up = true;
    for (const a of s.addrs) if (a.index === l.index) this.prefixRoute(s, l, a.cidr);
  }

  /** Down: every route through it goes, and its IPv6 addresses (keep_addr_on_down is 0); IPv4 ones stay. */
  private bringDown(s: FakeNs, l: FakeLink): void {
    l.up = false;
    s.routes = s.routes.filter((r) => r.index !== l.index);
    s.addrs = s.addrs.filter((a) => !(a.index === l.index && a.family === 6));
  }

  private addLink(s: FakeNs, l: Omit<FakeLink, 'index'>): FakeLink {
    const link = { ...l, index: s.nextIndex++ };
    s.links.set(link.name, link);
    return link;
  }

  /** Remove one end: its addresses and routes go with it. */
  private dropLink(s: FakeNs, name: string): FakeLink | undefined {
    const l = s.links.get(name);
    if (!l) return undefined;
    s.links.delete(name);
    s.addrs = s.addrs.filter((a) => a.index !== l.index);
    s.routes = s.routes.filter((r) => r.index !== l.index);
    for (const port of s.links.values()) if (port.master === l.index) delete port.master;
    return l;
  }

  async prepareNetnsDir(dir: string): Promise<'tmpfs' | 'mounted' | 'skipped'> {
    this.enter('prepareNetnsDir', [dir], `prepare netns dir ${dir}`);
    return 'tmpfs';
  }

  releaseNetns(path: string): void {
    this.calls.push({ method: 'releaseNetns', args: [path] });
  }

  async createNetns(path: string): Promise<void> {
    this.enter('createNetns', [path], `create netns ${path}`);
    if (this.spaces.has(path)) throw wrap(`create netns ${path}`, err('EEXIST'));
    this.spaces.set(path, newNs());
  }

  /** A namespace the runtime made (at source), for adoptNetns. */
  runtimeNetns(source: string): void {
    this.spaces.set(source, newNs());
  }

  /** The runtime deletes its namespace file; the namespace lives on while someone else mounts it. */
  dropRuntimeNetns(source: string): void {
    const s = this.spaces.get(source);
    this.spaces.delete(source);
    if (s && ![...this.spaces.values()].includes(s)) this.reap(source, s);
  }

  private readonly inodes = new Map<FakeNs, number>();

  private inodeOf(s: FakeNs): number {
    if (!this.inodes.has(s)) this.inodes.set(s, 4026532000 + this.inodes.size);
    return this.inodes.get(s)!;
  }

  async netnsInode(source: string): Promise<number> {
    this.enter('netnsInode', [source], `inspect netns ${source}`);
    const s = this.spaces.get(source);
    if (!s) throw wrap(`inspect netns ${source}`, err('ENOENT'));
    if (s === this.spaces.get(OWN)) throw wrap(`inspect netns ${source}`, err('ENOTNETNS'));
    return this.inodeOf(s);
  }

  async adoptNetns(path: string, source: string, expectIno?: number): Promise<number> {
    this.enter('adoptNetns', [path, source, expectIno], `adopt netns ${source} at ${path}`);
    const s = this.spaces.get(source);
    const what = `adopt netns ${source} at ${path}`;
    if (!s) throw wrap(what, err('ENOENT'));
    if (s === this.spaces.get(OWN) || (expectIno !== undefined && this.inodeOf(s) !== expectIno)) throw wrap(what, err('ENOTNETNS'));
    if (this.spaces.has(path)) throw wrap(what, err('EEXIST'));
    this.spaces.set(path, s);
    return this.inodeOf(s);
  }

  async deleteNetns(path: string): Promise<void> {
    this.enter('deleteNetns', [path], `delete netns ${path}`);
    const s = this.spaces.get(path);
    if (!s || path === OWN) return;
    this.spaces.delete(path);
    // a bind of our own namespace, or of one the runtime still holds: only the path goes
    if ([...this.spaces.values()].includes(s)) return;
    this.reap(path, s);
  }

  private reap(path: string, s: FakeNs): void {
    // the kernel destroys the namespace's veths, and with them their peers outside
    for (const l of s.links.values()) {
      if (l.peer && l.peer.ns !== path) {
        const other = this.spaces.get(l.peer.ns);
        if (other) this.dropLink(other, l.peer.name);
      }
    }
  }

  async isNetns(path: string): Promise<boolean> {
    this.enter('isNetns', [path], `check netns ${path}`);
    return path !== OWN && this.spaces.has(path);
  }

  async bindOwnNetns(path: string): Promise<void> {
    this.enter('bindOwnNetns', [path], `bind own netns at ${path}`);
    if (this.spaces.has(path)) throw wrap(`bind own netns at ${path}`, err('EEXIST'));
    this.spaces.set(path, this.spaces.get(OWN)!);
  }

  async links(ns?: string): Promise<LinkInfo[]> {
    this.enter('links', [ns], 'list links');
    return [...this.space(ns, 'list links').links.values()].sort((a, b) => a.index - b.index).map(pub);
  }

  async link(name: string, ns?: string): Promise<LinkInfo | undefined> {
    this.enter('link', [name, ns], `get link ${name}`);
    const l = this.space(ns, `get link ${name}`).links.get(name);
    return l && pub(l);
  }

  async ensureBridge(name: string, opts: { mtu?: number; mac?: string; alias?: string }): Promise<LinkInfo> {
    const what = `ensure bridge ${name}`;
    this.enter('ensureBridge', [name, opts], what);
    const s = this.spaces.get(OWN)!;
    const have = s.links.get(name);
    if (have && have.kind !== 'bridge') throw wrap(what, err('EEXIST'));
    const mac = opts.mac ? bufferToMac(macToBuffer(opts.mac)) : randomMac();
    const br = have ?? this.addLink(s, { name, kind: 'bridge', up: true, mtu: 1500, mac });
    this.bringUp(s, br);
    if (opts.mtu) br.mtu = opts.mtu;
    if (opts.alias) br.alias = opts.alias;
    return pub(br);
  }

  async createVeth(spec: VethSpec, setup?: SetupConfig): Promise<void> {
    await this.makeVeth(spec);
    if (!setup) return;
    // the real one sends both in one job and deletes the pair when the setup part fails
    try {
      await this.setupInterface(spec.peer.name, spec.peer.ns, setup);
    } catch (e) {
      await this.deleteLink(spec.name);
      throw e;
    }
  }

  private async makeVeth(spec: VethSpec): Promise<void> {
    const what = `create veth ${spec.name} (peer ${spec.peer.name} in ${spec.peer.ns})`;
    this.enter('createVeth', [spec], what);
    const own = this.spaces.get(OWN)!;
    const peerNs = this.space(spec.peer.ns, what);
    if (own.links.has(spec.name) || peerNs.links.has(spec.peer.name)) throw wrap(what, err('EEXIST'));
    const master = spec.master ? this.linkIn(own, spec.master, what).index : undefined;
    const mtu = spec.mtu ?? 1500;
    const host = this.addLink(own, { name: spec.name, kind: 'veth', up: true, mtu, mac: randomMac(), peer: { ns: spec.peer.ns, name: spec.peer.name } });
    if (master !== undefined) host.master = master;
    if (spec.hairpin) host.hairpin = true;
    if (spec.alias) host.alias = spec.alias;
    host.peerElsewhere = true;
    const mac = spec.peer.mac ? bufferToMac(macToBuffer(spec.peer.mac)) : randomMac();
    // the peer sees the daemon's namespace as elsewhere too (IFLA_LINK_NETNSID on both ends)
    this.addLink(peerNs, { name: spec.peer.name, kind: 'veth', up: false, mtu, mac, peer: { ns: OWN, name: spec.name }, peerElsewhere: true });
  }

  async deleteLink(name: string, ns?: string): Promise<void> {
    this.enter('deleteLink', [name, ns], `delete link ${name}`);
    const s = this.spaces.get(ns ?? OWN);
    const l = s && this.dropLink(s, name);
    const other = l?.peer && this.spaces.get(l.peer.ns);
    if (l?.peer && other) this.dropLink(other, l.peer.name);
  }

  async setLinkDown(name: string, ns?: string): Promise<void> {
    const what = `set link ${name} down`;
    this.enter('setLinkDown', [name, ns], what);
    const s = this.spaces.get(ns ?? OWN);
    const link = s?.links.get(name);
    if (s && link) this.bringDown(s, link);
  }

  async setLinkUp(name: string, ns?: string): Promise<void> {
    const what = `set link ${name} up`;
    this.enter('setLinkUp', [name, ns], what);
    const s = this.space(ns, what);
    this.bringUp(s, this.linkIn(s, name, what));
  }

  async addAddress(ifname: string, cidr: string, ns?: string): Promise<void> {
    const what = `add address ${cidr} to ${ifname}`;
    this.enter('addAddress', [ifname, cidr, ns], what);
    const s = this.space(ns, what);
    const l = this.linkIn(s, ifname, what);
    let c;
    try { c = parseCidr(cidr); } catch (e) { throw wrap(what, e); }
    const norm = `${bufferToIp(c.addr)}/${c.prefix}`;
    if (s.addrs.some((a) => a.index === l.index && a.cidr === norm)) return;
    s.addrs.push({ index: l.index, cidr: norm, family: c.family });
    this.prefixRoute(s, l, norm);
  }

  async deleteAddress(ifname: string, cidr: string, ns?: string): Promise<void> {
    this.enter('deleteAddress', [ifname, cidr, ns], `delete address ${cidr} from ${ifname}`);
    const s = this.spaces.get(ns ?? OWN);
    const l = s?.links.get(ifname);
    if (!s || !l) return;
    const c = parseCidr(cidr);
    const norm = `${bufferToIp(c.addr)}/${c.prefix}`;
    s.addrs = s.addrs.filter((a) => !(a.index === l.index && a.cidr === norm));
    s.routes = s.routes.filter((r) => !(r.index === l.index && !r.gateway && r.dst === networkOf(norm)));
    // the last IPv4 address of a link takes every IPv4 route through it (the kernel disables IP on it)
    if (c.family === 4 && !s.addrs.some((a) => a.index === l.index && a.family === 4)) s.routes = s.routes.filter((r) => !(r.index === l.index && r.family === 4));
  }

  async addresses(ns?: string): Promise<AddressInfo[]> {
    this.enter('addresses', [ns], 'list addresses');
    return this.space(ns, 'list addresses').addrs.map((a) => ({ ...a }));
  }

  async setupInterface(ifname: string, ns: string, cfg: SetupConfig): Promise<void> {
    const what = `set up ${ifname} in ${ns}`;
    this.enter('setupInterface', [ifname, ns, cfg], what);
    try {
      await this.setLinkUp(ifname, ns);
      for (const cidr of cfg.addresses) await this.addAddress(ifname, cidr, ns);
      for (const r of cfg.routes) await this.addRoute(r, ns);
    } catch (e) {
      // one batch in the kernel: its failure is the batch's, with the errno of the step
      throw wrap(what, err((e as NodeJS.ErrnoException).code ?? 'EIO'));
    }
  }

  async addRoute(route: RouteSpec, ns?: string): Promise<void> {
    const what = `add route ${route.dst}${route.gateway ? ` via ${route.gateway}` : ''}`;
    this.enter('addRoute', [route, ns], what);
    const s = this.space(ns, what);
    const dev = route.ifname ? this.linkIn(s, route.ifname, what) : undefined;
    const dst = route.dst === 'default' ? 'default' : networkOf(route.dst);
    const family = dst !== 'default' ? parseCidr(dst).family : route.gateway ? parseCidr(route.gateway).family : undefined;
    if (!family) throw wrap(what, err('EINVAL'));
    // like the kernel: a gateway must be on-link through an up interface
    const via = route.gateway ? s.routes.find((r) => !r.gateway && r.dst !== 'default' && contains(r.dst, route.gateway!)) : undefined;
    const index = dev?.index ?? via?.index;
    const viaLink = [...s.links.values()].find((l) => l.index === index);
    if (route.gateway && (!via || !viaLink?.up)) throw wrap(what, err('ENETUNREACH'));
    // the kernel gives an IPv6 route without a metric 1024
    const metric = route.metric || (family === 6 ? 1024 : 0);
    if (s.routes.some((r) => r.family === family && r.dst === dst && (r.metric ?? 0) === metric)) return;
    const r: RouteInfo = { family, dst };
    if (metric) r.metric = metric;
    if (route.gateway) r.gateway = route.gateway;
    if (index !== undefined) r.index = index;
    s.routes.push(r);
  }

  async routes(ns?: string): Promise<RouteInfo[]> {
    this.enter('routes', [ns], 'list routes');
    return this.space(ns, 'list routes').routes.map((r) => ({ ...r }));
  }

  async writeSysctl(path: string, value: string, ns?: string): Promise<void> {
    const what = `write sysctl ${path}=${value}`;
    this.enter('writeSysctl', [path, value, ns], what);
    if (!/^net\/[\w.\-/]+$/.test(path) || path.includes('..')) throw wrap(what, err('EINVAL'));
    this.space(ns, what).sysctls.set(path, value);
  }

  async readSysctl(path: string, ns?: string): Promise<string> {
    const what = `read sysctl ${path}`;
    this.enter('readSysctl', [path, ns], what);
    if (!/^net\/[\w.\-/]+$/.test(path) || path.includes('..')) throw wrap(what, err('EINVAL'));
    return this.space(ns, what).sysctls.get(path) ?? '0';
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

function pub(l: FakeLink): LinkInfo {
  const { hairpin: _h, peer: _p, ...info } = l;
  return { ...info };
}

function randomMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return bufferToMac(b);
}
