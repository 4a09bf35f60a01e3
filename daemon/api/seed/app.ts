// The seed surface's Koa application: request log, error mapping, body
// parsing, routes. Errors become {"message", "code"} with the status this
// surface gives their kind or code (errors.ts);
// anything untyped is our fault: a 500 with the details in the log only.
// In front of it: cached reads (cache.ts) and the attach/detach routes'
// fast lane (../fast.ts), both answering without Koa.

import type { IncomingMessage, ServerResponse } from 'node:http';
import Koa from 'koa';
import { lazyBodyParser } from '../lazy.js';
import { answer, JSON_UTF8, PARAM, PLAIN_JSON, readJson, run, TEXT_UTF8 } from '../fast.js';
import type { Controller, Logger } from '../../controller/controller.js';
import { BadRequest, LnetdError } from '../../../errors/index.js';
import { ReadCache } from './cache.js';
import { statusOf } from './errors.js';
import { hotRoutes, routes } from './routes.js';
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

export interface SeedHandler {
  /** Cached reads and the attach/detach routes, answered at once (true);
   *  false for the rest. None of them is an event stream's path, so this may
   *  look before the other surfaces do. */
  early(req: IncomingMessage, res: ServerResponse): boolean;
  /** Everything else, through Koa. */
  koa: Handler;
  /** Requests the fast lane answered (its test checks it was taken). */
  readonly fastAnswered: number;
}

/** The seed surface's handlers; opts.fastLane: false sends the attach/detach routes through Koa too (the fast lane's test). */
export function createSeed(c: Controller, log: AppLogger, extra: Parameters<typeof routes>[1], opts: { fastLane?: boolean } = {}): SeedHandler {
  const cache = new ReadCache(c);
  const koa = createApp(c, log, extra, cache).callback();
  const logRequests = log.isLevelEnabled?.('info') ?? true;
  const lane = fastLane(c, log);
  let answered = 0;
  const fast = opts.fastLane === false ? () => false : (req: IncomingMessage, res: ServerResponse) => lane(req, res) && ++answered > 0;
  return {
    koa,
    get fastAnswered() { return answered; },
    early: (req, res) => {
      if (req.method !== 'GET') return fast(req, res);
      const start = logRequests ? process.hrtime.bigint() : 0n;
      if (!cache.serve(req, res)) return false;
      if (logRequests) logRequest(log, { api: 'seed', method: req.method, url: req.url, status: 200, ms: since(start), cached: true });
      return true;
    },
  };
}

const CREATE_ENDPOINT = new RegExp(`^/networks/${PARAM}/endpoints$`);
const JOIN = new RegExp(`^/networks/${PARAM}/endpoints/${PARAM}/containers$`);
const LEAVE = new RegExp(`^/networks/${PARAM}/endpoints/${PARAM}/containers/${PARAM}$`);
const DELETE_ENDPOINT = new RegExp(`^/networks/${PARAM}/endpoints/${PARAM}$`);

/** The attach/detach routes without Koa (../fast.ts says what it takes), answered as createApp's
 *  middleware and routes answer them; false for any other request. */
function fastLane(c: Controller, log: AppLogger): (req: IncomingMessage, res: ServerResponse) => boolean {
  const hot = hotRoutes(c);
  return (req, res) => {
    const url = req.url ?? '';
    let route: (body: unknown) => Promise<string | void>;
    let m: RegExpExecArray | null;
    const post = req.method === 'POST';
    const type = post ? req.headers['content-type'] : undefined;
    if (post) {
      // bodies the body parser surely takes as JSON; no type at all (then the listener let no body through) it doesn't read
      if ((type !== undefined && !PLAIN_JSON.has(type)) || req.closed) return false;
      if ((m = CREATE_ENDPOINT.exec(url))) { const [, nid] = m; route = (body) => hot.createEndpoint(nid, body); }
      else if ((m = JOIN.exec(url))) { const [, nid, eid] = m; route = (body) => hot.join(nid, eid, body); }
      else return false;
    } else if (req.method === 'DELETE') {
      if ((m = LEAVE.exec(url))) { const [, nid, eid, cid] = m; route = () => hot.leave(nid, eid, cid); }
      else if ((m = DELETE_ENDPOINT.exec(url))) { const [, nid, eid] = m; route = () => hot.deleteEndpoint(nid, eid); }
      else return false;
    } else {
      return false;
    }
    const start = process.hrtime.bigint();
    run(res, async () => {
      let status = 200;
      let text: string | void;
      let failure: unknown;
      let reply: { message: string; code: string } | undefined;
      try {
        const body = !post ? undefined : type === undefined ? {} : await readJson(req, BODY_LIMIT).catch(bodyError);
        text = await route(body);
      } catch (err) {
        const r = toReply(err);
        status = r.status;
        reply = { message: r.message, code: r.code };
        text = JSON.stringify(reply);
        failure = err;
      }
      logRequest(log, { api: 'seed', method: req.method, url: req.url, status, ms: since(start), code: reply?.code, message: reply?.message, err: failure });
      // JSON text (the creates, the join, an error) or an empty body
      if (typeof text === 'string') answer(res, status, JSON_UTF8, text);
      else answer(res, status, TEXT_UTF8, '');
    });
    return true;
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
