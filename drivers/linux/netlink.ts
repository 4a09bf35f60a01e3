// NetlinkKernel: the Kernel on rtnetlink, and the one file that imports
// `netlink`. No process starts: a socket stays bound to the namespace it was
// created in, so we enter a namespace with setns() on the main thread, create
// its socket, and return before any other JavaScript can run (setns moves only
// the calling thread; an await in between would let other code run in the
// wrong namespace). One socket per namespace path is cached until deleteNetns.

import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { closeSync, fstatSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
// The package's rtnetlink parts only: its index also loads the nl80211,
// WireGuard and generic-netlink families, a third of its start-up cost.
import rtSocket from 'netlink/dist/rt/rt.js';
import rtStructs from 'netlink/dist/rt/structs.js';
import nlConstants from 'netlink/dist/constants.js';
import nlStructs from 'netlink/dist/structs.js';
import type { RtNetlinkSocket, rt, ifla } from 'netlink';
import { isGone, wrap } from '../../errors/index.js';
import type { AddressInfo, Kernel, LinkInfo, RouteInfo, RouteSpec, SetupConfig, VethSpec } from './kernel.js';
import { NetnsPool } from './nspool.js';
import { errnoName, makeNetns, rtnlBatches, ensureNetnsTmpfs, inNetns, isNetnsPath, mountNetnsFd, mountNewNetns, mountOwnNetns, openOwnNetns, openRuntimeNetns, unmountNetns } from './native.js';
import {
  bridgeLinkinfo, bridgePortLinkinfo, bufferToIp, noIpv6LinkLocal, bufferToMac, decodeLink, decodeLinkKind, ifinfomsg, ipToBuffer, linkDumpAttrs, macToBuffer, parseCidr, vethLinkinfo,
} from './linkinfo.js';

const { createRtNetlink } = rtSocket;
const { FlagsNew, FlagsGet, Flags } = nlConstants;
const { formatMessage, AttrStream } = nlStructs;
const MSG = rtStructs.MessageType;
const AF = { 4: 2, 6: 10 } as const;      // AF_INET, AF_INET6
const RT_TABLE_MAIN = 254;
const LOOPBACK_IFINDEX = 1;               // fixed in every namespace
const CREATE_EXCL = { flags: FlagsNew.CREATE | FlagsNew.EXCL };
const UP = { flags: { up: true as const }, change: { up: true as const } };

/** What we hold on a namespace. Its socket for the netlink package is made on
 * first use: the join path needs none (its datagrams go through rtnlBatches). */
class NsHandle {
  /** A namespace we just made holds lo (1) only, so we know the ifindex of
   *  each link we put in it and never look one up: the next one to give (we
   *  ask for it, and the kernel numbers a namespace's links in order and never
   *  gives an index twice). Unknown (undefined) once one of ours was deleted. */
  nextIndex?: number;
  /** ifindex by name of the links we put in it with an index we picked. */
  picked?: Map<string, number>;
  private s?: RtNetlinkSocket;

  /** fd: open on the namespace (keeps it alive; setns, IFLA_NET_NS_FD); dev/ino: its
   *  nsfs identity, to notice a path re-mounted elsewhere; open: makes its socket. */
  constructor(readonly fd: number, readonly dev: number, readonly ino: number, private readonly open: () => RtNetlinkSocket, made?: RtNetlinkSocket) {
    this.s = made;
  }

  get sock(): RtNetlinkSocket {
    this.s ??= this.open();
    return this.s;
  }

  closeSocket(): void {
    this.s?.socket.close();
    this.s = undefined;
  }
}

/** One request of a batch; `ok` lists error codes that count as success (EEXIST for an ensure). */
interface Req { type: number; payload: Uint8Array[]; flags?: number; ok?: string[] }

function linkReq(type: number, data: rt.Link, attrs: ifla.LinkAttrs, flags = 0): Req {
  const out = new AttrStream();
  rtStructs.formatLinkMessage({ kind: 'link', data, attrs }, out);
  return { type, payload: out.bufs, flags };
}

type Errno = NodeJS.ErrnoException;

/** The package rejects with "Request rejected: EEXIST" and no code; give it one. */
function errno(err: unknown): Errno {
  const e = err as Errno;
  if (e && !e.code) {
    const m = /Request rejected: (E[A-Z0-9]+|\d+)/.exec(e.message ?? '');
    if (m) return Object.assign(new Error(m[1]), { code: m[1] });
  }
  return e;
}

const code = (err: unknown): string | undefined => errno(err)?.code;
const failure = (c: string, detail = ''): Errno => Object.assign(new Error(`${c}${detail}`), { code: c });
const at = (ns?: string): string => (ns ? ` in ${ns}` : '');

function sysctlFile(path: string): string {
  if (!/^net\/[\w.\-/]+$/.test(path) || path.includes('..')) {
    throw failure('EINVAL', ` (not a net sysctl path: ${JSON.stringify(path)})`);
  }
  return `/proc/sys/${path}`;
}

let lastSeq = 0;

/** One datagram of requests: the kernel runs them in order and answers a
 *  failure of any at once (errors are always answered); only the last asks
 *  for an ACK. */
interface Datagram { bytes: Buffer; seqs: number[] }

function encode(reqs: Req[]): Datagram {
  const seqs = reqs.map(() => (lastSeq = (lastSeq % 0x7ffffffe) + 1));
  const last = reqs.length - 1;
  const parts = reqs.flatMap((r, k) => {
    const msg = formatMessage({
      type: r.type, flags: Flags.REQUEST | (r.flags ?? 0) | (k === last ? Flags.ACK : 0), seq: seqs[k]!, port: 0, data: r.payload,
    });
    const len = msg.reduce((n, b) => n + b.length, 0);
    // the kernel finds the next message at the 4-byte aligned end of this one
    return len % 4 ? [...msg, Buffer.alloc(4 - (len % 4))] : msg;
  });
  return { bytes: Buffer.concat(parts), seqs };
}

/** Throws the first failure not in its request's `ok`, with `request`: its index. */
function check(reqs: Req[], d: Datagram, answers: Array<[number, number]>): void {
  for (const [seq, errno] of answers) {
    if (!errno) continue;
    const name = errnoName(errno);
    const k = d.seqs.indexOf(seq);
    if (reqs[k]?.ok?.includes(name)) continue;
    throw Object.assign(failure(name), { request: k });
  }
}

/** Datagrams for several namespaces, sent one after the other on one pool
 *  thread (rtnlBatches). Throws the first failure, with `part`: the index of
 *  the datagram it was in (the ones after it were not sent). */
async function sendParts(parts: Array<{ h: NsHandle; reqs: Req[]; keep: boolean }>): Promise<void> {
  const ds = parts.map((p) => encode(p.reqs));
  const answers = await rtnlBatches(parts.map((p, i) => [p.h.fd, ds[i]!.bytes, ds[i]!.seqs[ds[i]!.seqs.length - 1]!, p.keep]));
  for (let i = 0; i < answers.length; i++) {
    try {
      check(parts[i]!.reqs, ds[i]!, answers[i]!);
    } catch (err) {
      throw Object.assign(err as Error, { part: i });
    }
  }
  // a part answered only with failures its requests accept ends the job too: send the rest
  if (answers.length < parts.length) {
    try {
      await sendParts(parts.slice(answers.length));
    } catch (err) {
      throw Object.assign(err as Error, { part: (err as { part: number }).part + answers.length });
    }
  }
}

export class NetlinkKernel implements Kernel {
  private readonly own: NsHandle;
  private readonly handles = new Map<string, NsHandle>();
  /** ifindex of our bridges by name: every join enslaves a veth to one. Dropped when we delete the link. */
  private readonly masters = new Map<string, number>();

  /** Takes the calling thread's namespace as the daemon's own. */
  private readonly pool?: NetnsPool;

  /** opts.pool: namespaces made ahead of time on a worker thread (0: none, every one made in line). */
  constructor(opts: { pool?: number; onPoolError?: (msg: string) => void } = {}) {
    const fd = openOwnNetns();
    const st = fstatSync(fd);
    this.own = new NsHandle(fd, st.dev, st.ino, () => createRtNetlink());
    const size = opts.pool ?? 4;
    if (size > 0) this.pool = new NetnsPool(size, opts.onPoolError);
  }

  /** A handle on the namespace behind fd, whose socket is made inside it when first asked for. */
  private nsHandle(fd: number, st: { dev: number; ino: number }, sock?: RtNetlinkSocket): NsHandle {
    return new NsHandle(fd, st.dev, st.ino, () => inNetns(fd, this.own.fd, () => createRtNetlink()), sock);
  }

  /** Batches in flight: the namespace pool refills when there are none. */
  private inflight = 0;

  /** Several requests in one datagram on a pool thread: one sendmsg, one read. */
  private batch(h: NsHandle, reqs: Req[]): Promise<void> {
    return this.batches([{ h, reqs }]);
  }

  /** Datagrams for several namespaces in one pool-thread job (sendParts). */
  private async batches(parts: Array<{ h: NsHandle; reqs: Req[] }>): Promise<void> {
    this.inflight++;
    try {
      // the pool threads keep a socket in the daemon's own namespace, never in a sandbox's
      await sendParts(parts.map((p) => ({ ...p, keep: p.h === this.own })));
    } finally {
      this.inflight--;
      this.refillSoon();
    }
  }

  /** Refill the namespace pool once the kernel work in flight is done (a
   *  join's veth would otherwise wait on RTNL behind the new namespace), or
   *  at once when it runs low under load. */
  private refillSoon(): void {
    const pool = this.pool;
    if (!pool) return;
    if (pool.low) { pool.refill(); return; }
    setImmediate(() => { if (this.inflight === 0) pool.refill(); });
  }

  /** The cached handle for a namespace path, opened on first use. */
  private handle(ns?: string): NsHandle {
    if (ns === undefined) return this.own;
    const cached = this.handles.get(ns);
    if (cached) {
      const st = statSync(ns, { throwIfNoEntry: false });
      if (st && st.dev === cached.dev && st.ino === cached.ino) return cached;
      this.drop(ns);  // unmounted or re-mounted behind our back: don't talk to a stale namespace
    }
    const fd = openSync(ns, 'r');
    try {
      const st = fstatSync(fd);
      const h = this.nsHandle(fd, st);
      this.handles.set(ns, h);
      return h;
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  private drop(ns: string): void {
    const h = this.handles.get(ns);
    if (!h) return;
    this.handles.delete(ns);
    h.closeSocket();
    closeSync(h.fd);
  }

  /** Run fn, wrapping any failure with what we were doing (errno code kept). */
  private async op<T>(what: string, fn: () => Promise<T> | T): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw wrap(what, errno(err));
    }
  }

  /** Like op, but a missing object (or namespace) counts as done. */
  private async gone(what: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (!isGone(errno(err))) throw wrap(what, errno(err));
    }
  }

  private async indexOf(h: NsHandle, name: string): Promise<number> {
    const [msg] = await h.sock.getLink({}, { ifname: name });
    if (!msg?.data.index) throw failure('ENODEV');
    return msg.data.index;
  }

  async prepareNetnsDir(dir: string): Promise<'tmpfs' | 'mounted' | 'skipped'> {
    return this.op(`prepare netns dir ${dir}`, async () => ensureNetnsTmpfs(dir, (await readdir(dir)).length));
  }

  async createNetns(path: string): Promise<void> {
    const what = `create netns ${path}`;
    // an empty pool (a burst of joins took every one): make this one on a pool
    // thread too, not with unshare in line, which would stall the main thread
    // (and every other request) behind the kernel's locks the veths hold
    const made = this.pool && this.pool.empty ? await this.op(what, () => makeNetns()) : undefined;
    const { h, loUp } = await this.op(what, () => this.mountNewNetns(path, made));
    h.nextIndex = LOOPBACK_IFINDEX + 1;
    h.picked = new Map();
    if (loUp) return;
    try {
      await h.sock.setLink({ index: LOOPBACK_IFINDEX, ...UP });
    } catch (err) {
      await this.deleteNetns(path).catch(() => undefined);
      throw wrap(`${what}: set lo up`, errno(err));
    }
  }

  /** A pooled namespace bound at path (made with lo up), or else unshare,
   *  bind-mount, socket, back home: all synchronous, no await in between. */
  private mountNewNetns(path: string, made?: number): { h: NsHandle; loUp: boolean } {
    const pooled = made ?? this.pool?.take();
    this.refillSoon();
    if (pooled !== undefined) {
      try {
        mountNetnsFd(path, pooled);
      } catch (err) {
        // nothing of ours is at path: whatever is there (another sandbox's namespace) stays
        closeSync(pooled);
        throw err;
      }
      try {
        const st = fstatSync(pooled);
        const h = this.nsHandle(pooled, st);
        this.handles.set(path, h);
        return { h, loUp: true };
      } catch (err) {
        closeSync(pooled);
        unmountNetns(path);
        throw err;
      }
    }
    const sock = mountNewNetns(path, this.own.fd, () => createRtNetlink());
    const fd = openSync(path, 'r');
    const h = this.nsHandle(fd, fstatSync(fd), sock);
    this.handles.set(path, h);
    return { h, loUp: false };
  }

  /** The runtime's namespace, checked: a network namespace, not ours, the one expected. */
  private openRuntime(source: string, expectIno?: number): { fd: number; ino: number } {
    const opened = openRuntimeNetns(source, this.own.fd);
    const refuse = (why: string): never => {
      closeSync(opened.fd);
      throw Object.assign(new Error(`${source} ${why}`), { code: 'ENOTNETNS' });
    };
    if (opened.ino === this.own.ino) refuse('is the daemon\'s own network namespace');
    if (expectIno !== undefined && opened.ino !== expectIno) refuse(`is namespace ${opened.ino}, not ${expectIno}`);
    return opened;
  }

  async netnsInode(source: string): Promise<number> {
    return this.op(`inspect netns ${source}`, () => {
      const { fd, ino } = this.openRuntime(source);
      closeSync(fd);
      return ino;
    });
  }

  async adoptNetns(path: string, source: string, expectIno?: number): Promise<number> {
    return this.op(`adopt netns ${source} at ${path}`, () => {
      const { fd, ino } = this.openRuntime(source, expectIno);
      try {
        // our own mount of it: the path a /proc/<pid>/fd/<n> names dies with the caller
        mountNetnsFd(path, fd);
      } catch (err) {
        closeSync(fd);
        throw err;
      }
      try {
        this.handles.set(path, this.nsHandle(fd, fstatSync(fd)));
      } catch (err) {
        closeSync(fd);
        unmountNetns(path);
        throw err;
      }
      return ino;
    });
  }

  async deleteNetns(path: string): Promise<void> {
    const errors: unknown[] = [];
    try { this.drop(path); } catch (err) { errors.push(err); }
    errors.push(...unmountNetns(path));
    if (errors.length) throw wrap(`delete netns ${path}`, errors[0]);
  }

  releaseNetns(path: string): void {
    this.drop(path);
  }

  async isNetns(path: string): Promise<boolean> {
    return isNetnsPath(path);
  }

  async bindOwnNetns(path: string): Promise<void> {
    // the main thread is in our own namespace between calls, so thread-self is it
    await this.op(`bind own netns at ${path}`, () => mountOwnNetns(path));
  }

  /** A dump without counters, read for LinkInfo's fields only: the package's
   *  decoding of every attribute of every link cost ~0.1 ms per link, and
   *  start-up lists a thousand containers' host veths. */
  async links(ns?: string): Promise<LinkInfo[]> {
    return this.op(`list links${at(ns)}`, async () => {
      const payload = [ifinfomsg(), linkDumpAttrs()];
      const [msgs] = await this.handle(ns).sock.socket.request(MSG.GETLINK, payload, { flags: FlagsGet.DUMP });
      return msgs.filter((m) => m.type === MSG.NEWLINK).map((m) => decodeLink(m.data));
    });
  }

  async link(name: string, ns?: string): Promise<LinkInfo | undefined> {
    try {
      const [msg] = await this.handle(ns).sock.getLink({}, { ifname: name });
      return msg ? toLinkInfo(msg) : undefined;
    } catch (err) {
      if (code(err) === 'ENODEV') return undefined;
      throw wrap(`get link ${name}${at(ns)}`, errno(err));
    }
  }

  async ensureBridge(name: string, opts: { mtu?: number; mac?: string; alias?: string }): Promise<LinkInfo> {
    return this.op(`ensure bridge ${name}`, async () => {
      const attrs: ifla.LinkAttrs = { ifname: name, linkinfo: bridgeLinkinfo() };
      if (opts.mtu) attrs.mtu = opts.mtu;
      if (opts.alias) attrs.ifalias = opts.alias;
      // an address of its own (set, not random) keeps the bridge from taking on a
      // port's MAC as ports come and go, which would stale the containers' ARP caches
      attrs.address = opts.mac ? macToBuffer(opts.mac) : randomMac();
      try {
        await this.own.sock.newLink(UP, attrs, CREATE_EXCL);
        // IFLA_IFALIAS is only applied to an existing link
        if (opts.alias) await this.own.sock.setLink({}, { ifname: name, ifalias: opts.alias });
      } catch (err) {
        if (code(err) !== 'EEXIST') throw err;
        const have = await this.link(name);
        if (have?.kind !== 'bridge') throw failure('EEXIST', ' (a link of that name is not a bridge)');
        const change: ifla.LinkAttrs = { ifname: name };
        if (opts.mtu && opts.mtu !== have.mtu) change.mtu = opts.mtu;
        if (opts.alias && opts.alias !== have.alias) change.ifalias = opts.alias;
        if (!have.up || change.mtu || change.ifalias) await this.own.sock.setLink(UP, change);
      }
      const info = await this.link(name);
      if (!info) throw failure('ENODEV');
      return info;
    });
  }

  async createVeth(spec: VethSpec, setup?: SetupConfig): Promise<void> {
    const what = `create veth ${spec.name} (peer ${spec.peer.name} in ${spec.peer.ns})`;
    // the pair is made: a failure of the setup part deletes it again, and is reported as setupInterface's
    let setupFailed: unknown;
    const undoPair = async (err: unknown): Promise<never> => {
      setupFailed = err;
      await this.deleteLink(spec.name).catch(() => undefined);
      // the kernel does not give the deleted peer's index again: look indexes up from here on
      const h = this.handles.get(spec.peer.ns);
      if (h) h.nextIndex = undefined;
      throw err;
    };
    let inline = false;
    try {
      await this.op(what, async () => {
        const peerNs = this.handle(spec.peer.ns);
        const index = peerNs.nextIndex;
        const attrs: ifla.LinkAttrs = {
          ifname: spec.name,
          linkinfo: vethLinkinfo({ name: spec.peer.name, mac: spec.peer.mac, mtu: spec.mtu, nsFd: peerNs.fd, index }),
        };
        if (spec.mtu) attrs.mtu = spec.mtu;
        if (spec.master) attrs.master = await this.masterIndex(spec.master);
        // Bridge-port settings only apply to an existing port, so a second
        // request, in the same datagram. It also keeps IPv6 from giving the host
        // end a link-local address: a bridge port needs none, and its DAD and
        // MLD packets would be flooded to every port of the bridge, which grows
        // with every container. The peer has no carrier until the sandbox brings
        // it up, so nothing was sent yet. Master and up are applied by the
        // kernel after the link is registered, in the first request.
        const port: ifla.LinkAttrs = { ifname: spec.name, afSpec: noIpv6LinkLocal() };
        // the kernel takes IFLA_IFALIAS on a change, not on a create: the mark goes here
        if (spec.alias) port.ifalias = spec.alias;
        if (spec.hairpin) port.linkinfo = bridgePortLinkinfo({ hairpin: true });
        // In a namespace we made the peer's index is ours to pick, so its setup
        // can go in the same pool-thread job, right after the pair is made.
        inline = setup !== undefined && index !== undefined;
        const send = (): Promise<void> => {
          const veth = [linkReq(MSG.NEWLINK, UP, attrs, FlagsNew.CREATE | FlagsNew.EXCL), linkReq(MSG.NEWLINK, {}, port)];
          if (!inline) return this.batch(this.own, veth);
          return this.batches([{ h: this.own, reqs: veth }, { h: peerNs, reqs: setupRequests(index!, setup!) }]);
        };
        // the pair exists once its create went through: a failure of the port
        // settings or of the setup part deletes it again
        const failed = async (err: unknown): Promise<void> => {
          if ((err as { part?: number }).part === 1) return undoPair(err);
          if ((err as { request?: number }).request === 1) await this.deleteLink(spec.name).catch(() => undefined);
          throw err;
        };
        try {
          await send();
        } catch (err) {
          // a bridge re-made behind our back has a new index: look it up again once
          const e = err as { part?: number; request?: number };
          if (!spec.master || code(err) !== 'ENODEV' || e.part === 1 || e.request === 1) return failed(err);
          this.masters.delete(spec.master);
          attrs.master = await this.masterIndex(spec.master);
          await send().catch(failed);
        }
        if (index !== undefined) {
          peerNs.nextIndex = index + 1;
          peerNs.picked!.set(spec.peer.name, index);
        }
      });
    } catch (err) {
      if (setupFailed === undefined) throw err;
      throw wrap(`set up ${spec.peer.name}${at(spec.peer.ns)}`, errno(setupFailed));
    }
    // a namespace we did not make (a runtime's): the peer's index is looked up, in a second job
    if (setup && !inline) await this.setupInterface(spec.peer.name, spec.peer.ns, setup).catch(undoPair);
  }

  private async masterIndex(name: string): Promise<number> {
    let index = this.masters.get(name);
    if (index === undefined) {
      index = await this.indexOf(this.own, name);
      this.masters.set(name, index);
    }
    return index;
  }

  async deleteLink(name: string, ns?: string): Promise<void> {
    if (ns === undefined) this.masters.delete(name);
    await this.gone(`delete link ${name}${at(ns)}`, () => this.handle(ns).sock.delLink({}, { ifname: name }));
  }

  async setLinkUp(name: string, ns?: string): Promise<void> {
    await this.op(`set link ${name} up${at(ns)}`, () => this.handle(ns).sock.setLink(UP, { ifname: name }));
  }

  async setLinkDown(name: string, ns?: string): Promise<void> {
    // a leave's one kernel request: off the main thread like the join's (a bridge port going down is not free)
    await this.gone(`set link ${name} down${at(ns)}`, () => this.batch(this.handle(ns), [linkReq(MSG.SETLINK, { flags: {}, change: { up: true } }, { ifname: name })]));
  }


  async addAddress(ifname: string, cidr: string, ns?: string): Promise<void> {
    await this.op(`add address ${cidr} to ${ifname}${at(ns)}`, async () => {
      const h = this.handle(ns);
      const [data, attrs] = addrRequest(cidr, await this.indexOf(h, ifname));
      try {
        await h.sock.newAddress(data, attrs, CREATE_EXCL);
      } catch (err) {
        if (code(err) !== 'EEXIST') throw err;
      }
    });
  }

  async deleteAddress(ifname: string, cidr: string, ns?: string): Promise<void> {
    await this.gone(`delete address ${cidr} from ${ifname}${at(ns)}`, async () => {
      const h = this.handle(ns);
      const [data, attrs] = addrRequest(cidr, await this.indexOf(h, ifname));
      await h.sock.delAddress(data, attrs);
    });
  }

  async addresses(ns?: string): Promise<AddressInfo[]> {
    return this.op(`list addresses${at(ns)}`, async () => {
      const msgs = await this.handle(ns).sock.getAddresses();
      return msgs.flatMap((m): AddressInfo[] => {
        const addr = m.attrs.local ?? m.attrs.address;
        if (!addr || (m.data.family !== AF[4] && m.data.family !== AF[6])) return [];
        return [{ index: m.data.index ?? 0, cidr: `${bufferToIp(addr)}/${m.data.prefixlen ?? 0}`, family: addr.length === 4 ? 4 : 6 }];
      });
    });
  }

  async setupInterface(ifname: string, ns: string, cfg: SetupConfig): Promise<void> {
    await this.op(`set up ${ifname}${at(ns)}`, async () => {
      const h = this.handle(ns);
      const index = h.picked?.get(ifname) ?? (await this.indexOf(h, ifname));
      await this.batch(h, setupRequests(index, cfg));
    });
  }

  async addRoute(route: RouteSpec, ns?: string): Promise<void> {
    const what = `add route ${route.dst}${route.gateway ? ` via ${route.gateway}` : ''}${route.ifname ? ` dev ${route.ifname}` : ''}${route.metric ? ` metric ${route.metric}` : ''}${at(ns)}`;
    await this.op(what, async () => {
      const h = this.handle(ns);
      const oif = route.ifname ? await this.indexOf(h, route.ifname) : undefined;
      try {
        await h.sock.newRoute(...routeRequest(route, oif), CREATE_EXCL);
      } catch (err) {
        if (code(err) !== 'EEXIST') throw err;
      }
    });
  }

  async routes(ns?: string): Promise<RouteInfo[]> {
    return this.op(`list routes${at(ns)}`, async () => {
      const msgs = await this.handle(ns).sock.getRoutes();
      return msgs.flatMap((m): RouteInfo[] => {
        const table = m.attrs.table ?? m.data.table;
        if (table !== RT_TABLE_MAIN || (m.data.type !== 'UNICAST' && m.data.type !== 1)) return [];
        const family = m.data.family === AF[6] ? 6 : 4;
        const r: RouteInfo = { family, dst: m.attrs.dst ? `${bufferToIp(m.attrs.dst)}/${m.data.dstLen}` : 'default' };
        if (m.attrs.gateway) r.gateway = bufferToIp(m.attrs.gateway);
        if (m.attrs.oif) r.index = m.attrs.oif;
        if (m.attrs.priority) r.metric = m.attrs.priority;
        return [r];
      });
    });
  }

  async writeSysctl(path: string, value: string, ns?: string): Promise<void> {
    // synchronous on purpose: /proc/sys/net is the namespace of the thread that opens it
    await this.op(`write sysctl ${path}=${value}${at(ns)}`, () =>
      inNetns(this.handle(ns).fd, this.own.fd, () => writeFileSync(sysctlFile(path), value)));
  }

  async readSysctl(path: string, ns?: string): Promise<string> {
    return this.op(`read sysctl ${path}${at(ns)}`, () =>
      inNetns(this.handle(ns).fd, this.own.fd, () => readFileSync(sysctlFile(path), 'utf8').trim()));
  }

  async close(): Promise<void> {
    await this.pool?.close();
    for (const ns of [...this.handles.keys()]) this.drop(ns);
    this.own.closeSocket();
    closeSync(this.own.fd);
  }
}

