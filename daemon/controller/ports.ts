// Host ports of port mappings: allocation (the index in state.ports) and the
// reservations lnetd holds for them. A published port is reserved by a bound
// socket per published family (drivers/linux/port-reserve.ts) from the
// moment its endpoint is created until the endpoint is deleted; the sockets
// follow the records (commit → follow), and a start takes them again for the
// records there are (sync). A create whose port another process holds, or
// another endpoint publishes on an overlapping address, is refused and changes
// nothing.

import { BadRequest, Conflict, Unavailable, wrap } from '../../errors/index.js';
import { canonHostIp, type PortHolder } from '../../drivers/ipam/ports.js';
import { publishedFamilies } from '../../drivers/bridge/ports.js';
import type { PortReserver, PortSocket } from '../../drivers/linux/port-reserve.js';
import type { EndpointRecord, NetworkRecord, PortBinding } from '../../store/records.js';
import type { BatchOp } from '../../store/store.js';
import type { PortBindingInput } from './types.js';
import type { State } from './state.js';

/** Host port 0 means "pick one" from the range Docker uses for that. */
export const EPHEMERAL_PORTS = { first: 49153, last: 65535 };
/** The most bindings one request may stand for (a `range` counts each port). */
export const MAX_PORT_BINDINGS = 4096;

const PROTO_NAME: Record<number, string> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };
const BUSY = '#busy';  // an index entry for a port another process holds, for the length of one allocation

interface Log { warn(o: object, msg?: string): void; info(o: object, msg?: string): void }

const where = (hostIp: string, port: number, proto: number): string =>
  `${hostIp === '' ? '*' : hostIp.includes(':') ? `[${hostIp}]` : hostIp}:${port}/${PROTO_NAME[proto] ?? proto}`;

const sockText = (s: PortSocket): string => where(s.addr || (s.family === 4 ? '0.0.0.0' : '::'), s.port, s.proto);

export class HostPorts {
  /** Endpoint id → the handles of its sockets. */
  private readonly held = new Map<string, number[]>();
  private count = 0;
  /** Endpoint id → the ports a start could not take again (another process had them). */
  readonly unreserved = new Map<string, string[]>();
  /** Where the next dynamic port search starts, per proto (as Docker: a freed port is not reused at once). */
  private readonly cursor = new Map<number, number>();

  constructor(private readonly reserver: PortReserver, private readonly state: State, private readonly log: Log) {}

  get sockets(): number { return this.count; }
  get limit(): number { return this.reserver.limit; }

