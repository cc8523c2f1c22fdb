import { ErrorCodes, ValidationError, XeError, type XeErrorOptions } from '@xe/core-types';

/**
 * Error codes of the HTTP API: the shared ones of core-types (RATE_LIMITED, TIMEOUT, the
 * tunnel-auth codes …), those this package raises, and those it expects from the
 * `ApiDeps` implementation. `STATUS_BY_CODE` is the one table mapping a code to
 * an HTTP status; nothing else in the package picks a status for an error.
 */
export const ApiErrorCodes = {
  ...ErrorCodes,
  // raised by this package
  INVALID_QUERY: 'INVALID_QUERY',
  ROUTE_NOT_FOUND: 'ROUTE_NOT_FOUND',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  UNAUTHORIZED: 'UNAUTHORIZED',
  OPERATOR_TOKEN_NOT_CONFIGURED: 'OPERATOR_TOKEN_NOT_CONFIGURED',
  UPGRADE_REQUIRED: 'UPGRADE_REQUIRED',
  BLOCK_TYPE_MISMATCH: 'BLOCK_TYPE_MISMATCH',
  // expected from ApiDeps
  LEASE_NOT_FOUND: 'LEASE_NOT_FOUND',
  LEASE_NOT_ACCEPTED: 'LEASE_NOT_ACCEPTED',
  LEASE_NOT_CANCELLABLE: 'LEASE_NOT_CANCELLABLE',
  LEASE_NOT_OWN: 'LEASE_NOT_OWN',
  BLOCK_NOT_FOUND: 'BLOCK_NOT_FOUND',
  CERTIFICATE_NOT_FOUND: 'CERTIFICATE_NOT_FOUND',
  VM_NOT_FOUND: 'VM_NOT_FOUND',
  ACCOUNT_NOT_FOUND: 'ACCOUNT_NOT_FOUND',
  NO_PROVIDERS: 'NO_PROVIDERS',
  INSUFFICIENT_BALANCE: 'INSUFFICIENT_BALANCE',
  ACCEPT_TIMEOUT: 'ACCEPT_TIMEOUT',
  TIMEKEEPER_UNAVAILABLE: 'TIMEKEEPER_UNAVAILABLE',
  // a timekeeper's refusals, passed on by POST /attestation/request
  LEASE_NOT_ATTESTABLE: 'LEASE_NOT_ATTESTABLE',
  UNKNOWN_LEASE: 'UNKNOWN_LEASE',
  PROVIDER_UNREACHABLE: 'PROVIDER_UNREACHABLE',
  NOT_READY: 'NOT_READY',
} as const;

export type ApiErrorCode = (typeof ApiErrorCodes)[keyof typeof ApiErrorCodes];

/** The one table: error code → HTTP status. */
export const STATUS_BY_CODE: Readonly<Record<ApiErrorCode, number>> = Object.freeze({
  INVALID_JSON: 400,
  INVALID_FIELD: 400,
  MISSING_FIELD: 400,
  UNKNOWN_FIELD: 400,
  UNKNOWN_BLOCK_TYPE: 400,
  INVALID_MEMO: 400,
  OVERFLOW: 400,
  INVALID_NETWORK_PARAMS: 400,
  INVALID_RESOURCES: 400,
  INVALID_QUERY: 400,
  BLOCK_TYPE_MISMATCH: 400,
  NO_PROVIDERS: 400,
  INSUFFICIENT_BALANCE: 400,
  UNAUTHORIZED: 401,
  TUNNEL_AUTH_MISSING: 401,
  TUNNEL_TIMESTAMP_STALE: 401,
  OPERATOR_TOKEN_NOT_CONFIGURED: 403,
  TUNNEL_SIGNATURE_INVALID: 403,
  TUNNEL_SIGNATURE_REPLAYED: 403,
  LEASE_NOT_OWN: 403,
  ROUTE_NOT_FOUND: 404,
  LEASE_NOT_FOUND: 404,
  VM_NOT_FOUND: 404,
  ACCOUNT_NOT_FOUND: 404,
  BLOCK_NOT_FOUND: 404,
  CERTIFICATE_NOT_FOUND: 404,
  UNKNOWN_LEASE: 404,
  METHOD_NOT_ALLOWED: 405,
  LEASE_NOT_CANCELLABLE: 409,
  LEASE_NOT_ATTESTABLE: 409,
  LEASE_NOT_ACCEPTED: 410,
  BODY_TOO_LARGE: 413,
  UPGRADE_REQUIRED: 426,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  PROVIDER_UNREACHABLE: 502,
  TIMEKEEPER_UNAVAILABLE: 503,
  TUNNEL_REPLAY_CACHE_FULL: 503,
  NOT_READY: 503,
  ABORTED: 503,
  ACCEPT_TIMEOUT: 504,
  TIMEOUT: 504,
});

/** An error this package raises; `code` picks the status through `STATUS_BY_CODE`. */
export class ApiError extends XeError<ApiErrorCode> {
  constructor(code: ApiErrorCode, message: string, options: XeErrorOptions = {}) {
    super(code, message, options);
  }
}

/** Tunnel authentication failures (SPEC §11): 401/403/404/410. */
export class TunnelAuthError extends XeError<ApiErrorCode> {
  constructor(code: ApiErrorCode, message: string, options: XeErrorOptions = {}) {
    super(code, message, options);
  }
}

export interface ErrorReply {
  status: number;
  body: { error: string; code: string; retryable: boolean } & Record<string, unknown>;
  /** true when the error was not an expected, coded one (it is logged). */
  unexpected: boolean;
}

function hasOwnCode(code: string): code is ApiErrorCode {
  return Object.hasOwn(STATUS_BY_CODE, code);
}

/**
 * Whether the same request may succeed later (SPEC §11's `retryable`): the error says so,
 * or its status is 429 or 503.
 */
export function isRetryable(err: XeError, status: number): boolean {
  return err.retryable || status === 429 || status === 503;
}

/**
 * Maps any thrown value to a status and `{error, code, retryable}` body. Coded errors go
 * through the table; an unknown code from a ValidationError is a 400; a retryable error
 * with an unknown code is a 503; anything else is a 500 that says no more than
 * "internal error".
 */
export function errorReply(err: unknown): ErrorReply {
  if (err instanceof XeError) {
    let status: number | undefined;
    if (hasOwnCode(err.code)) status = STATUS_BY_CODE[err.code];
    else if (err instanceof ValidationError) status = 400;
    else if (err.retryable) status = 503;
    if (status !== undefined && status !== 500) {
      return { status, body: { error: err.message, code: err.code, retryable: isRetryable(err, status) }, unexpected: false };
    }
  }
  return internal();
}

function internal(): ErrorReply {
  return { status: 500, body: { error: 'internal error', code: ApiErrorCodes.INTERNAL, retryable: false }, unexpected: true };
}
