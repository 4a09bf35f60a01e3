// Domain errors with stable codes, shared by every layer (API surfaces,
// controller, drivers, store). An error carries a code and a kind, never an
// HTTP status: each API surface maps kinds (and, where its wire format wants,
// single codes) to its own status and body (daemon/api/<surface>/errors.ts).
// Tests assert `code`, never the wording of `message`; messages are sentences
// a person can act on, naming the field or object.

/** Every code, with the kind of failure it is (the shape of moby's errdefs). */
export const CODES = {
  // the request itself
  INVALID_JSON: 'invalid',        // the body is not JSON
  BODY_TOO_LARGE: 'invalid',      // the body is over the limit
  INVALID_BODY: 'invalid',        // the body (or a nested value) is not the JSON object it must be
  MISSING_FIELD: 'invalid',       // a required field is absent
  INVALID_FIELD: 'invalid',       // a field has the wrong type, length or format
  INVALID_NAME: 'invalid',        // a network / endpoint / host name is not valid
  INVALID_PARAMETER: 'invalid',   // a path or query parameter is not valid
  UNSUPPORTED_FILTER: 'invalid',  // a list filter the route does not support
  INVALID_FILTER: 'invalid',      // a supported filter with a bad value
  INVALID_OPTION: 'invalid',      // a driver option (options.*) is not valid
  INVALID_SUBNET: 'invalid',      // a subnet, ip_range or pool is not valid
  INVALID_ADDRESS: 'invalid',     // an address (gateway, aux, endpoint, dns, host) is not valid
  INVALID_IPAM: 'invalid',        // the ipam configuration as a whole does not fit
  INVALID_PORT: 'invalid',        // a port or protocol is not valid
  INVALID_PATH: 'invalid',        // a file path a request names is not allowed or can't hold a file
  UNKNOWN_DRIVER: 'invalid',      // network_type names no driver
  NOT_SUPPORTED: 'invalid',       // the driver or network can't do what was asked
  AMBIGUOUS_ID: 'invalid',        // an id prefix (or name) matches more than one object
  SINCE_TOO_OLD: 'gone',          // an event stream asked for events no longer kept
  REVISION_COMPACTED: 'gone',     // a store watch asked for a revision compaction dropped (etcd's ErrCompacted)
  // objects
  NOT_FOUND: 'not_found',         // no such route or thing
  NETWORK_NOT_FOUND: 'not_found',
  ENDPOINT_NOT_FOUND: 'not_found',
  SERVICE_NOT_FOUND: 'not_found',
  CONTAINER_NOT_FOUND: 'not_found',
  NAME_IN_USE: 'conflict',
  NETWORK_IN_USE: 'conflict',
  ENDPOINT_IN_USE: 'conflict',
  ALREADY_JOINED: 'conflict',
  POOL_EXHAUSTED: 'conflict',
  NETWORK_FULL: 'conflict',       // the network's kernel object takes no more ports (a Linux bridge: 1,023)
  POOL_OVERLAP: 'conflict',
  ADDRESS_IN_USE: 'conflict',
  PORT_IN_USE: 'conflict',
  REVISION_MISMATCH: 'conflict',  // a compare-and-swap lost the race
  PREDEFINED_NETWORK: 'forbidden',
  METHOD_NOT_ALLOWED: 'not_allowed',
  STORE_UNAVAILABLE: 'unavailable', // the store refused a write (after a write error, until reopened)
  TOO_MANY_OPEN_FILES: 'unavailable', // reserving more host ports would pass lnetd's open-file limit (LimitNOFILE)
  INTERNAL: 'internal',
} as const;

export type ErrorCode = keyof typeof CODES;
export type ErrorKind = (typeof CODES)[ErrorCode];
/** The codes of one kind: a BadRequest can only carry an 'invalid' code. */
export type CodeOf<K extends ErrorKind> = { [C in ErrorCode]: (typeof CODES)[C] extends K ? C : never }[ErrorCode];

export class LnetdError extends Error {
  readonly kind: ErrorKind;
  constructor(readonly code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = CODES[code];
    this.name = new.target.name;
  }
}

/** The request is wrong: a field, parameter, option or value. Nothing changed. */
export class BadRequest extends LnetdError {
  constructor(message: string, code: CodeOf<'invalid'>) { super(code, message); }
}
export class NotFound extends LnetdError {
  constructor(message: string, code: CodeOf<'not_found'> = 'NOT_FOUND') { super(code, message); }
}
export class Conflict extends LnetdError {
  constructor(message: string, code: CodeOf<'conflict'>) { super(code, message); }
}
export class Forbidden extends LnetdError {
  constructor(message: string, code: CodeOf<'forbidden'> = 'PREDEFINED_NETWORK') { super(code, message); }
}
/** Asked for something no longer kept (an event older than the log's start). */
export class Gone extends LnetdError {
  constructor(message: string, code: CodeOf<'gone'> = 'SINCE_TOO_OLD') { super(code, message); }
}
export class Unavailable extends LnetdError {
  constructor(message: string, code: CodeOf<'unavailable'> = 'STORE_UNAVAILABLE', options?: { cause?: unknown }) { super(code, message, options); }
}
export class Internal extends LnetdError {
  constructor(message: string) { super('INTERNAL', message); }
}

/** Drop a segment that repeats the one before it ("EINVAL: EINVAL" → "EINVAL"). */
function dedupe(msg: string): string {
  const out: string[] = [];
  for (const part of msg.split(': ')) if (part !== out.at(-1)) out.push(part);
  return out.join(': ');
}

/** Wrap a kernel or system error with what we were doing, keeping its errno
 *  code. Typed domain errors pass unchanged: their message already names the
 *  object, and their code must reach the caller. Each piece of text appears
 *  once: the code is added only when the inner message does not already say
 *  it, an error already wrapped with the same context is not wrapped again,
 *  and a segment repeating the one before it is dropped. */
export function wrap(what: string, err: unknown): Error {
  if (err instanceof LnetdError) return err;
  const e = err as NodeJS.ErrnoException;
  // Keep the inner message whole: it carries the context of nested wraps.
  const msg = dedupe(String(e?.message ?? err));
  const already = msg === what || msg.startsWith(`${what}: `);
  const detail = e?.code && !msg.split(/[^A-Z0-9_]/).includes(e.code) ? `${e.code} (${msg})` : msg;
  const out = new Error(already ? msg : dedupe(`${what}: ${detail}`)) as NodeJS.ErrnoException;
  out.code = e?.code;
  out.cause = err;
  return out;
}

/** True for "no such object" errors, which teardown treats as success. */
export function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENODEV' || code === 'ESRCH' || code === 'EADDRNOTAVAIL';
}