  /**
   * Concrete host ports for a new endpoint's requested bindings, each
   * reserved: held under epId until release(epId), or until the endpoint's
   * record goes. Throws (and holds nothing) on the first that can't be had:
   * 400 when the request overlaps itself or names an address the namespace
   * doesn't have, 409 PORT_IN_USE when another endpoint or process has it.
   * Synchronous: nothing else can allocate in between.
   * reserve false: the runtime holds the ports itself (podman binds them and
   * hands them to conmon, after its network setup): checked against lnetd's
   * own bindings only, no socket.
   */
  allocate(epId: string, net: Pick<NetworkRecord, 'internal' | 'enableIpv6'>, addrs: Pick<EndpointRecord, 'ipv4' | 'ipv6'>, reqs: PortBindingInput[], reserve = true): PortBinding[] {
    const index = this.state.ports;
    const added: Array<PortHolder & { field: string }> = [];
    const handles: number[] = [];
    const cursor = new Map(this.cursor);
    try {
      const out = reqs.map((r, i) => {
        const field = r.field ?? `port_mapping[${i}]`;
        const hostIp = canonHostIp(r.hostIp) ?? r.hostIp;
        const families = reserve ? publishedFamilies(net, addrs, hostIp) : [];
        const dynamic = r.hostPort === 0;
        const [lo, hi] = dynamic ? [EPHEMERAL_PORTS.first, EPHEMERAL_PORTS.last] : [r.hostPort, r.hostPortEnd || r.hostPort];
        let port: number;
        if (lo === hi) {
          const h = index.holder(r.proto, hostIp, lo);
          if (h) throw this.taken(h, field, hostIp, lo, r.proto, added);
          this.reserve(families, r.proto, hostIp, lo, field, handles, true);
          port = lo;
        } else {
          // dynamic ports go on from where the last search stopped, then wrap
          const from = dynamic ? Math.min(Math.max(cursor.get(r.proto) ?? lo, lo), hi) : lo;
          for (;;) {
            const p = index.firstFree(r.proto, hostIp, from, hi) ?? (from > lo ? index.firstFree(r.proto, hostIp, lo, from - 1) : undefined);
            if (p === undefined) {
              throw new Conflict(`${field}: every host port from ${lo} to ${hi} (${PROTO_NAME[r.proto]}${hostIp ? ` on ${hostIp}` : ''}) is taken`, 'PORT_IN_USE');
            }
            if (this.reserve(families, r.proto, hostIp, p, field, handles, false)) { port = p; break; }
            // another process holds it: skip it for the rest of this allocation
            index.add(r.proto, hostIp, p, BUSY);
            added.push({ proto: r.proto, hostIp, port: p, owner: BUSY, field });
          }
          if (dynamic) cursor.set(r.proto, port === hi ? lo : port + 1);
        }
        index.add(r.proto, hostIp, port, epId);
        added.push({ proto: r.proto, hostIp, port, owner: epId, field });
        return { proto: r.proto, port: r.port, hostIp, hostPort: port, hostPortEnd: r.hostPortEnd };
      });
      // set even when empty (nothing published): the commit's follow() must not take them a second time
      if (reqs.length) this.held.set(epId, [...(this.held.get(epId) ?? []), ...handles]);
      this.count += handles.length;
      for (const [k, v] of cursor) this.cursor.set(k, v);
      return out;
    } catch (err) {
      for (const h of handles) this.closeQuietly(h);
      throw err;
    } finally {
      // the index takes the endpoint's bindings when its record is committed
      for (const a of added) index.remove(a.proto, a.hostIp, a.port, a.owner);
    }
  }

  /** Why a fixed host port can't be had: the request's own other binding (400) or another endpoint's (409). */
  private taken(h: PortHolder, field: string, hostIp: string, port: number, proto: number, mine: Array<PortHolder & { field: string }>): Error {
    if (h.owner === BUSY) return new Conflict(`${field}.host_port ${port}: ${where(hostIp, port, proto)} is in use by another process in lnetd's network namespace`, 'PORT_IN_USE');
    const own = mine.find((m) => m.owner === h.owner && m.port === h.port && m.proto === h.proto && m.hostIp === h.hostIp);
    if (own) return new BadRequest(`${field}.host_port ${port}: ${where(hostIp, port, proto)} overlaps ${own.field} (${where(h.hostIp, h.port, h.proto)}) of the same request`, 'INVALID_PORT');
    const ep = this.state.endpoints.get(h.owner);
    const net = ep && this.state.networks.get(ep.networkId);
    const by = ep ? `endpoint ${ep.name} of network ${net?.name ?? ep.networkId}` : 'another endpoint';
    return new Conflict(`${field}.host_port ${port}: ${where(hostIp, port, proto)} overlaps ${where(h.hostIp, h.port, h.proto)}, already published by ${by}`, 'PORT_IN_USE');
  }

