// The embedded resolver: the record table, one listener per network with DNS
// on, the host's upstreams and the forwarder. Queries are answered only for
// addresses of joined endpoints (a stranger gets nothing back: no open
// resolver, no reflection); each source has a token bucket so one flooding
// container can't starve the others.

import dnsPacket, { type Packet } from 'dns-packet';
import { decide, encodeWithin, errorFor, RCODE, udpLimit } from './answer.js';
import { Forwarder, FORWARD_DEFAULTS, type ForwardOptions } from './forward.js';
import { Listener } from './listen.js';
import type { DnsFirewall } from './nft.js';
import { DnsTable, type Asker } from './table.js';
import { Upstreams } from './upstream.js';

export interface ResolverOptions {
  /** Port the listeners bind on each gateway address (53 is redirected to it). */
  port: number;
  /** The host's resolv.conf: where forwarded queries go. */
  resolvConf: string;
  /** Queries per second one source may send (bucket size = one second's worth). */
  ratePerSource: number;
  forward?: ForwardOptions;
}

export interface ResolverLog {
  warn(o: object, msg?: string): void;
  error(o: object, msg?: string): void;
}

export interface ResolverStats {
  queries: number;
  answered: number;
  forwarded: number;
  servfail: number;
  strangers: number;
  ratelimited: number;
  malformed: number;
  listeners: number;
  listen_errors: number;
  records: number;
}

const TCP_MAX_MSG = 65535;

interface Bucket { tokens: number; at: number }
interface Cached { version: number; buf: Buffer }

/** Encoded answers kept per asker and exact query (less its id) while the table is unchanged. */
const CACHE_MAX = 16_384;

export class Resolver {
  readonly table = new DnsTable();
  readonly upstreams: Upstreams;
  readonly forwarder: Forwarder;
  private readonly listeners = new Map<string, Listener>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly cache = new Map<string, Cached>();
  private readonly counts = { queries: 0, answered: 0, strangers: 0, ratelimited: 0, malformed: 0, listen_errors: 0 };
  private syncing: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly stopHooks: Array<() => void> = [];

  constructor(readonly opts: ResolverOptions, private readonly fw: DnsFirewall, private readonly log: ResolverLog) {
    this.upstreams = new Upstreams(opts.resolvConf, (err) => log.warn({ err, path: opts.resolvConf }, 'dns: could not read the upstream resolv.conf'));
    this.forwarder = new Forwarder(opts.forward ?? FORWARD_DEFAULTS);
  }

  async start(): Promise<void> {
    await this.upstreams.start();
    await this.syncListeners();
  }

  /** Bind listeners for networks with DNS on and a gateway; close the rest. Serialised. */
  syncListeners(): Promise<void> {
    this.syncing = this.syncing.then(() => this.doSync());
    return this.syncing;
  }

  private async doSync(): Promise<void> {
    if (this.stopped) return;
    const want = new Map<string, string>();
    for (const n of this.table.networks.values()) if (n.enabled && n.gateway4) want.set(n.id, n.gateway4);
    // the redirect first: from the moment a listener is bound, port 53 leads to it
    await this.fw.apply([...want.values()], this.opts.port, this.opts.ratePerSource).catch((err) => {
      this.counts.listen_errors++;
      this.log.error({ err }, 'dns: could not install the port 53 redirect (nft)');
    });
    for (const [id, l] of this.listeners) {
      if (want.get(id) === l.address) continue;
      this.listeners.delete(id);
      await l.close();
    }
    for (const [id, addr] of want) {
      if (this.listeners.has(id)) continue;
      const l = new Listener(addr, this.opts.port, (m, s, tcp) => this.handle(m, s, tcp), (err) => this.log.warn({ err }, 'dns: listener error'));
      try {
        await l.start();
        this.listeners.set(id, l);
      } catch (err) {
        this.counts.listen_errors++;
        this.log.error({ err, address: addr, port: this.opts.port, network: id }, 'dns: could not listen on the gateway address: names on this network do not resolve');
      }
    }
  }

  /** Addresses lnetd itself answers on: never an upstream (no loops). */
  private ownAddresses(): Set<string> {
    return new Set([...this.listeners.values()].map((l) => l.address));
  }

  upstreamsFor(asker: Asker): string[] {
    const own = this.ownAddresses();
    const list = asker.upstreams.length ? asker.upstreams : this.upstreams.current.nameservers;
    return list.filter((a) => !own.has(a));
  }

  private allow(source: string): boolean {
    const rate = this.opts.ratePerSource;
    const now = performance.now();
    let b = this.buckets.get(source);
    if (!b) {
      if (this.buckets.size > 65_536) this.buckets.clear();
      this.buckets.set(source, (b = { tokens: rate, at: now }));
    }
    b.tokens = Math.min(rate, b.tokens + ((now - b.at) * rate) / 1000);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** One query in, its answer out (or nothing: strangers, answers, floods). */
  handle(msg: Buffer, source: string, tcp: boolean): Buffer | undefined | Promise<Buffer | undefined> {
    this.counts.queries++;
    const src = source.startsWith('::ffff:') ? source.slice(7) : source;
    const asker = this.table.asker(src);
    if (!asker) { this.counts.strangers++; return undefined; }
    if (!this.allow(src)) { this.counts.ratelimited++; return undefined; }
    if (msg.length > TCP_MAX_MSG || msg.length < 12) return undefined;
    // the same question from the same container, unchanged table: the same answer bytes with this query's id
    const key = msg.length <= 512 ? `${tcp ? 't' : 'u'}${asker.containerId}\0${msg.toString('latin1', 2)}` : undefined;
    const hit = key === undefined ? undefined : this.cache.get(key);
    if (hit && hit.version === this.table.version) {
      this.counts.answered++;
      const out = Buffer.from(hit.buf);
      msg.copy(out, 0, 0, 2);
      return out;
    }
    let q: Packet;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      this.counts.malformed++;
      return errorFor(msg, RCODE.FORMERR);
    }
    const d = decide(this.table, asker, q);
    if (d.kind === 'drop') return undefined;
    if (d.kind === 'answer') {
      this.counts.answered++;
      const out = encodeWithin(d.packet, tcp ? TCP_MAX_MSG : udpLimit(q));
      // several addresses are shuffled per answer: those are never cached
      if (key !== undefined && (d.packet.answers?.length ?? 0) <= 1) {
        if (this.cache.size >= CACHE_MAX) this.cache.clear();
        this.cache.set(key, { version: this.table.version, buf: out });
      }
      return out;
    }
    const ups = this.upstreamsFor(asker);
    if (ups.length === 0) return errorFor(msg, RCODE.SERVFAIL);
    return this.forwarder.forward(msg, ups, tcp, src);
  }

  /** Write the nft table again (SIGHUP, POST /_reapply: someone may have flushed the ruleset). */
  reapply(): Promise<void> {
    this.fw.reset();
    return this.syncListeners();
  }

  stats(): ResolverStats {
    const f = this.forwarder.stats;
    return { ...this.counts, forwarded: f.forwarded, servfail: f.servfail, listeners: this.listeners.size, records: this.table.size };
  }

  listening(networkId: string): boolean {
    return this.listeners.has(networkId);
  }

  onStop(fn: () => void): void {
    this.stopHooks.push(fn);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const fn of this.stopHooks) fn();
    this.upstreams.stop();
    await this.syncing.catch(() => undefined);
    await Promise.all([...this.listeners.values()].map((l) => l.close()));
    this.listeners.clear();
  }
}
