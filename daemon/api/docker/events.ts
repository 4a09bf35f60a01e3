// GET /events in Docker's format, over the controller's event log: network
// create/destroy and container connect/disconnect (a seed join or leave is
// the same change seen through the other API), with dockerd's since, until
// and filters. since in the past replays what the log keeps (from its oldest
// event if since is older: dockerd keeps a bounded buffer too), until in the
// past answers at once. Each event is one JSON object and a newline, as
// dockerd's encoder writes them; a client that reads slower than events come
// is cut off once HIGH_WATER bytes wait for it.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Controller, Logger } from '../../controller/controller.js';
import type { LnetdEvent, Subscription } from '../../controller/events.js';
import { DockerError } from './errors.js';
import * as f from './filters.js';
import { parseTime } from './timestamp.js';

export const HIGH_WATER = 1 << 20;

/** Filter keys dockerd's /events takes; the ones about other kinds of objects match no network event. */
const EVENT_FILTERS = ['config', 'container', 'daemon', 'event', 'image', 'label', 'network', 'node', 'plugin', 'scope', 'secret', 'service', 'type', 'volume'] as const;

export interface DockerEvent {
  Type: 'network';
  Action: 'create' | 'destroy' | 'connect' | 'disconnect';
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
}

/** An lnetd event as dockerd would have announced it, or undefined (endpoint events have no Docker twin). */
export function toDocker(e: LnetdEvent): DockerEvent | undefined {
  const ms = Date.parse(e.time);
  const at = { scope: 'local' as const, time: Math.floor(ms / 1000), timeNano: ms * 1e6 };
  const attrs: Record<string, string> = { name: e.network.name, type: e.network.driver };
  if (e.type === 'network') return { Type: 'network', Action: e.action === 'create' ? 'create' : 'destroy', Actor: { ID: e.network.id, Attributes: attrs }, ...at };
  if (e.type === 'container') {
    return { Type: 'network', Action: e.action === 'join' ? 'connect' : 'disconnect', Actor: { ID: e.network.id, Attributes: { container: e.container.id, ...attrs } }, ...at };
  }
  return undefined;
}

interface Query { fromSeq?: number; untilNs?: bigint; match: (d: DockerEvent) => boolean }

function one(q: URLSearchParams, k: string): string | undefined {
  const all = q.getAll(k);
  if (all.length > 1) throw new DockerError(400, `${k} must be given once`);
  return all[0] === '' ? undefined : all[0];
}

export function parseEventsQuery(q: URLSearchParams, c: Controller, now = Date.now()): Query {
  const filters = f.parseFilters(one(q, 'filters'));
  f.accept(filters, EVENT_FILTERS);
  const sinceRaw = one(q, 'since');
  const untilRaw = one(q, 'until');
  const sinceNs = sinceRaw === undefined ? undefined : parseTime(sinceRaw, 'since', now);
  const untilNs = untilRaw === undefined ? undefined : parseTime(untilRaw, 'until', now);
  let fromSeq: number | undefined;
  if (sinceNs !== undefined) {
    const ms = Number(sinceNs / 1_000_000n);
    try { fromSeq = c.events.seqAtTime(ms); } catch { fromSeq = c.events.firstSeq; }
  }
  const others = ['config', 'daemon', 'image', 'node', 'plugin', 'secret', 'service', 'volume'].some((k) => filters.get(k)?.size);
  const match = (d: DockerEvent): boolean => {
    if (others) return false;
    if (!f.exact(filters, 'type', d.Type)) return false;
    if (!f.exact(filters, 'event', d.Action)) return false;
    if (!f.exact(filters, 'scope', d.scope)) return false;
    const net = filters.get('network');
    if (net?.size && !net.has(d.Actor.ID) && !net.has(d.Actor.Attributes.name) && ![...net].some((x) => x.length >= 1 && d.Actor.ID.startsWith(x))) return false;
    const ctr = filters.get('container');
    if (ctr?.size && !ctr.has(d.Actor.Attributes.container ?? '')) return false;
    if (!f.labels(filters, 'label', d.Actor.Attributes)) return false;
    return true;
  };
  return { fromSeq, untilNs, match };
}

/** The open Docker event streams of one listener set, so a stop can end them at once. */
export class DockerEvents {
  private readonly open = new Set<() => void>();

  constructor(private readonly c: Controller, private readonly log: Logger, private readonly highWater = HIGH_WATER) {}

  serve(req: IncomingMessage, res: ServerResponse, q: URLSearchParams, headers: Record<string, string>): void {
    const sel = parseEventsQuery(q, this.c);
    res.writeHead(200, { ...headers, 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.flushHeaders();
    let sub: Subscription | undefined;
    let timer: NodeJS.Timeout | undefined;
    let over = false;
    let sent = 0;
    const finish = (kill = false) => {
      if (over) return;
      over = true;
      sub?.close();
      if (timer) clearTimeout(timer);
      this.open.delete(finish);
      if (kill) res.destroy(); else res.end();
    };
    res.once('close', () => finish());
    this.open.add(finish);
    const untilMs = sel.untilNs === undefined ? undefined : Number(sel.untilNs / 1_000_000n);
    sub = this.c.events.subscribe(sel.fromSeq, (e) => {
      if (over) return;
      if (untilMs !== undefined && Date.parse(e.time) > untilMs) return finish();
      const d = toDocker(e);
      if (!d || !sel.match(d)) return;
      res.write(`${JSON.stringify(d)}\n`);
      sent++;
      if (res.writableLength > this.highWater) {
        this.log.warn({ api: 'docker', path: '/events', events: sent, backlog_bytes: res.writableLength }, 'docker event stream: client too slow, cut off');
        finish(true);
      }
    });
    if (over) { sub.close(); return; }
    if (untilMs !== undefined) {
      const wait = untilMs - Date.now();
      if (wait <= 0) finish();
      else timer = setTimeout(() => finish(), Math.min(wait, 2 ** 31 - 1));
    }
  }

  /** End every open stream now (graceful stop). */
  close(): void {
    for (const end of [...this.open]) end();
  }

  get streams(): number { return this.open.size; }
}
