// What to do with one query: answer it from the table, forward it, or refuse.
// Pure: packets in and out are dns-packet objects, so every rule here is
// unit-tested without sockets.

import dnsPacket, { type Answer, type DecodedPacket, type Packet, type Question } from 'dns-packet';
import { addrText, contains, parseAddr } from '../../drivers/ipam/addr.js';
import { normName, type Asker, type DnsTable } from './table.js';

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
/** Largest UDP answer we send with EDNS (the DNS flag day figure: no IP fragmentation). */
export const EDNS_MAX = 1232;
/** Answers with no EDNS in the query stay within the classic limit. */
export const UDP_CLASSIC = 512;

export type Decision =
  | { kind: 'answer'; packet: Packet }
  | { kind: 'forward' }
  | { kind: 'drop' };

type Header = DecodedPacket & { opcode?: string; rcode?: string };

/** The address a reverse name stands for (a.b.c.d.in-addr.arpa, 32 nibbles.ip6.arpa), canonical. */
export function reverseAddr(name: string): string | undefined {
  const labels = name.split('.');
  if (name.endsWith('.in-addr.arpa') && labels.length === 6) {
    const a = labels.slice(0, 4).reverse().join('.');
    const p = parseAddr(a);
    return p?.family === 4 && /^\d+(\.\d+){3}$/.test(a) ? addrText(4, p.value) : undefined;
  }
  if (name.endsWith('.ip6.arpa') && labels.length === 34) {
    const nib = labels.slice(0, 32).reverse();
    if (!nib.every((n) => /^[0-9a-f]$/.test(n))) return undefined;
    return addrText(6, BigInt(`0x${nib.join('')}`));
  }
  return undefined;
}

/** Fisher-Yates: every backend is first equally often (round robin for clients that take the first). */
export function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Names lnetd is the authority for: one label, or under a domain its containers use. */
export function inOurDomain(asker: Asker, name: string): boolean {
  if (!name.includes('.')) return true;
  for (const d of asker.domains) if (name === d || name.endsWith(`.${d}`)) return true;
  return false;
}

function ednsOf(q: Packet): Answer | undefined {
  return q.additionals?.find((a) => a.type === 'OPT');
}

/** The size an answer over UDP may have for this query. */
export function udpLimit(q: Packet): number {
  const opt = ednsOf(q) as { udpPayloadSize?: number } | undefined;
  if (!opt) return UDP_CLASSIC;
  return Math.max(UDP_CLASSIC, Math.min(opt.udpPayloadSize ?? UDP_CLASSIC, EDNS_MAX));
}

export function reply(q: Packet, rcode: number, answers: Answer[] = [], authoritative = false): Packet {
  const rd = (q.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
  const flags = rd | dnsPacket.RECURSION_AVAILABLE | (authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | rcode;
  const p: Packet = { type: 'response', id: q.id, flags, questions: q.questions ?? [], answers };
  if (ednsOf(q)) p.additionals = [{ type: 'OPT', name: '.', udpPayloadSize: EDNS_MAX, flags: 0 } as Answer];
  return p;
}

function addressAnswers(qn: Question, found: { v4: string[]; v6: string[] }): Answer[] {
  const out: Answer[] = [];
  const a = qn.type === 'A' || (qn.type as string) === 'ANY';
  const aaaa = qn.type === 'AAAA' || (qn.type as string) === 'ANY';
  // TTL 0: a join or leave is visible at once, also through caches inside containers
  if (a) for (const ip of shuffle([...found.v4])) out.push({ type: 'A', name: qn.name, ttl: 0, data: ip });
  if (aaaa) for (const ip of shuffle([...found.v6])) out.push({ type: 'AAAA', name: qn.name, ttl: 0, data: ip });
  return out;
}

function inLnetdSubnet(table: DnsTable, addr: string): boolean {
  for (const n of table.networks.values()) for (const s of n.subnets) if (contains(s, `${addr}/${addr.includes(':') ? 128 : 32}`)) return true;
  return false;
}

/** Decide for a decoded query from a known asker. */
export function decide(table: DnsTable, asker: Asker, q: Packet): Decision {
  const h = q as Header;
  if (h.type === 'response') return { kind: 'drop' }; // never answer an answer: no loops, no reflection
  if (h.opcode !== undefined && h.opcode !== 'QUERY') return { kind: 'answer', packet: reply(q, RCODE.NOTIMP) };
  const qs = q.questions ?? [];
  if (qs.length !== 1 || (q.answers?.length ?? 0) > 0) return { kind: 'answer', packet: reply(q, RCODE.FORMERR) };
  const qn = qs[0]!;
  const name = normName(qn.name);
  if (qn.class !== undefined && qn.class !== 'IN') return asker.forward ? { kind: 'forward' } : { kind: 'answer', packet: reply(q, RCODE.REFUSED) };
  if (qn.type === 'PTR') {
    const addr = reverseAddr(name);
    if (addr !== undefined) {
      const target = table.ptr(asker, addr);
      if (target) return { kind: 'answer', packet: reply(q, RCODE.NOERROR, [{ type: 'PTR', name: qn.name, ttl: 0, data: target }], true) };
      if (inLnetdSubnet(table, addr)) return { kind: 'answer', packet: reply(q, RCODE.NXDOMAIN, [], true) };
    }
  } else {
    const found = table.lookup(asker, name);
    // a name we know without records of the asked type is NODATA (NOERROR, no answers), not NXDOMAIN
    if (found) return { kind: 'answer', packet: reply(q, RCODE.NOERROR, addressAnswers(qn, found), true) };
  }
  if (inOurDomain(asker, name)) return { kind: 'answer', packet: reply(q, RCODE.NXDOMAIN, [], true) };
  if (!asker.forward) return { kind: 'answer', packet: reply(q, RCODE.REFUSED) };
  return { kind: 'forward' };
}

/** Encode within a size limit: answers that don't fit are left out and TC is set, so the client asks over TCP. */
export function encodeWithin(p: Packet, limit: number): Buffer {
  let buf = dnsPacket.encode(p);
  if (buf.length <= limit) return buf;
  const answers = [...(p.answers ?? [])];
  const trimmed: Packet = { ...p, flags: (p.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers };
  while (answers.length > 0) {
    answers.pop();
    buf = dnsPacket.encode(trimmed);
    if (buf.length <= limit) return buf;
  }
  return dnsPacket.encode({ ...trimmed, additionals: [] });
}

/** A minimal error answer from only the header and question of a packet that may not decode. */
export function errorFor(raw: Buffer, rcode: number): Buffer | undefined {
  if (raw.length < 12) return undefined;
  if (raw[2]! & 0x80) return undefined; // a response: never answer it
  const out = Buffer.alloc(12);
  raw.copy(out, 0, 0, 2);
  out[2] = 0x80 | (raw[2]! & 0x01);   // QR, keep RD
  out[3] = 0x80 | rcode;              // RA, rcode
  return out;
}
