// What the surfaces' fast lanes share. A fast lane answers the requests of an
// attach and a detach (seed: create endpoint, join, leave, delete endpoint;
// Docker: connect, disconnect) on node's own request and response instead of
// through Koa: no context objects and their delegating accessors, middleware
// chain, router walk over every route, body-parser wrapper with its
// content-type matching, or response setters. It gives the bytes Koa would
// give, and takes only requests it is sure to answer exactly so:
// - the route's own path, with parameters that the router would hand over
//   unchanged (no percent-escape to decode, no "." or ".." segment, no query
//   string, no trailing slash, the literal parts in lower case): anything
//   else goes on to Koa and its router, as before;
// - a body read by the same library @koa/bodyparser uses (co-body's JSON
//   reader, with the options it passes: limit, encoding, strictness, gzip);
// - the same route function, error mapping, status line and headers, in the
//   same order, and the same request log line.
// test/unit/fast-lane.test.ts sends the same requests both ways (the lane on
// and off) and compares the answers byte for byte.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { lazy } from './lazy.js';

/** A route parameter the fast lane takes: starts with a letter, digit, "_" or
 *  "-" (so never a dot segment), then those and "." (so decoding changes nothing). */
export const PARAM = '([A-Za-z0-9_-][A-Za-z0-9_.-]{0,255})';

/** The JSON types @koa/bodyparser parses by default (its `jsonTypes` to co-body). */
export const JSON_TYPES = ['application/json', 'application/json-patch+json', 'application/vnd.api+json', 'application/csp-report', 'application/reports+json', 'application/scim+json'];

type CoJson = (req: IncomingMessage, opts: object) => Promise<{ parsed?: unknown; raw?: string }>;
/** co-body's JSON reader alone (not its index, which loads the form parser too), with the first request that needs it. */
const coJson = lazy<CoJson>('co-body/lib/json.js');

/** The body as @koa/bodyparser({ enableTypes: ['json'], jsonLimit: limit, encoding: 'utf-8' }) sets ctx.request.body for a JSON request. */
export async function readJson(req: IncomingMessage, limit: string): Promise<unknown> {
  const r = await coJson()(req, { returnRawBody: true, strict: undefined, jsonTypes: JSON_TYPES, limit, encoding: 'utf-8' });
  return 'parsed' in r ? r.parsed : {};
}

/** Content types the seed's body parser (type-is over JSON_TYPES) surely takes as JSON. */
export const PLAIN_JSON = new Set(['application/json', 'application/json; charset=utf-8']);

export const JSON_UTF8 = 'application/json; charset=utf-8';
export const TEXT_UTF8 = 'text/plain; charset=utf-8';

/** Answer as Koa's respond() does for a string body: nothing more once the
 *  response can't be written (the client went), else the status, the
 *  surface's headers, Content-Type and Content-Length (in that order), the body. */
export function answer(res: ServerResponse, status: number, type: string, body: string, headers?: Record<string, string>): void {
  if (res.writableEnded || (res.socket && !res.socket.writable)) {
    res.end();
    return;
  }
  const h: Record<string, string> = headers ? { ...headers } : {};
  h['Content-Type'] = type;
  h['Content-Length'] = String(Buffer.byteLength(body));
  res.writeHead(status, h);
  res.end(body);
}

/** Run a fast-lane request; a failure to answer at all (not an error of the route's: those are answers) drops the connection. */
export function run(res: ServerResponse, work: () => Promise<void>): void {
  work().catch(() => res.destroy());
}
