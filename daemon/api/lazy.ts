// Libraries the API needs only for some requests, loaded (synchronously, by
// their CommonJS builds) on the first request that needs them, not at start:
// compiling them cost ~0.1-0.25 s of the daemon's start-up before it could
// answer (the body parser alone pulls in co-body, qs and form parsing).

import { createRequire } from 'node:module';
import type Koa from 'koa';
import type * as BodyParserModule from '@koa/bodyparser';

const require = createRequire(import.meta.url);

/** Load a module on first call, once. */
export function lazy<T>(name: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= require(name) as T);
}

const bodyParserModule = lazy<typeof BodyParserModule>('@koa/bodyparser');

/** The methods @koa/bodyparser parses (its default): any other passes through untouched by it. */
const PARSED = new Set(['POST', 'PUT', 'PATCH']);

/** @koa/bodyparser with these options, loaded by the first request it would parse. */
export function lazyBodyParser(opts: Parameters<typeof BodyParserModule.bodyParser>[0]): Koa.Middleware {
  let mw: Koa.Middleware | undefined;
  return (ctx, next) => {
    if (!PARSED.has(ctx.method)) return next();
    mw ??= bodyParserModule().bodyParser(opts) as unknown as Koa.Middleware;
    return mw(ctx, next);
  };
}
