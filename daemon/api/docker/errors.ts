// Errors of the Docker surface: dockerd's status codes and its body shape,
// {"message": "..."}. Domain errors (stable codes, shared by every surface)
// are mapped here; the domain itself picks no status.

import { LnetdError, type ErrorCode, type ErrorKind } from '../../../errors/index.js';

export class DockerError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'DockerError';
  }
}

/** dockerd's statuses (errdefs → HTTP) by kind of failure. */
const BY_KIND: Record<ErrorKind, number> = {
  invalid: 400, not_found: 404, conflict: 409, forbidden: 403, gone: 410, not_allowed: 405, unavailable: 503, internal: 500,
};

/** Codes dockerd answers apart from their kind: libnetwork raises these as Forbidden. */
const BY_CODE: Partial<Record<ErrorCode, number>> = {
  BODY_TOO_LARGE: 413,
  NETWORK_IN_USE: 403, ENDPOINT_IN_USE: 403, POOL_OVERLAP: 403, POOL_EXHAUSTED: 403, ADDRESS_IN_USE: 403,
};

/** Status and message for an error raised below the surface; undefined when it is not ours to map. */
export function fromDomain(err: unknown): { status: number; message: string } | undefined {
  if (err instanceof DockerError) return { status: err.status, message: err.message };
  if (!(err instanceof LnetdError)) return undefined;
  return { status: BY_CODE[err.code] ?? BY_KIND[err.kind], message: err.message };
}
