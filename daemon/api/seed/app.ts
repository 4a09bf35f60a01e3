// The seed surface's Koa application: request log, error mapping, body
// parsing, routes. Errors become {"message", "code"} with the status this
// surface gives their kind or code (errors.ts);
// anything untyped is our fault: a 500 with the details in the log only.

import type { IncomingMessage, ServerResponse } from 'node:http';
import Koa from 'koa';
import { lazyBodyParser } from '../lazy.js';
import type { Controller, Logger } from '../../controller/controller.js';
import { BadRequest, LnetdError } from '../../../errors/index.js';
import { ReadCache } from './cache.js';
import { statusOf } from './errors.js';
import { routes } from './routes.js';
import { logRequest, since } from '../../log-request.js';

export const BODY_LIMIT = '1mb';

interface HttpishError { status?: number; statusCode?: number; type?: string; expose?: boolean; message?: string }

function toReply(err: unknown): { status: number; message: string; code: string } {
  if (err instanceof LnetdError) return { status: statusOf(err), message: err.message, code: err.code };
  const e = err as HttpishError;
  const status = e?.status ?? e?.statusCode;
  if (status === 413 || e?.type === 'entity.too.large') return { status: 413, message: `request body is larger than ${BODY_LIMIT}`, code: 'BODY_TOO_LARGE' };
  if (e?.type === 'entity.parse.failed' || (status === 400 && e?.expose)) return { status: 400, message: `request body is not valid JSON: ${e.message ?? ''}`.trim(), code: 'INVALID_JSON' };
  if (status && status >= 400 && status < 500 && e?.expose) return { status, message: e.message ?? 'bad request', code: 'INVALID_BODY' };
  return { status: 500, message: `internal error: ${e?.message ?? String(err)}`, code: 'INTERNAL' };
}

/** Body parsing failures are the client's: too large (413) or not JSON (400). */
function bodyError(err: Error): never {
  const e = err as HttpishError;
  if (e.status === 413 || e.type === 'entity.too.large') throw err;
  throw new BadRequest(`request body is not valid JSON: ${err.message}`, 'INVALID_JSON');
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;
type AppLogger = Logger & { isLevelEnabled?: (level: string) => boolean };

/** The request handler: cached reads answered straight away, the rest through Koa. */
export function createHandler(c: Controller, log: AppLogger, extra: Parameters<typeof routes>[1]): Handler {
  const cache = new ReadCache(c);
  const koa = createApp(c, log, extra, cache).callback();
  const logRequests = log.isLevelEnabled?.('info') ?? true;
  return (req, res) => {
    const start = logRequests ? process.hrtime.bigint() : 0n;
    if (!cache.serve(req, res)) return void koa(req, res);
    if (logRequests) logRequest(log, { api: 'seed', method: req.method, url: req.url, status: 200, ms: since(start), cached: true });
  };
}

export function createApp(c: Controller, log: AppLogger, extra: Parameters<typeof routes>[1], cache = new ReadCache(c)): Koa {
  const app = new Koa();
  app.silent = true;
  app.use(async (ctx, next) => {
    const start = process.hrtime.bigint();
    let failure: unknown;
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        ctx.body = { message: `no route for ${ctx.method} ${ctx.path.slice(0, 200)}`, code: 'NOT_FOUND' };
      } else if (ctx.status === 405) {
        ctx.body = { message: `method ${ctx.method} is not allowed on ${ctx.path.slice(0, 200)}`, code: 'METHOD_NOT_ALLOWED' };
      }
    } catch (err) {
      const r = toReply(err);
      ctx.status = r.status;
      ctx.body = { message: r.message, code: r.code };
      failure = err;
    }
    const body = ctx.status >= 400 ? (ctx.body as { message?: string; code?: string } | undefined) : undefined;
    logRequest(log, { api: 'seed', method: ctx.method, url: ctx.originalUrl, status: ctx.status, ms: since(start), code: body?.code, message: body?.message, err: failure });
  });
  app.use(cache.middleware());
  // only JSON bodies are parsed (the listeners refuse the rest with 415 first: api/guard.ts)
  app.use(lazyBodyParser({ enableTypes: ['json'], jsonLimit: BODY_LIMIT, encoding: 'utf-8', onError: bodyError }));
  const router = routes(c, extra);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
