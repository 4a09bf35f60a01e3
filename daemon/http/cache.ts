// A response cache for reads. Every GET answer depends only on the state
// index, so an answer stays good until the index's version moves on: the
// listings that runtimes and dashboards poll are serialised once per change
// instead of once per request, and skip routing and shaping altogether.

import type Koa from 'koa';

interface Entry { version: number; type: string; body: Buffer }

/** Paths whose answers change without the state changing (stats, uptime). */
const UNCACHED = /^\/_/;

export function readCache(state: { version: number }, maxBytes = 16 << 20): Koa.Middleware {
  const entries = new Map<string, Entry>();
  let bytes = 0;
  const drop = (key: string) => {
    const e = entries.get(key);
    if (e) { bytes -= e.body.length; entries.delete(key); }
  };
  return async (ctx, next) => {
    if (ctx.method !== 'GET' || UNCACHED.test(ctx.path)) return next();
    const key = ctx.url;
    const hit = entries.get(key);
    if (hit && hit.version === state.version) {
      ctx.type = hit.type;
      ctx.body = hit.body;
      return undefined;
    }
    const version = state.version;
    await next();
    drop(key);
    if (ctx.status !== 200 || version !== state.version) return undefined;
    const body = Buffer.isBuffer(ctx.body) ? ctx.body : typeof ctx.body === 'string' ? Buffer.from(ctx.body) : Buffer.from(JSON.stringify(ctx.body));
    if (body.length > maxBytes / 4) return undefined;
    while (bytes + body.length > maxBytes && entries.size) drop(entries.keys().next().value as string);
    const type = ctx.type || 'application/json';
    entries.set(key, { version, type, body });
    bytes += body.length;
    ctx.type = type;
    ctx.body = body;
    return undefined;
  };
}
