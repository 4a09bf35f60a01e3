// The nested rtnetlink attributes the `netlink` package leaves as raw bytes:
// IFLA_LINKINFO (link kind, veth peer, bridge-port settings), and link dumps
// read for LinkInfo's few fields (decodeLink). Netlink
// attributes are host-endian {u16 len, u16 type, payload} padded to 4 bytes;
// nesting is an attribute whose payload is more attributes.

import { endianness } from 'node:os';
import type { LinkInfo } from './kernel.js';

const LE = endianness() === 'LE';

/** Top-level link attributes (linux/if_link.h). */
export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_MASTER = 10;
export const IFLA_PROTINFO = 12;
export const IFLA_LINKINFO = 18;
export const IFLA_NET_NS_FD = 28;

/** Inside IFLA_LINKINFO. */
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_INFO_SLAVE_KIND = 4;
export const IFLA_INFO_SLAVE_DATA = 5;

/** Inside IFLA_INFO_DATA of a veth: the peer's ifinfomsg followed by its attributes. */
export const VETH_INFO_PEER = 1;
/** Bridge-port attribute (IFLA_BRPORT_*): hairpin mode, u8. */
export const IFLA_BRPORT_MODE = 4;
/** Marks an attribute whose payload is nested attributes; the bridge's
 *  AF_BRIDGE setlink path only parses IFLA_PROTINFO as nested when it is set. */
export const NLA_F_NESTED = 0x8000;
const NLA_TYPE_MASK = 0x3fff;

export const IFF_UP = 0x1;
/** sizeof(struct ifinfomsg) */
export const IFINFOMSG_LEN = 16;

export interface Attr {
  type: number;
  data: Buffer | Attr[];   // an Attr[] payload is encoded as nested attributes
  nested?: boolean;        // set NLA_F_NESTED on the type
}

const align4 = (n: number): number => (n + 3) & ~3;

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  LE ? b.writeUInt16LE(v) : b.writeUInt16BE(v);
  return b;
}

export function u8(v: number): Buffer {
  return Buffer.from([v & 0xff]);
}

export function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  LE ? b.writeUInt32LE(v >>> 0) : b.writeUInt32BE(v >>> 0);
  return b;
}

export function readU32(b: Buffer, off = 0): number {
  return LE ? b.readUInt32LE(off) : b.readUInt32BE(off);
}

/** NUL-terminated string payload, as iproute2 sends names. */
export function str(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)]);
}

/** Encode one attribute, padded to 4 bytes. */
export function encodeAttr(a: Attr): Buffer {
  const payload = Array.isArray(a.data) ? encodeAttrs(a.data) : a.data;
  const len = 4 + payload.length;
  if (len > 0xffff) throw new RangeError(`netlink attribute ${a.type} too long (${len})`);
  const type = (a.type & NLA_TYPE_MASK) | (a.nested ? NLA_F_NESTED : 0);
  return Buffer.concat([u16(len), u16(type), payload, Buffer.alloc(align4(len) - len)]);
}

export function encodeAttrs(list: Attr[]): Buffer {
  return Buffer.concat(list.map(encodeAttr));
}

/** Parse a run of attributes into type -> payload (flags stripped; last one wins). */
export function parseAttrs(buf: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = LE ? buf.readUInt16LE(off) : buf.readUInt16BE(off);
    const type = (LE ? buf.readUInt16LE(off + 2) : buf.readUInt16BE(off + 2)) & NLA_TYPE_MASK;
    if (len < 4 || off + len > buf.length) throw new RangeError(`malformed netlink attribute at offset ${off}`);
    out.set(type, buf.subarray(off + 4, off + len));
    off += align4(len);
  }
  return out;
}

/** struct ifinfomsg: family, pad, type, index, flags, change. */
export function ifinfomsg(opts: { index?: number; flags?: number; change?: number } = {}): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  if (LE) {
    b.writeInt32LE(opts.index ?? 0, 4);
    b.writeUInt32LE(opts.flags ?? 0, 8);
    b.writeUInt32LE(opts.change ?? 0, 12);
  } else {
    b.writeInt32BE(opts.index ?? 0, 4);
    b.writeUInt32BE(opts.flags ?? 0, 8);
    b.writeUInt32BE(opts.change ?? 0, 12);
  }
  return b;
}

export function macToBuffer(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) {
    throw Object.assign(new Error(`invalid MAC address ${JSON.stringify(mac)}`), { code: 'EINVAL' });
  }
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

export function bufferToMac(b: Buffer | undefined): string {
  return b ? [...b].map((x) => x.toString(16).padStart(2, '0')).join(':') : '';
}

/** IFLA_LINKINFO payload for a bridge; data are IFLA_BR_* attributes, if any. */
export function bridgeLinkinfo(data?: Attr[]): Buffer {
  const list: Attr[] = [{ type: IFLA_INFO_KIND, data: str('bridge') }];
  if (data?.length) list.push({ type: IFLA_INFO_DATA, data, nested: true });
  return encodeAttrs(list);
}