function addrRequest(cidr: string, index: number): [rt.Address, rt.AddressAttrs] {
  const { family, addr, prefix } = parseCidr(cidr);
  // no DAD: the address is ours by IPAM, and waiting ~1 s for DAD would stall the container
  const flags: rt.AddressFlags | undefined = family === 6 ? { nodad: true } : undefined;
  const attrs: rt.AddressAttrs = family === 4 ? { local: addr, address: addr } : { address: addr, flags };
  return [{ family: AF[family], prefixlen: prefix, index, flags }, attrs];
}

/** Bringing link `index` up with cfg, one datagram applied in this order: no
 *  link-local (before up, so none is made), up, addresses, routes; what
 *  exists already is success. */
function setupRequests(index: number, cfg: SetupConfig): Req[] {
  const reqs: Req[] = [];
  if (cfg.ipv6 === false) reqs.push(linkReq(MSG.SETLINK, { index }, { afSpec: noIpv6LinkLocal() }));
  reqs.push(linkReq(MSG.SETLINK, { index, ...UP }, {}));
  for (const cidr of cfg.addresses) {
    const out = new AttrStream();
    const [data, attrs] = addrRequest(cidr, index);
    rtStructs.formatAddressMessage({ kind: 'address', data, attrs }, out);
    reqs.push({ type: MSG.NEWADDR, payload: out.bufs, flags: FlagsNew.CREATE | FlagsNew.EXCL, ok: ['EEXIST'] });
  }
  for (const r of cfg.routes) {
    const out = new AttrStream();
    const [data, attrs] = routeRequest(r);
    rtStructs.formatRouteMessage({ kind: 'route', data, attrs }, out);
    reqs.push({ type: MSG.NEWROUTE, payload: out.bufs, flags: FlagsNew.CREATE | FlagsNew.EXCL, ok: ['EEXIST'] });
  }
  return reqs;
}

