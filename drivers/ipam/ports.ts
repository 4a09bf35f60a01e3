// Host ports of port mappings: the canonical form of a host address, the
// overlap rule between two bindings, and the index the controller allocates
// from. A host address is '' (every address of both families), 0.0.0.0 or ::
// (every address of one family) or one address; "every address" overlaps
// each single address of its family, as bind() sees it. Addresses are
// compared in one canonical text (RFC 5952 for IPv6, an IPv4-mapped IPv6
// address as its IPv4 address), so ::1 and 0:0:0:0:0:0:0:1 are one address.
//
// The index answers "is (proto, address, port) free?" in O(1) and "the first
// free port of [lo, hi] for (proto, address)" in O(log 65536) with a min
// segment tree per (proto, kind of address), so allocating P ports among N
// taken ones costs O(P log 65536), not O(P * N).

import { addrText, parseAddr, type Family } from './addr.js';

/** The canonical text of a host address, or undefined when it is not one. '' stays ''. */
export function canonHostIp(text: string): string | undefined {
  if (text === '') return '';
  const a = parseAddr(text);
  if (!a) return undefined;
  // ::ffff:a.b.c.d is the IPv4 address a.b.c.d as an IPv6 socket sees it
  if (a.family === 6 && a.value >> 32n === 0xffffn) return addrText(4, a.value & 0xffffffffn);
  return addrText(a.family, a.value);
}

/** What a canonical host address covers. */
export interface HostScope {
  families: Family[];   // the families it binds
  all: boolean;         // every address of those families
  addr: string;         // the one address ('' when all)
}

export function hostScope(canon: string): HostScope {
  if (canon === '') return { families: [4, 6], all: true, addr: '' };
  if (canon === '0.0.0.0') return { families: [4], all: true, addr: '' };
  if (canon === '::') return { families: [6], all: true, addr: '' };
  return { families: [canon.includes(':') ? 6 : 4], all: false, addr: canon };
}

/** Two host addresses (canonical or not) that can't hold the same port: a
 *  common family, and one of them every address of it or both the same one. */
export function hostIpsOverlap(a: string, b: string): boolean {
  const x = hostScope(canonHostIp(a) ?? a);
  const y = hostScope(canonHostIp(b) ?? b);
  if (!x.families.some((f) => y.families.includes(f))) return false;
  return x.all || y.all || x.addr === y.addr;
}

const PORTS = 65536;

/** Counts per port with "first port of [lo, hi] whose count is 0" in O(log 65536). */
export class FreeTree {
  // leaves at PORTS + p hold the count; an inner node holds the min of its children
  private readonly t: Uint16Array;

  constructor(from?: FreeTree) {
    this.t = from ? from.t.slice() : new Uint16Array(2 * PORTS);
  }

  count(port: number): number {
    return this.t[PORTS + port]!;
  }

  add(port: number, d: 1 | -1): void {
    let i = PORTS + port;
    this.t[i] = Math.max(0, this.t[i]! + d);
    for (i >>= 1; i >= 1; i >>= 1) this.t[i] = Math.min(this.t[2 * i]!, this.t[2 * i + 1]!);
  }

  /** The first port p in [lo, hi] with count(p) === 0, or undefined. */
  firstFree(lo: number, hi: number): number | undefined {
    if (lo > hi) return undefined;
    const r = this.find(1, 0, PORTS - 1, lo, hi);
    return r < 0 ? undefined : r;
  }

  private find(node: number, nl: number, nr: number, lo: number, hi: number): number {
    if (nr < lo || nl > hi || this.t[node]! > 0) return -1;
    if (nl === nr) return nl;
    const mid = (nl + nr) >> 1;
    const left = this.find(2 * node, nl, mid, lo, hi);
    return left >= 0 ? left : this.find(2 * node + 1, mid + 1, nr, lo, hi);
  }
}

/** One binding in the index: who holds (proto, host address, port). */
export interface PortHolder { proto: number; hostIp: string; port: number; owner: string }

/**
 * Bindings by (proto, port), with one FreeTree per proto and kind of query:
 * 'any' (a request for '' is free where no binding of either family is),
 * 'any4' / 'any6' (0.0.0.0 / ::), and one per single address in use (free
 * where neither that address nor "every address" of its family is taken).
 */