export interface VethPeer {
  name: string;
  mac?: string;
  mtu?: number;
  nsFd?: number;  // fd of the namespace the peer is created in (IFLA_NET_NS_FD)
  index?: number; // ifindex asked for in that namespace (0 or absent: the kernel picks)
}

/** IFLA_LINKINFO payload for a veth pair. The peer is a whole link request of
 *  its own (ifinfomsg + attributes), so it lands in another namespace with its
 *  name, MAC, MTU and, if asked, ifindex set (knowing the index spares a
 *  lookup before the addresses go on). Its ifinfomsg has no flags: asking for IFF_UP there
 *  fails with ENOTCONN, because the kernel opens the peer before the pair is
 *  linked. */
export function vethLinkinfo(peer: VethPeer): Buffer {
  const peerAttrs: Attr[] = [{ type: IFLA_IFNAME, data: str(peer.name) }];
  if (peer.mac) peerAttrs.push({ type: IFLA_ADDRESS, data: macToBuffer(peer.mac) });
  if (peer.mtu) peerAttrs.push({ type: IFLA_MTU, data: u32(peer.mtu) });
  if (peer.nsFd !== undefined) peerAttrs.push({ type: IFLA_NET_NS_FD, data: u32(peer.nsFd) });
  const peerPayload = Buffer.concat([ifinfomsg({ index: peer.index }), encodeAttrs(peerAttrs)]);
  return encodeAttrs([
    { type: IFLA_INFO_KIND, data: str('veth') },
    { type: IFLA_INFO_DATA, nested: true, data: [{ type: VETH_INFO_PEER, nested: true, data: peerPayload }] },
  ]);
}

/** IFLA_LINKINFO payload changing a bridge port's settings (RTM_NEWLINK on an
 *  existing port, as `ip link set X type bridge_slave hairpin on` does). */
export function bridgePortLinkinfo(opts: { hairpin: boolean }): Buffer {
  return encodeAttrs([
    { type: IFLA_INFO_SLAVE_KIND, data: str('bridge') },
    { type: IFLA_INFO_SLAVE_DATA, nested: true, data: [{ type: IFLA_BRPORT_MODE, data: u8(opts.hairpin ? 1 : 0) }] },
  ]);
}

const AF_INET6 = 10;
const IFLA_INET6_ADDR_GEN_MODE = 8;
const IN6_ADDR_GEN_MODE_NONE = 1;

/** IFLA_AF_SPEC map (as the netlink package takes it) telling IPv6 to generate
 *  no link-local address on the link. The kernel refuses it on RTM_NEWLINK
 *  create (EAFNOSUPPORT), so it goes with a change request. */
export function noIpv6LinkLocal(): Map<number, Buffer> {
  return new Map([[AF_INET6, encodeAttrs([{ type: IFLA_INET6_ADDR_GEN_MODE, data: u8(IN6_ADDR_GEN_MODE_NONE) }])]]);
}

/** IFLA_PROTINFO attribute (whole, with NLA_F_NESTED) for RTM_SETLINK with family AF_BRIDGE. */
export function bridgePortProtinfo(opts: { hairpin: boolean }): Buffer {
  return encodeAttr({ type: IFLA_PROTINFO, nested: true, data: [{ type: IFLA_BRPORT_MODE, data: u8(opts.hairpin ? 1 : 0) }] });
}

/** IFLA_INFO_KIND of a link dump's IFLA_LINKINFO payload (bridge, veth …). */
export function decodeLinkKind(linkinfo: Buffer | undefined): string | undefined {
  if (!linkinfo) return undefined;
  const kind = parseAttrs(linkinfo).get(IFLA_INFO_KIND);
  return kind ? kind.toString('utf8').replace(/\0+$/, '') : undefined;
}

const IFLA_IFALIAS = 20;
const IFLA_EXT_MASK = 29;
const IFLA_LINK_NETNSID = 37;
/** RTEXT_FILTER_SKIP_STATS: a dump without the per-link counters (most of each message). */
const RTEXT_FILTER_SKIP_STATS = 1 << 3;

/** The attributes of an RTM_GETLINK dump request that leaves the counters out. */
export function linkDumpAttrs(): Buffer {
  const mask = Buffer.alloc(4);
  if (LE) mask.writeUInt32LE(RTEXT_FILTER_SKIP_STATS); else mask.writeUInt32BE(RTEXT_FILTER_SKIP_STATS);
  return encodeAttrs([{ type: IFLA_EXT_MASK, data: mask }]);
}


/** One RTM_NEWLINK message's payload (struct ifinfomsg + attributes), read for
 *  the few fields LinkInfo has and nothing else, in one pass without copies: a
 *  link dump of a host with a thousand containers is two thousand of them,
 *  read at every start. */