/** RTM_NEWROUTE for a prefix or default route, by gateway and/or output interface. */
function routeRequest(route: RouteSpec, oif?: number): [rt.Route, rt.RouteAttrs] {
  const dst = route.dst === 'default' ? undefined : parseCidr(route.dst);
  const gw = route.gateway ? ipToBuffer(route.gateway) : undefined;
  const family = dst?.family ?? (gw?.length === 16 ? 6 : gw ? 4 : undefined);
  if (!family) throw failure('EINVAL', ' (a default route needs a gateway)');
  const attrs: rt.RouteAttrs = {};
  if (dst?.prefix) attrs.dst = dst.addr;
  if (gw) attrs.gateway = gw;
  if (oif) attrs.oif = oif;
  if (route.metric) attrs.priority = route.metric;
  const data: rt.Route = {
    family: AF[family], dstLen: dst?.prefix ?? 0, table: RT_TABLE_MAIN,
    protocol: 'BOOT', scope: gw ? 'UNIVERSE' : 'LINK', type: 'UNICAST',
  };
  return [data, attrs];
}

function toLinkInfo(m: rt.LinkMessage): LinkInfo {
  const info: LinkInfo = {
    index: m.data.index ?? 0,
    name: m.attrs.ifname ?? '',
    up: !!m.data.flags?.up,
    mtu: m.attrs.mtu ?? 0,
    mac: bufferToMac(m.attrs.address),
  };
  const kind = decodeLinkKind(m.attrs.linkinfo);
  if (kind) info.kind = kind;
  if (m.attrs.master) info.master = m.attrs.master;
  if (m.attrs.ifalias) info.alias = m.attrs.ifalias;
  if (m.attrs.linkNetnsid !== undefined) info.peerElsewhere = true;
  return info;
}

/** A random unicast, locally administered MAC. */
function randomMac(): Buffer {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return b;
}