export class PortIndex {
  private readonly byPort = new Map<number, PortHolder[]>();
  private readonly trees = new Map<string, { proto: number; want: HostScope; t: FreeTree }>();
  /** Bindings on each single address, per proto: its tree goes when the last does. */
  private readonly single = new Map<string, number>();

  private treeKey(proto: number, s: HostScope): string {
    if (!s.all) return `${proto}|${s.addr}`;
    return `${proto}|${s.families.length === 2 ? 'any' : s.families[0] === 4 ? 'any4' : 'any6'}`;
  }

  /** The tree a query for s reads; built on first use from the bindings. */
  private tree(proto: number, s: HostScope): FreeTree {
    const key = this.treeKey(proto, s);
    let e = this.trees.get(key);
    if (!e) {
      const t = new FreeTree();
      for (const list of this.byPort.values()) {
        for (const h of list) if (h.proto === proto && blocks(hostScope(h.hostIp), s)) t.add(h.port, 1);
      }
      e = { proto, want: s, t };
      this.trees.set(key, e);
    }
    return e.t;
  }

  private update(proto: number, canon: string, port: number, d: 1 | -1): void {
    const s = hostScope(canon);
    for (const e of this.trees.values()) if (e.proto === proto && blocks(s, e.want)) e.t.add(port, d);
  }

  add(proto: number, hostIp: string, port: number, owner: string): void {
    const canon = canonHostIp(hostIp) ?? hostIp;
    const s = hostScope(canon);
    if (!s.all) {
      const k = this.treeKey(proto, s);
      this.single.set(k, (this.single.get(k) ?? 0) + 1);
    }
    // the tree of this binding's own kind exists before it counts in the trees
    this.tree(proto, s);
    const list = this.byPort.get(proto * PORTS + port) ?? [];
    list.push({ proto, hostIp: canon, port, owner });
    this.byPort.set(proto * PORTS + port, list);
    this.update(proto, canon, port, 1);
  }

  remove(proto: number, hostIp: string, port: number, owner: string): void {
    const canon = canonHostIp(hostIp) ?? hostIp;
    const list = this.byPort.get(proto * PORTS + port);
    const i = list?.findIndex((h) => h.hostIp === canon && h.owner === owner) ?? -1;
    if (!list || i < 0) return;
    list.splice(i, 1);
    if (!list.length) this.byPort.delete(proto * PORTS + port);
    this.update(proto, canon, port, -1);
    const s = hostScope(canon);
    if (!s.all) {
      const k = this.treeKey(proto, s);
      const n = (this.single.get(k) ?? 1) - 1;
      if (n > 0) this.single.set(k, n);
      else { this.single.delete(k); this.trees.delete(k); }
    }
  }

  /** A binding that overlaps (proto, hostIp, port), if any. */
  holder(proto: number, hostIp: string, port: number): PortHolder | undefined {
    const want = hostScope(canonHostIp(hostIp) ?? hostIp);
    return this.byPort.get(proto * PORTS + port)?.find((h) => blocks(hostScope(h.hostIp), want));
  }

  /** The first port of [lo, hi] free for (proto, hostIp). */
  firstFree(proto: number, hostIp: string, lo: number, hi: number): number | undefined {
    const s = hostScope(canonHostIp(hostIp) ?? hostIp);
    const r = this.tree(proto, s).firstFree(lo, hi);
    // a single address nothing is bound on keeps no tree
    const key = this.treeKey(proto, s);
    if (!s.all && !this.single.has(key)) this.trees.delete(key);
    return r;
  }

  clear(): void {
    this.byPort.clear();
    this.trees.clear();
    this.single.clear();
  }

  /** Every binding (tests and stats). */
  *holders(): IterableIterator<PortHolder> {
    for (const l of this.byPort.values()) yield* l;
  }
}

/** Whether a binding on `held` makes a port taken for a query on `want`. */
function blocks(held: HostScope, want: HostScope): boolean {
  if (!held.families.some((f) => want.families.includes(f))) return false;
  return want.all || held.all || held.addr === want.addr;
}
