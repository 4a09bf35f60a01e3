// One log line per answered request, the same on every surface (seed API,
// Docker API, event streams, the listeners' guard): method, the URL with its
// query string, status and duration; for an error also its code and message.
//
// Levels: 2xx/3xx at info; 4xx at warn (the caller sent something lnetd
// refused), except 404, which runtimes and the docker CLI cause routinely by
// looking a name up before creating it, at info; 5xx at error with the cause
// (the error and its stack).

import { STATUS_CODES } from 'node:http';

export interface RequestLogger {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
  error(o: object, msg?: string): void;
  isLevelEnabled?(level: string): boolean;
}

export interface RequestLine {
  /** seed, docker, events, listener */
  api: string;
  method?: string;
  /** path and query as the client sent them */
  url?: string;
  status: number;
  ms?: number;
  /** the error's code (errors/index.ts), or the status's name when the surface has none */
  code?: string;
  message?: string;
  /** a 5xx's cause */
  err?: unknown;
  cached?: boolean;
  stream?: boolean;
}

/** A URL in the log: whole up to 500 characters (the query string included). */
export const MAX_URL = 500;
const clip = (s: string | undefined): string => {
  const u = s ?? '';
  return u.length > MAX_URL ? `${u.slice(0, MAX_URL)}…` : u;
};

/** A code for statuses whose surface answers none (Docker's {"message"} body): "Bad Request" → BAD_REQUEST. */
export function statusCode(status: number): string {
  return (STATUS_CODES[status] ?? `HTTP ${status}`).toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}

export function levelOf(status: number): 'info' | 'warn' | 'error' {
  if (status >= 500) return 'error';
  if (status >= 400 && status !== 404) return 'warn';
  return 'info';
}

/** Log one answered request at the level its status calls for. */
export function logRequest(log: RequestLogger, r: RequestLine): void {
  const level = levelOf(r.status);
  if (level === 'info' && log.isLevelEnabled && !log.isLevelEnabled('info')) return;
  const url = clip(r.url);
  const fields: Record<string, unknown> = { api: r.api, method: r.method, url, status: r.status };
  if (r.ms !== undefined) fields.ms = Math.round(r.ms * 1000) / 1000;
  if (r.cached) fields.cached = true;
  if (r.stream) fields.stream = true;
  if (r.status >= 400) {
    fields.code = r.code ?? statusCode(r.status);
    if (r.message !== undefined) fields.error = r.message;
  }
  if (r.err !== undefined && r.status >= 500) fields.err = r.err;
  // the fields say it all (the text format prints them as key=value)
  log[level](fields, r.status >= 500 ? 'request failed' : r.status >= 400 ? 'request refused' : 'request');
}

/** Milliseconds since a process.hrtime.bigint() start. */
export const since = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

/** The listeners' guard (api/guard.ts) refused a request before any surface saw it. */
export function refusalLogger(log: RequestLogger): (req: { method?: string; url?: string }, r: { status: number; code: string; message: string }) => void {
  return (req, r) => logRequest(log, { api: 'listener', method: req.method, url: req.url, status: r.status, code: r.code, message: r.message });
}