export function decodeLink(p: Buffer): LinkInfo {
  const u16 = (off: number): number => (LE ? p.readUInt16LE(off) : p.readUInt16BE(off));
  const u32 = (off: number): number => (LE ? p.readUInt32LE(off) : p.readUInt32BE(off));
  const text = (off: number, len: number): string => {
    const end = p.indexOf(0, off);
    return p.toString('utf8', off, end < 0 || end > off + len ? off + len : end);
  };
  const info: LinkInfo = { index: LE ? p.readInt32LE(4) : p.readInt32BE(4), name: '', up: (u32(8) & IFF_UP) !== 0, mtu: 0, mac: '' };
  for (let off = IFINFOMSG_LEN; off + 4 <= p.length;) {
    const len = u16(off);
    if (len < 4 || off + len > p.length) throw new RangeError(`malformed netlink attribute at offset ${off}`);
    const at = off + 4;
    const n = len - 4;
    switch (u16(off + 2) & NLA_TYPE_MASK) {
      case IFLA_IFNAME: info.name = text(at, n); break;
      case IFLA_MTU: if (n >= 4) info.mtu = u32(at); break;
      case IFLA_ADDRESS: info.mac = bufferToMac(p.subarray(at, at + n)); break;
      case IFLA_MASTER: if (n >= 4 && u32(at)) info.master = u32(at); break;
      case IFLA_IFALIAS: { const a = text(at, n); if (a) info.alias = a; break; }
      case IFLA_LINK_NETNSID: info.peerElsewhere = true; break;
      case IFLA_LINKINFO: { const k = decodeLinkKind(p.subarray(at, at + n)); if (k) info.kind = k; break; }
      default: break;
    }
    off += align4(len);
  }
  return info;
}

/** Hairpin mode of a bridge port from a link dump's IFLA_LINKINFO (slave data). */
export function decodeHairpin(linkinfo: Buffer | undefined): boolean | undefined {
  if (!linkinfo) return undefined;
  const info = parseAttrs(linkinfo);
  const slave = info.get(IFLA_INFO_SLAVE_DATA);
  const mode = slave ? parseAttrs(slave).get(IFLA_BRPORT_MODE) : undefined;
  return mode ? mode[0] === 1 : undefined;
}

// Address payloads (IFA_ADDRESS, RTA_GATEWAY …) are raw network-order bytes.

function fail(what: string): never {
  throw Object.assign(new Error(`invalid ${what}`), { code: 'EINVAL' });
}

function v4Bytes(s: string): number[] | undefined {
  const p = s.split('.');
  if (p.length !== 4 || !p.every((x) => /^\d{1,3}$/.test(x) && Number(x) <= 255)) return undefined;
  return p.map(Number);
}

/** Bytes of an IPv4 or IPv6 address (v6 may use :: and a dotted v4 tail). */
export function ipToBuffer(addr: string): Buffer {
  const v4 = v4Bytes(addr);
  if (v4) return Buffer.from(v4);
  const halves = addr.split('::');
  if (halves.length > 2 || !addr.includes(':')) fail(`IP address ${JSON.stringify(addr)}`);
  const words = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      const tail = g.includes('.') ? v4Bytes(g) : undefined;
      if (tail) out.push((tail[0]! << 8) | tail[1]!, (tail[2]! << 8) | tail[3]!);
      else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(parseInt(g, 16));
      else fail(`IP address ${JSON.stringify(addr)}`);
    }
    return out;
  };
  const head = words(halves[0]!);
  const tail = halves.length === 2 ? words(halves[1]!) : [];
  const gap = 8 - head.length - tail.length;
  if ((halves.length === 2 && gap < 1) || (halves.length === 1 && gap !== 0)) fail(`IP address ${JSON.stringify(addr)}`);
  const all = [...head, ...new Array<number>(Math.max(gap, 0)).fill(0), ...tail];
  const b = Buffer.alloc(16);
  all.forEach((w, i) => b.writeUInt16BE(w, i * 2));
  return b;
}

/** Text form of 4 or 16 address bytes; IPv6 in RFC 5952 form, as `ip` prints it. */
export function bufferToIp(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  if (b.length !== 16) fail(`address of ${b.length} bytes`);
  const w = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2));
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j === i ? i + 1 : j;
  }
  const hex = (ws: number[]): string => ws.map((x) => x.toString(16)).join(':');
  return best < 0 ? hex(w) : `${hex(w.slice(0, best))}::${hex(w.slice(best + bestLen))}`;
}

export interface Cidr { family: 4 | 6; addr: Buffer; prefix: number }

/** 10.0.0.2/24 or fd00::2/64; a bare address gets the full prefix. */
export function parseCidr(cidr: string): Cidr {
  const [ip, len, extra] = cidr.split('/');
  if (extra !== undefined || !ip) fail(`CIDR ${JSON.stringify(cidr)}`);
  const addr = ipToBuffer(ip);
  const family = addr.length === 4 ? 4 : 6;
  const max = family === 4 ? 32 : 128;
  const prefix = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  if (!(prefix >= 0 && prefix <= max)) fail(`prefix length in ${JSON.stringify(cidr)}`);
  return { family, addr, prefix };
}
