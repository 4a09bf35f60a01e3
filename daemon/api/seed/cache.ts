// A response cache for reads. Every GET answer depends only on the state
// index, so an answer stays good until the index's version moves on. The
// listings runtimes and dashboards poll are serialised once per change, and a
// hit is answered in front of Koa: no context, routing or shaping per request.
//
// Bounded, whatever clients send: by entries and by bytes counting keys as
// well as bodies; keyed on the normalised query (parameters sorted, empty ones
// such as `&&&` dropped: they answer the same), so padding a URL can't mint new
// entries for one answer; and an answer of an older version is dropped as soon
// as a newer one is stored (the version only moves forward, so they can never
// be served again).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type Koa from 'koa';

interface Entry { version: number; type: string; body: Buffer; size: number }

/** Paths whose answers change without the state changing (stats, uptime). */
const UNCACHED = /^\/_/;
/** Longer URLs are answered but not cached: no listing needs one. */
const MAX_KEY = 2048;

export interface CacheLimits { maxBytes: number; maxEntries: number }

/** The cache key of a URL: its path and its non-empty query parameters in sorted order. */
export function cacheKey(url: string): string | undefined {
  const q = url.indexOf('?');
  if (q < 0) return url.length <= MAX_KEY ? url : undefined;
  const params = new URLSearchParams(url.slice(q + 1));
  const kept = [...params].filter(([k]) => k !== '').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const key = kept.length ? `${url.slice(0, q)}?${new URLSearchParams(kept).toString()}` : url.slice(0, q);
  return key.length <= MAX_KEY ? key : undefined;
}

export class ReadCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private version = -1;
  private readonly limits: CacheLimits;
  hits = 0;

  constructor(private readonly state: { version: number }, limits: Partial<CacheLimits> = {}) {
    this.limits = { maxBytes: 16 << 20, maxEntries: 1024, ...limits };
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }

  /** Answer a GET from the cache when the state has not changed since; false on a miss. */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'GET' || !req.url) return false;
    const key = cacheKey(req.url);
    const hit = key === undefined ? undefined : this.entries.get(key);
    if (!hit || hit.version !== this.state.version) return false;
    this.hits++;
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
      const key = cacheKey(ctx.url);
      if (key !== undefined) this.store(key, { version, type, body, size: body.length + Buffer.byteLength(key) * 2 + type.length + 64 });
      ctx.type = type;
      ctx.body = body;
      return undefined;
    };
  }

  private store(key: string, e: Entry): void {
    if (e.version !== this.version) {
      // every entry of an older version is dead: drop them all at once
      this.entries.clear();
      this.bytes = 0;
      this.version = e.version;
    }
    this.drop(key);
    if (e.size > this.limits.maxBytes / 4) return;
    while ((this.bytes + e.size > this.limits.maxBytes || this.entries.size >= this.limits.maxEntries) && this.entries.size) {
      this.drop(this.entries.keys().next().value as string);  // the oldest first
    }
    this.entries.set(key, e);
    this.bytes += e.size;
  }

  private drop(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.bytes -= e.size;
    this.entries.delete(key);
  }
}
