// The Docker surface's request handler: dockerd's headers on every answer,
// the version handshake (a /v1.NN prefix is optional; one out of range is a
// 400), JSON bodies, the routes, and errors as {"message": "..."} with
// dockerd's status codes. Anything untyped is our fault: a 500, details logged.

import type { IncomingMessage, ServerResponse } from 'node:http';
import Koa from 'koa';
import { bodyParser } from '@koa/bodyparser';
import type { Controller, Logger } from '../../controller/controller.js';
import { DockerError, fromDomain } from './errors.js';
import { viewOf } from './query.js';
import { dockerRoutes, notServed, type DockerExtra } from './routes.js';
import { MAX_API_VERSION, splitVersion, unsupported } from './versions.js';

export const BODY_LIMIT = '1mb';

type AppLogger = Logger & { isLevelEnabled?: (level: string) => boolean };
export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function reply(err: unknown, log: Logger, ctx: Koa.Context): { status: number; message: string } {
  const mapped = fromDomain(err);
  if (mapped) return mapped;
  const e = err as { status?: number; type?: string; expose?: boolean; message?: string };
  if (e?.status === 413 || e?.type === 'entity.too.large') return { status: 413, message: `request body is larger than ${BODY_LIMIT}` };
  if (e?.type === 'entity.parse.failed' || (e?.status === 400 && e?.expose)) return { status: 400, message: `invalid JSON: ${e.message ?? ''}`.trim() };
  log.error({ err, method: ctx.method, path: ctx.path }, 'docker API request failed');
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

export function createDockerApp(c: Controller, log: AppLogger, extra: DockerExtra): Koa {
  const app = new Koa();
  app.silent = true;
  const logRequests = log.isLevelEnabled?.('info') ?? true;
  const router = dockerRoutes(c, viewOf(c), extra);
  app.use(async (ctx, next) => {
    const start = process.hrtime.bigint();
    ctx.set('Api-Version', MAX_API_VERSION);
    ctx.set('Ostype', 'linux');
    ctx.set('Docker-Experimental', 'false');
    ctx.set('Server', `lnetd/${extra.info().version} (linux)`);
    const original = ctx.path;
    try {
      const { version, path } = splitVersion(ctx.path);
      const refused = unsupported(version);
      if (refused) throw new DockerError(400, refused);
      ctx.path = path;
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw notServed(ctx.method, ctx.path);
      if (ctx.status === 405) throw new DockerError(405, `method ${ctx.method} is not allowed on ${ctx.path.slice(0, 200)}`);
    } catch (err) {
      const r = reply(err, log, ctx);
      ctx.status = r.status;
      ctx.body = { message: r.message };
    }
    jsonBody(ctx);
    if (logRequests) {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      log.info({ api: 'docker', method: ctx.method, path: original.slice(0, 200), status: ctx.status, ms: Math.round(ms * 1000) / 1000 }, 'request');
    }
  });
  app.use(bodyParser({ enableTypes: ['json'], detectJSON: () => true, jsonLimit: BODY_LIMIT, encoding: 'utf-8', onError: bodyError }));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

export function createDockerHandler(c: Controller, log: AppLogger, extra: DockerExtra): Handler {
  return createDockerApp(c, log, extra).callback();
}
