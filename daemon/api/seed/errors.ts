// The seed surface's statuses for domain errors: by kind, with the few codes
// whose status the seed API (as lnetd v1 answered it) sets apart.

import type { ErrorCode, ErrorKind, LnetdError } from '../../../errors/index.js';

const BY_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  not_found: 404,
  conflict: 409,
  forbidden: 403,
  gone: 410,
  not_allowed: 405,
  unavailable: 503,
  internal: 500,
};

const BY_CODE: Partial<Record<ErrorCode, number>> = {
  BODY_TOO_LARGE: 413,
  // v1 answered an ambiguous id prefix or service name as "not found"
  AMBIGUOUS_ID: 404,
};

export function statusOf(err: LnetdError): number {
  return BY_CODE[err.code] ?? BY_KIND[err.kind];
}

export function replyOf(err: LnetdError): { status: number; body: { message: string; code: ErrorCode } } {
  return { status: statusOf(err), body: { message: err.message, code: err.code } };
}
