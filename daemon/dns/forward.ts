// Forwarding to upstream resolvers: the client's query as it came (only the
// id changed), over UDP from a fresh socket with a random port and id (so an
// off-path spoofer has to guess both), over TCP when the client used TCP or
// the UDP answer came back truncated. Each upstream gets a bounded time; when
// none answers the client gets SERVFAIL well before its own timeout, never
// silence. In-flight forwards are capped per asker and in total, so no
// container can turn lnetd into a flood against an upstream.

import dgram from 'node:dgram';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { errorFor, RCODE } from './answer.js';

export interface ForwardOptions {
  /** Time one upstream gets for one try. */
  tryMs: number;
  /** Time all tries together get (glibc's default timeout is 5 s). */
  budgetMs: number;
  maxInflight: number;
  maxPerAsker: number;
  /** Port of every upstream (53; tests run one on a high port). */
  port?: number;
}

export const FORWARD_DEFAULTS: ForwardOptions = { tryMs: 1500, budgetMs: 4000, maxInflight: 1024, maxPerAsker: 64 };
const MAX_TCP = 65535;

export interface ForwardStats { forwarded: number; upstreamFailures: number; servfail: number; refusedBusy: number }

/** Question section of a DNS message (from byte 12 to the end of the first question), or undefined. */
export function questionBytes(buf: Buffer): Buffer | undefined {
  if (buf.length < 12 || buf.readUInt16BE(4) !== 1) return undefined;
  let o = 12;
  while (o < buf.length) {
    const len = buf[o]!;
    if (len === 0) { o += 1; break; }
    if (len & 0xc0) return undefined; // a query's question is never compressed
    o += len + 1;
  }
  o += 4;
  return o <= buf.length ? buf.subarray(12, o) : undefined;
}

function withId(buf: Buffer, id: number): Buffer {
  const out = Buffer.from(buf);
  out.writeUInt16BE(id, 0);
  return out;
}

/** Same question, case-insensitively (a resolver may randomise the case, 0x20). */
function sameQuestion(a: Buffer | undefined, b: Buffer | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    if (x !== y && (x | 0x20) !== (y | 0x20)) return false;
  }
  return true;
}

export class Forwarder {
  readonly stats: ForwardStats = { forwarded: 0, upstreamFailures: 0, servfail: 0, refusedBusy: 0 };
  private inflight = 0;
  private readonly perAsker = new Map<string, number>();

  constructor(private readonly opts: ForwardOptions = FORWARD_DEFAULTS) {}

  private get port(): number {
    return this.opts.port ?? 53;
  }

  /** The upstream's answer with the client's id, or SERVFAIL (REFUSED when this asker has too many in flight). */
  async forward(query: Buffer, upstreams: string[], tcp: boolean, asker: string): Promise<Buffer> {
    const clientId = query.readUInt16BE(0);
    const mine = this.perAsker.get(asker) ?? 0;
    if (this.inflight >= this.opts.maxInflight || mine >= this.opts.maxPerAsker) {
      this.stats.refusedBusy++;
      return errorFor(query, RCODE.REFUSED)!;
    }
    this.inflight++;
    this.perAsker.set(asker, mine + 1);
    try {
      const deadline = Date.now() + this.opts.budgetMs;
      for (const up of upstreams) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        const ms = Math.min(this.opts.tryMs, left);
        try {
          let ans = tcp ? await this.tcp(query, up, ms) : await this.udp(query, up, ms);
          if (!tcp && ans[2]! & 0x02) ans = await this.tcp(query, up, Math.max(ms, 500)).catch(() => ans);
          this.stats.forwarded++;
          return withId(ans, clientId);
        } catch {
          this.stats.upstreamFailures++;
        }
      }
      this.stats.servfail++;
      return errorFor(query, RCODE.SERVFAIL)!;
    } finally {
      this.inflight--;
      const n = (this.perAsker.get(asker) ?? 1) - 1;
      if (n <= 0) this.perAsker.delete(asker);
      else this.perAsker.set(asker, n);
    }
  }

  private udp(query: Buffer, upstream: string, ms: number): Promise<Buffer> {
    const id = randomInt(0, 65536);
    const q = withId(query, id);
    const qq = questionBytes(q);
    return new Promise((resolve, reject) => {
      const sock = dgram.createSocket(isIPv6(upstream) ? 'udp6' : 'udp4');
      const done = (err?: Error, buf?: Buffer) => {
        clearTimeout(timer);
        sock.close();
        if (err) reject(err);
        else resolve(buf!);
      };
      const timer = setTimeout(() => done(new Error(`upstream ${upstream} did not answer in ${ms} ms`)), ms);
      sock.on('error', (e) => done(e));
      sock.on('message', (msg, rinfo) => {
        // only the upstream we asked, with our id and our question (anything else is ignored, not fatal)
        if (rinfo.address !== upstream || rinfo.port !== this.port || msg.length < 12 || msg.readUInt16BE(0) !== id || !(msg[2]! & 0x80)) return;
        if (!sameQuestion(questionBytes(msg), qq)) return;
        done(undefined, msg);
      });
      sock.send(q, this.port, upstream, (err) => { if (err) done(err); });
    });
  }

  private tcp(query: Buffer, upstream: string, ms: number): Promise<Buffer> {
    const id = randomInt(0, 65536);
    const q = withId(query, id);
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: upstream, port: this.port });
      let buf = Buffer.alloc(0);
      const done = (err?: Error, ans?: Buffer) => {
        clearTimeout(timer);
        sock.destroy();
        if (err) reject(err);
        else resolve(ans!);
      };
      const timer = setTimeout(() => done(new Error(`upstream ${upstream} (tcp) did not answer in ${ms} ms`)), ms);
      sock.on('error', (e) => done(e));
      sock.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(q.length);
        sock.write(Buffer.concat([len, q]));
      });
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length > MAX_TCP + 2) return done(new Error('upstream answer too long'));
        if (buf.length < 2) return;
        const n = buf.readUInt16BE(0);
        if (buf.length < n + 2) return;
        const msg = buf.subarray(2, n + 2);
        if (msg.length < 12 || msg.readUInt16BE(0) !== id) return done(new Error('upstream answered another id'));
        done(undefined, Buffer.from(msg));
      });
      sock.on('end', () => done(new Error('upstream closed the connection')));
    });
  }
}
