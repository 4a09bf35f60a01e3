// GET /events: the event log as newline-delimited JSON over a long-lived
// response, or (Upgrade: websocket, the `ws` package) one JSON text message
// per event. Kept events from `since` come first, then live ones, filtered;
// the stream ends after `until`. A client that reads slower than events come
// is cut off with a log line once HIGH_WATER bytes wait for it, so a stuck
// client never costs more memory than that. Raw node http, not Koa: the
// seed's read cache and body parser never see a stream.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { lazy } from '../lazy.js';

/** ws, loaded with the first websocket upgrade (most clients never make one). */
const wsModule = lazy<typeof import('ws')>('ws');
import { LnetdError } from '../../../errors/index.js';
import type { Controller, Logger } from '../../controller/controller.js';
import type { LnetdEvent, Subscription } from '../../controller/events.js';
import { pastUntil, selection, type Selection } from './query.js';
import { logRequest } from '../../log-request.js';

export const EVENTS_PATH = '/events';
/** Bytes allowed to wait for one client before it is cut off. */
export const HIGH_WATER = 1 << 20;

const STATUS: Record<string, number> = { invalid: 400, gone: 410, not_found: 404 };

/** One JSON text per event, made once however many clients get it. */
const lines = new WeakMap<LnetdEvent, string>();
export function eventJson(e: LnetdEvent): string {
  let s = lines.get(e);
  if (s === undefined) { s = JSON.stringify(e); lines.set(e, s); }
  return s;
}

interface Sink {
  send(text: string): void;
  /** Bytes queued and not yet taken by the client. */
  backlog(): number;
  end(): void;
  kill(): void;
}

export class EventsSurface {
  private readonly open = new Set<Sink>();
  private server?: WebSocketServer;
  private get wss(): WebSocketServer {
    this.server ??= new (wsModule().WebSocketServer)({ noServer: true, maxPayload: 4096 });
    return this.server;
  }

  constructor(private readonly c: Controller, private readonly log: Logger, private readonly highWater = HIGH_WATER) {}

  /** True when the request is ours (and answered). */
  request(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://lnetd');
    if (url.pathname !== EVENTS_PATH) return false;
    if (req.method !== 'GET') {
      this.fail(req, res, 405, 'METHOD_NOT_ALLOWED', `method ${req.method} is not allowed on ${EVENTS_PATH}`);
      return true;
    }
    const sel = this.select(url, (status, code, message) => this.fail(req, res, status, code, message));
    if (!sel) return true;
    logRequest(this.log, { api: 'events', method: req.method, url: req.url, status: 200, stream: true });
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', connection: 'close' });
    res.flushHeaders();
    const sink: Sink = {
      send: (t) => { res.write(t + '\n'); },
      backlog: () => res.writableLength,
      end: () => res.end(),
      kill: () => res.destroy(),
    };
    this.run(sink, sel, 'ndjson', (done) => res.once('close', done));
    return true;
  }

  /** WebSocket on the same path; true when the upgrade is ours. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://lnetd');
    if (url.pathname !== EVENTS_PATH) return false;
    const sel = this.select(url, (status, code, message) => {
      logRequest(this.log, { api: 'events', method: req.method, url: req.url, status, code, message, stream: true });
      const body = JSON.stringify({ message, code });
      socket.end(`HTTP/1.1 ${status} ${status === 410 ? 'Gone' : 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    });
    if (!sel) return true;
    logRequest(this.log, { api: 'events', method: req.method, url: req.url, status: 101, stream: true });
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const sink: Sink = {
        send: (t) => ws.send(t),
        backlog: () => ws.bufferedAmount,
        end: () => { ws.close(1000, 'until reached'); setTimeout(() => ws.terminate(), 200).unref(); },
        kill: () => ws.terminate(),
      };
      this.run(sink, sel, 'websocket', (done) => ws.once('close', done));
    });
    return true;
  }

  /** End every open stream now (graceful stop): clients see a clean end. */
  close(): void {
    for (const s of this.open) s.end();
    this.open.clear();
    for (const ws of this.server?.clients ?? []) ws.terminate();
  }

  get streams(): number { return this.open.size; }

  private fail(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string): void {
    logRequest(this.log, { api: 'events', method: req.method, url: req.url, status, code, message });
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify({ message, code }));
  }

  private select(url: URL, fail: (status: number, code: string, message: string) => void): Selection | undefined {
    try {
      return selection(url.searchParams, this.c.events);
    } catch (err) {
      if (!(err instanceof LnetdError)) throw err;
      fail(STATUS[err.kind] ?? 400, err.code, err.message);
      return undefined;
    }
  }

  private run(sink: Sink, sel: Selection, via: string, onClose: (done: () => void) => void): void {
    const started = Date.now();
    let sent = 0;
    let sub: Subscription | undefined;
    let timer: NodeJS.Timeout | undefined;
    let over = false;
    const finish = (how: 'end' | 'kill') => {
      if (over) return;
      over = true;
      sub?.close();
      if (timer) clearTimeout(timer);
      this.open.delete(sink);
      if (how === 'end') sink.end(); else sink.kill();
    };
    onClose(() => {
      finish('end');
      this.log.info({ path: EVENTS_PATH, via, events: sent, ms: Date.now() - started }, 'event stream closed');
    });
    this.open.add(sink);
    sub = this.c.events.subscribe(sel.fromSeq, (e) => {
      if (over) return;
      if (pastUntil(e, sel.until)) return finish('end');
      if (!sel.match(e)) return;
      sink.send(eventJson(e));
      sent++;
      if (sink.backlog() > this.highWater) {
        this.log.warn({ path: EVENTS_PATH, via, events: sent, backlog_bytes: sink.backlog() }, 'event stream: client too slow, cut off');
        finish('kill');
      }
    });
    if (over) { sub.close(); return; }
    const u = sel.until;
    if (u && 'ms' in u) {
      const wait = u.ms - Date.now();
      if (wait <= 0) finish('end');
      else timer = setTimeout(() => finish('end'), Math.min(wait, 2 ** 31 - 1));
    } else if (u && 'seq' in u && u.seq <= this.c.events.lastSeq) {
      finish('end');
    }
  }
}
