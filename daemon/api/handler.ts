// The API surfaces behind one listener. Each surface answers the requests it
// owns (true) or passes (false); the seed API comes last and answers the rest,
// unknown routes included. A new surface is one more entry here and a folder
// of its own under daemon/api/. Before any of them the seed answers its
// cached reads and its attach/detach routes (the hot paths; no stream's path).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Controller, Logger } from '../controller/controller.js';
import { EventsSurface } from './events/stream.js';
import { createSeed, type Handler, type SeedHandler } from './seed/app.js';
import type { Extra } from './seed/routes.js';
import { logRequest } from '../log-request.js';

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface Surface {
  request?(req: IncomingMessage, res: ServerResponse): boolean;
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Graceful stop: end long-lived responses at once. */
  close?(): void;
}

export interface Api {
  request: Handler;
  upgrade: UpgradeHandler;
  close(): void;
  events: EventsSurface;
  seed: SeedHandler;
}

type AppLogger = Logger & { isLevelEnabled?: (level: string) => boolean };

/** opts.fastLane: false sends the seed's attach/detach routes through Koa too (the fast lane's test). */
export function createApi(c: Controller, log: AppLogger, extra: Extra, opts: { fastLane?: boolean } = {}): Api {
  const events = new EventsSurface(c, log);
  const surfaces: Surface[] = [events];
  const seed = createSeed(c, log, extra, opts);
  return {
    events,
    seed,
    request: (req, res) => {
      // cached reads and the attach/detach routes first: none is a stream's path (seed/app.ts)
      if (seed.early(req, res)) return;
      for (const s of surfaces) if (s.request?.(req, res)) return;
      seed.koa(req, res);
    },
    upgrade: (req, socket, head) => {
      for (const s of surfaces) if (s.upgrade?.(req, socket, head)) return;
      logRequest(log, { api: 'seed', method: req.method, url: req.url, status: 404, code: 'NOT_FOUND', message: 'no websocket on this path' });
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"message":"no websocket on this path","code":"NOT_FOUND"}');
    },
    close: () => { for (const s of surfaces) s.close?.(); },
  };
}
