// The Docker surface's request handler: dockerd's headers on every answer,
// the version handshake (a /v1.NN prefix is optional; one out of range is a
// 400), JSON bodies, the routes, and errors as {"message": "..."} with
// dockerd's status codes. Anything untyped is our fault: a 500, details logged.

import type { IncomingMessage, ServerResponse } from 'node:http';
import Koa from 'koa';
import { lazyBodyParser } from '../lazy.js';
import { answer, PARAM, readJson, run, TEXT_UTF8 } from '../fast.js';
import type { Controller, Logger } from '../../controller/controller.js';
import { DockerError, fromDomain } from './errors.js';
import { LnetdError } from '../../../errors/index.js';
import { logRequest, since } from '../../log-request.js';
import { DockerEvents } from './events.js';
import { viewOf } from './query.js';
import { dockerHotRoutes, dockerRoutes, notServed, type DockerExtra } from './routes.js';
import { MAX_API_VERSION, splitVersion, unsupported } from './versions.js';

export const BODY_LIMIT = '1mb';

type AppLogger = Logger & { isLevelEnabled?: (level: string) => boolean };
export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function reply(err: unknown): { status: number; message: string; code?: string } {
  const mapped = fromDomain(err);
  if (mapped) return err instanceof LnetdError ? { ...mapped, code: err.code } : mapped;
  const e = err as { status?: number; type?: string; expose?: boolean; message?: string };
  if (e?.status === 413 || e?.type === 'entity.too.large') return { status: 413, message: `request body is larger than ${BODY_LIMIT}` };
  if (e?.type === 'entity.parse.failed' || (e?.status === 400 && e?.expose)) return { status: 400, message: `invalid JSON: ${e.message ?? ''}`.trim() };
  return { status: 500, message: `internal error: ${e?.message ?? String(err)}` };
}

function bodyError(err: Error): never {
  const e = err as { status?: number; type?: string };
  if (e.status === 413 || e.type === 'entity.too.large') throw err;
  throw new DockerError(400, `invalid JSON: ${err.message}`);
}

/** dockerd's JSON: "application/json" exactly (the Go client reads an error's
 *  message only under that type) and a newline after the value, like json.Encoder. */
function jsonBody(ctx: Koa.Context): void {
  const b = ctx.body;
  if (b === null || b === undefined || typeof b !== 'object' || Buffer.isBuffer(b) || typeof (b as { pipe?: unknown }).pipe === 'function') return;
  const text = `${JSON.stringify(b)}\n`;
  ctx.remove('Content-Type');
  ctx.set('Content-Type', 'application/json');
  ctx.body = text;
}

/** dockerd's headers on every answer. */
function dockerHeaders(extra: DockerExtra): Record<string, string> {
  return { 'Api-Version': MAX_API_VERSION, Ostype: 'linux', 'Docker-Experimental': 'false', Server: `lnetd/${extra.info().version} (linux)` };
}

