// The seed surface's Koa application: request log, error mapping, body
// parsing, routes. Errors become {"message", "code"} with the status this
// surface gives their kind or code (errors.ts);
// anything untyped is our fault: a 500 with the details in the log only.

import type { IncomingMessage, ServerResponse } from 'node:http';
import Koa from 'koa';
import { bodyParser } from '@koa/bodyparser';
import type { Controller, Logger } from '../../controller/controller.js';
import { BadRequest, LnetdError } from '../../../errors/index.js';
import { ReadCache } from './cache.js';
import { statusOf } from './errors.js';
import { routes } from './routes.js';

export const BODY_LIMIT = '1mb';

interface HttpishError { status?: number; statusCode?: number; type?: string; expose?: boolean; message?: string }

function toReply(err: unknown, log: Logger, ctx: Koa.Context): { status: number; message: string; code: string } {
  if (err instanceof LnetdError) return { status: statusOf(err), message: err.message, code: err.code };
  const e = err as HttpishError;
  const status = e?.status ?? e?.statusCode;
  if (status === 413 || e?.type === 'entity.too.large') return { status: 413, message: `request body is larger than ${BODY_LIMIT}`, code: 'BODY_TOO_LARGE' };
  if (e?.type === 'entity.parse.failed' || (status === 400 && e?.expose)) return { status: 400, message: `request body is not valid JSON: ${e.message ?? ''}`.trim(), code: 'INVALID_JSON' };
  if (status && status >= 400 && status < 500 && e?.expose) return { status, message: e.message ?? 'bad request', code: 'INVALID_BODY' };
  log.error({ err, method: ctx.method, path: ctx.path }, 'request failed');
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
    if (logRequests) {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      log.info({ method: req.method, path: req.url?.split('?')[0], status: 200, ms: Math.round(ms * 1000) / 1000, cached: true }, 'request');
    }
  };
}

export function createApp(c: Controller, log: AppLogger, extra: Parameters<typeof routes>[1], cache = new ReadCache(c)): Koa {
  const app = new Koa();
  app.silent = true;
  const logRequests = log.isLevelEnabled?.('info') ?? true;
  app.use(async (ctx, next) => {
    const start = process.hrtime.bigint();
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        ctx.body = { message: `no route for ${ctx.method} ${ctx.path.slice(0, 200)}`, code: 'NOT_FOUND' };
      } else if (ctx.status === 405) {
        ctx.body = { message: `method ${ctx.method} is not allowed on ${ctx.path.slice(0, 200)}`, code: 'METHOD_NOT_ALLOWED' };
      }
    } catch (err) {
      const r = toReply(err, log, ctx);
      ctx.status = r.status;
      ctx.body = { message: r.message, code: r.code };
    }
    if (logRequests) {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      log.info({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 1000) / 1000 }, 'request');
    }
  });
  app.use(cache.middleware());
  // only JSON bodies are parsed (the listeners refuse the rest with 415 first: api/guard.ts)
  app.use(bodyParser({ enableTypes: ['json'], jsonLimit: BODY_LIMIT, encoding: 'utf-8', onError: bodyError }));
  const router = routes(c, extra);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
