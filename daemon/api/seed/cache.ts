// A response cache for reads. Every GET answer depends only on the state
// index, so an answer stays good until the index's version moves on. The
// listings runtimes and dashboards poll are serialised once per change, and a
// hit is answered in front of Koa: no context, routing or shaping per request.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type Koa from 'koa';

interface Entry { version: number; type: string; body: Buffer }

/** Paths whose answers change without the state changing (stats, uptime). */
const UNCACHED = /^\/_/;

export class ReadCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  constructor(private readonly state: { version: number }, private readonly maxBytes = 16 << 20) {}

  /** Answer a GET from the cache when the state has not changed since; false on a miss. */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'GET' || !req.url) return false;
    const hit = this.entries.get(req.url);
    if (!hit || hit.version !== this.state.version) return false;
    res.writeHead(200, { 'content-type': hit.type, 'content-length': hit.body.length });
    res.end(hit.body);
    return true;
  }

  /** Koa middleware that stores the 200 answers of GETs it sees. */
  middleware(): Koa.Middleware {
    return async (ctx, next) => {
      if (ctx.method !== 'GET' || UNCACHED.test(ctx.path)) return next();
      const version = this.state.version;
      await next();
      if (ctx.status !== 200 || version !== this.state.version) return undefined;
      const body = Buffer.isBuffer(ctx.body) ? ctx.body : typeof ctx.body === 'string' ? Buffer.from(ctx.body) : Buffer.from(JSON.stringify(ctx.body));
      const type = ctx.response.get('content-type') || 'application/json; charset=utf-8';
      this.store(ctx.url, { version, type, body });
      ctx.type = type;
      ctx.body = body;
      return undefined;
    };
  }

  private store(key: string, e: Entry): void {
    this.drop(key);
    if (e.body.length > this.maxBytes / 4) return;
    while (this.bytes + e.body.length > this.maxBytes && this.entries.size) this.drop(this.entries.keys().next().value as string);
    this.entries.set(key, e);
    this.bytes += e.body.length;
  }

  private drop(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.bytes -= e.body.length;
    this.entries.delete(key);
  }
}