export function createDockerApp(c: Controller, log: AppLogger, extra: DockerExtra): Koa {
  const app = new Koa();
  app.silent = true;
  const router = dockerRoutes(c, viewOf(c), extra);
  app.use(async (ctx, next) => {
    const start = process.hrtime.bigint();
    for (const [k, v] of Object.entries(dockerHeaders(extra))) ctx.set(k, v);
    const original = ctx.originalUrl;
    let failure: { err: unknown; code?: string; message: string } | undefined;
    try {
      const { version, path } = splitVersion(ctx.path);
      const refused = unsupported(version);
      if (refused) throw new DockerError(400, refused);
      ctx.path = path;
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw notServed(ctx.method, ctx.path);
      if (ctx.status === 405) throw new DockerError(405, `method ${ctx.method} is not allowed on ${ctx.path.slice(0, 200)}`);
    } catch (err) {
      const r = reply(err);
      ctx.status = r.status;
      ctx.body = { message: r.message };
      failure = { err, code: r.code, message: r.message };
    }
    const message = failure?.message ?? (ctx.status >= 400 ? (ctx.body as { message?: string } | undefined)?.message : undefined);
    jsonBody(ctx);
    logRequest(log, { api: 'docker', method: ctx.method, url: original, status: ctx.status, ms: since(start), code: failure?.code, message, err: failure?.err });
  });
  app.use(lazyBodyParser({ enableTypes: ['json'], detectJSON: () => true, jsonLimit: BODY_LIMIT, encoding: 'utf-8', onError: bodyError }));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

export interface DockerApi {
  request: Handler;
  /** Requests the fast lane answered (its test checks it was taken). */
  readonly fastAnswered: number;
  /** Graceful stop: end the open event streams at once. */
  close(): void;
  events: DockerEvents;
}

const CONNECT = new RegExp(`^(?:/v(\\d+(?:\\.\\d+)?))?/networks/${PARAM}/(connect|disconnect)$`);

/** POST /networks/{id}/connect and /disconnect (with or without a version
 *  prefix it serves) without Koa (../fast.ts says what it takes), answered as
 *  createDockerApp's middleware and routes answer them; false for any other request. */
function fastLane(c: Controller, log: AppLogger, extra: DockerExtra): (req: IncomingMessage, res: ServerResponse) => boolean {
  const hot = dockerHotRoutes(c, viewOf(c));
  return (req, res) => {
    if (req.method !== 'POST' || req.closed) return false;
    const m = CONNECT.exec(req.url ?? '');
    if (!m || (m[1] !== undefined && unsupported(m[1]))) return false;
    const [, , id, action] = m;
    const start = process.hrtime.bigint();
    const headers = dockerHeaders(extra);
    run(res, async () => {
      let status = 200;
      let failure: { err: unknown; code?: string; message: string } | undefined;
      try {
        // the body parser takes every body as JSON here (detectJSON)
        const body = await readJson(req, BODY_LIMIT).catch(bodyError);
        await (action === 'connect' ? hot.connect(id, body) : hot.disconnect(id, body));
      } catch (err) {
        const r = reply(err);
        status = r.status;
        failure = { err, code: r.code, message: r.message };
      }
      logRequest(log, { api: 'docker', method: req.method, url: req.url, status, ms: since(start), code: failure?.code, message: failure?.message, err: failure?.err });
      if (failure) answer(res, status, 'application/json', `${JSON.stringify({ message: failure.message })}\n`, headers);
      else answer(res, status, TEXT_UTF8, '', headers);
    });
    return true;
  };
}

/** The surface: GET /events streams on the raw response (never through Koa's
 *  body handling), connect and disconnect in the fast lane, everything else
 *  through the Koa app. opts.fastLane: false sends those through Koa too (the fast lane's test). */
export function createDockerApi(c: Controller, log: AppLogger, extra: DockerExtra, opts: { fastLane?: boolean } = {}): DockerApi {
  const events = new DockerEvents(c, log);
  const koa = createDockerApp(c, log, extra).callback();
  const lane = fastLane(c, log, extra);
  let answered = 0;
  const fast = opts.fastLane === false ? () => false : (req: IncomingMessage, res: ServerResponse) => lane(req, res) && ++answered > 0;
  const request: Handler = (req, res) => {
    if (fast(req, res)) return;
    const url = new URL(req.url ?? '/', 'http://docker');
    const { version, path } = splitVersion(url.pathname);
    if (path !== '/events' || req.method !== 'GET' || unsupported(version)) return void koa(req, res);
    try {
      events.serve(req, res, url.searchParams, dockerHeaders(extra));
      logRequest(log, { api: 'docker', method: req.method, url: req.url, status: 200, stream: true });
    } catch (err) {
      const mapped = fromDomain(err) ?? { status: 500, message: `internal error: ${(err as Error)?.message ?? err}` };
      logRequest(log, { api: 'docker', method: req.method, url: req.url, status: mapped.status, code: err instanceof LnetdError ? err.code : undefined, message: mapped.message, err });
      res.writeHead(mapped.status, { ...dockerHeaders(extra), 'Content-Type': 'application/json' });
      res.end(`${JSON.stringify({ message: mapped.message })}\n`);
    }
  };
  return { request, events, close: () => events.close(), get fastAnswered() { return answered; } };
}

export function createDockerHandler(c: Controller, log: AppLogger, extra: DockerExtra): Handler {
  return createDockerApi(c, log, extra).request;
}
