/**
 * The base error of every package. Callers branch on `code`, never on the message.
 * Each package adds its own codes in its `errors.ts`; a code that more than one package
 * raises is defined here, once, and the packages' tables refer to it.
 */
export const ErrorCodes = {
  INVALID_JSON: 'INVALID_JSON',
  INVALID_FIELD: 'INVALID_FIELD',
  MISSING_FIELD: 'MISSING_FIELD',
  UNKNOWN_FIELD: 'UNKNOWN_FIELD',
  UNKNOWN_BLOCK_TYPE: 'UNKNOWN_BLOCK_TYPE',
  INVALID_MEMO: 'INVALID_MEMO',
  OVERFLOW: 'OVERFLOW',
  INVALID_NETWORK_PARAMS: 'INVALID_NETWORK_PARAMS',
  INVALID_RESOURCES: 'INVALID_RESOURCES',
  /** The caller's signal aborted the operation. */
  ABORTED: 'ABORTED',
  /** A deadline passed before an answer came. */
  TIMEOUT: 'TIMEOUT',
  /** Too many requests from one requester; retry later. */
  RATE_LIMITED: 'RATE_LIMITED',
  INTERNAL: 'INTERNAL',
  // Tunnel authentication (SPEC §11): raised by @xe/crypto's checker, answered by the API.
  /** `X-Timestamp` or `X-Signature` missing. */
  TUNNEL_AUTH_MISSING: 'TUNNEL_AUTH_MISSING',
  /** The timestamp is malformed or farther from the clock than the skew. */
  TUNNEL_TIMESTAMP_STALE: 'TUNNEL_TIMESTAMP_STALE',
  /** Not a signature by the lease's access key. */
  TUNNEL_SIGNATURE_INVALID: 'TUNNEL_SIGNATURE_INVALID',
  /** The signature opened a tunnel before. */
  TUNNEL_SIGNATURE_REPLAYED: 'TUNNEL_SIGNATURE_REPLAYED',
  /** The replay cache is full of live entries; retry later. */
  TUNNEL_REPLAY_CACHE_FULL: 'TUNNEL_REPLAY_CACHE_FULL',
} as const;

export type SharedErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface XeErrorOptions {
  cause?: unknown;
  /** The field (dotted path) the error is about, when it is about one. */
  field?: string;
  /** Whether retrying later may succeed (a missing dependency, a busy peer). */
  retryable?: boolean;
  details?: Record<string, unknown>;
}

export class XeError<C extends string = string> extends Error {
  readonly code: C;
  readonly field: string | undefined;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: C, message: string, options: XeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.field = options.field;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }
}

/** A malformed value: bad JSON, a field of the wrong shape, an unknown type. */
export class ValidationError extends XeError {
  constructor(code: string, message: string, options: XeErrorOptions = {}) {
    super(code, message, options);
  }
}

export function isXeError(err: unknown): err is XeError {
  return err instanceof XeError;
}

/** An AbortSignal's reason as a coded error. */
export function abortError(signal?: AbortSignal): XeError {
  const reason = signal?.reason;
  if (reason instanceof XeError) return reason;
  return new XeError(ErrorCodes.ABORTED, 'operation aborted', { cause: reason });
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortError(signal);
}