  /** Bind the sockets of one binding into handles. false when another process
   *  holds the port and the caller may try another (fixed: throw 409). */
  private reserve(families: Array<4 | 6>, proto: number, hostIp: string, port: number, field: string, handles: number[], fixed: boolean): boolean {
    const scope = hostIp === '' || hostIp === '0.0.0.0' || hostIp === '::' ? '' : hostIp;
    const mine: number[] = [];
    try {
      for (const family of families) {
        const s: PortSocket = { family, proto, addr: scope, port };
        if (this.count + handles.length + mine.length >= this.reserver.limit) throw this.tooMany();
        const h = this.bindOne(s, field, hostIp);
        if (h !== undefined) mine.push(h);
      }
    } catch (err) {
      for (const h of mine) this.closeQuietly(h);
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        if (!fixed) return false;
        throw new Conflict(`${field}.host_port ${port}: ${where(hostIp, port, proto)} is in use by another process in lnetd's network namespace`, 'PORT_IN_USE');
      }
      throw err;
    }
    handles.push(...mine);
    return true;
  }

  private bindOne(s: PortSocket, field: string, hostIp: string): number | undefined {
    try {
      return this.reserver.bind(s);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw err;
      if (code === 'EADDRNOTAVAIL') throw new BadRequest(`${field}.host_ip ${hostIp} is not an address of lnetd's network namespace`, 'INVALID_ADDRESS');
      if (code === 'EMFILE' || code === 'ENFILE') throw this.tooMany();
      throw wrap(`reserve host port ${sockText(s)}`, err);
    }
  }

  private tooMany(): Unavailable {
    return new Unavailable(`lnetd holds ${this.count} host-port reservations, as many as its open-file limit allows (${this.reserver.limit}): raise LimitNOFILE (README, "Published ports")`, 'TOO_MANY_OPEN_FILES');
  }

  private closeQuietly(h: number): void {
    try { this.reserver.close(h); } catch { /* already closed */ }
  }

  /** Drop an endpoint's sockets (its record went, or its create failed). */
  release(epId: string): void {
    const hs = this.held.get(epId);
    this.unreserved.delete(epId);
    if (!hs) return;
    this.held.delete(epId);
    this.count -= hs.length;
    for (const h of hs) this.closeQuietly(h);
  }

  /** After a commit: sockets go with deleted endpoints; an endpoint put by
   *  another path (recovery) gets its reservation taken, best effort. */
  follow(ops: BatchOp[]): void {
    for (const op of ops) {
      if (op.kind !== 'endpoints') continue;
      if (op.type === 'del') this.release(op.key);
      else if (!this.held.has(op.key)) this.retake(op.value as EndpointRecord);
    }
  }

  /** At start (and after the store is reopened): every record's ports held, nothing else. */
  sync(): void {
    for (const id of [...this.held.keys()]) if (!this.state.endpoints.has(id)) this.release(id);
    let missing = 0;
    for (const ep of this.state.endpoints.values()) if (!this.held.has(ep.id) && ep.portMapping.length) missing += this.retake(ep);
    if (this.count || missing) this.log.info({ sockets: this.count, not_reserved: missing, limit: this.reserver.limit }, 'host ports: reservations taken for the published ports of the records');
  }

  /** Take an existing endpoint's reservations; a port another process took
   *  meanwhile stays published (its DNAT rules are the records') and is
   *  logged and reported, not fatal. Returns how many could not be taken. */
  private retake(ep: EndpointRecord): number {
    const net = this.state.networks.get(ep.networkId);
    if (!net || !ep.portMapping.length || ep.reservePorts === false) { this.held.set(ep.id, []); return 0; }
    const handles: number[] = [];
    const lost: string[] = [];
    for (const b of ep.portMapping) {
      const hostIp = canonHostIp(b.hostIp) ?? b.hostIp;
      const scope = hostIp === '' || hostIp === '0.0.0.0' || hostIp === '::' ? '' : hostIp;
      for (const family of publishedFamilies(net, ep, hostIp)) {
        const s: PortSocket = { family, proto: b.proto, addr: scope, port: b.hostPort };
        try {
          if (this.count + handles.length >= this.reserver.limit) throw Object.assign(new Error('open-file limit'), { code: 'EMFILE' });
          const h = this.reserver.bind(s);
          if (h !== undefined) handles.push(h);
        } catch (err) {
          lost.push(sockText(s));
          this.log.warn({ endpoint: ep.name, network: net.name, port: sockText(s), error: (err as NodeJS.ErrnoException).code ?? String(err) },
            'host port: could not reserve a published port (another process holds it?); it stays published to the container');
        }
      }
    }
    this.held.set(ep.id, handles);
    this.count += handles.length;
    if (lost.length) this.unreserved.set(ep.id, lost);
    return lost.length;
  }

  /** For /_stats. */
  stats(): { sockets: number; limit: number; unreserved: Array<{ endpoint: string; ports: string[] }> } {
    return { sockets: this.count, limit: this.reserver.limit, unreserved: [...this.unreserved].map(([endpoint, ports]) => ({ endpoint, ports })) };
  }
}
