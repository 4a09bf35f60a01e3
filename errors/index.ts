// Typed errors with stable codes. The HTTP layer maps `status` to the reply;
// tests assert `code`, never the wording of `message`.

export type ErrorCode =
  | 'BAD_REQUEST' | 'INVALID_JSON' | 'BODY_TOO_LARGE' | 'UNSUPPORTED_FILTER'
  | 'UNKNOWN_DRIVER' | 'NETWORK_NOT_FOUND' | 'ENDPOINT_NOT_FOUND' | 'SERVICE_NOT_FOUND'
  | 'CONTAINER_NOT_FOUND' | 'NAME_IN_USE' | 'NETWORK_IN_USE' | 'ENDPOINT_IN_USE'
  | 'ALREADY_JOINED' | 'PREDEFINED_NETWORK' | 'POOL_EXHAUSTED' | 'ADDRESS_IN_USE'
  | 'PORT_IN_USE' | 'POOL_OVERLAP' | 'NOT_FOUND' | 'INTERNAL';

export class LnetdError extends Error {
  constructor(readonly status: number, readonly code: ErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadRequest extends LnetdError {
  constructor(message: string, code: ErrorCode = 'BAD_REQUEST') { super(400, code, message); }
}
export class NotFound extends LnetdError {
  constructor(message: string, code: ErrorCode = 'NOT_FOUND') { super(404, code, message); }
}
export class Conflict extends LnetdError {
  constructor(message: string, code: ErrorCode) { super(409, code, message); }
}
export class Forbidden extends LnetdError {
  constructor(message: string, code: ErrorCode = 'PREDEFINED_NETWORK') { super(403, code, message); }
}
export class Internal extends LnetdError {
  constructor(message: string) { super(500, 'INTERNAL', message); }
}

/** Wrap a kernel or system error with what we were doing, keeping its errno code. */
export function wrap(what: string, err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  // Keep the inner message whole: it carries the context of nested wraps.
  const msg = String(e?.message ?? err);
  const detail = e?.code && !msg.includes(e.code) ? `${e.code} (${msg})` : msg;
  const out = new Error(`${what}: ${detail}`) as NodeJS.ErrnoException;
  out.code = e?.code;
  out.cause = err;
  return out;
}

/** True for "no such object" errors, which teardown treats as success. */
export function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENODEV' || code === 'ESRCH' || code === 'EADDRNOTAVAIL';
}
