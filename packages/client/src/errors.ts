import { ErrorCodes, XeError } from '@xe/core-types';

/**
 * Codes the client raises itself. TIMEOUT and ABORTED are core-types' shared codes; the
 * others name failures with no HTTP answer to carry a code (status 0), or an answer the
 * contract does not describe.
 */
export const ClientErrorCodes = {
  TIMEOUT: ErrorCodes.TIMEOUT,
  ABORTED: ErrorCodes.ABORTED,
  /** a request input the contract refuses; nothing was sent (also MISSING_FIELD, UNKNOWN_FIELD, INVALID_RESOURCES …, as the node would answer) */
  INVALID_FIELD: ErrorCodes.INVALID_FIELD,
  /** no HTTP answer: connection refused, reset, DNS */
  NETWORK_ERROR: 'NETWORK_ERROR',
  /** an answer that is not what the contract says (bad JSON, wrong shape, unknown status) */
  INVALID_RESPONSE: 'INVALID_RESPONSE',
  /** the answer's body exceeded `maxResponseBytes` */
  RESPONSE_TOO_LARGE: 'RESPONSE_TOO_LARGE',
  /** an error status whose body carried no code (a proxy's page, say) */
  HTTP_ERROR: 'HTTP_ERROR',
} as const;

export type ClientErrorCode = (typeof ClientErrorCodes)[keyof typeof ClientErrorCodes];

export interface XeApiErrorOptions {
  status: number;
  retryable: boolean;
  /** the parsed error body, when the node sent one */
  body?: Record<string, unknown>;
  field?: string;
  cause?: unknown;
}

/**
 * Every failure of a client call. `status` is the HTTP status, or 0 when no answer came
 * (TIMEOUT, ABORTED, NETWORK_ERROR, INVALID_FIELD). `code` is the node's code
 * (`LEASE_NOT_FOUND`, `ACCEPT_TIMEOUT`, …) or one of `ClientErrorCodes`; branch on it.
 * `lease_hash` (504 of `POST /lease/request`) and `opens_at` (409 of a cancel) are
 * copied from the body.
 */
export class XeApiError extends XeError {
  readonly status: number;
  readonly body: Record<string, unknown> | undefined;
  /** the lease a timed-out request committed (504 ACCEPT_TIMEOUT) */
  readonly lease_hash: string | undefined;
  /** unix ns at which a refused cancel becomes possible (409) */
  readonly opens_at: bigint | undefined;

  constructor(code: string, message: string, options: XeApiErrorOptions) {
    const base: ConstructorParameters<typeof XeError>[2] = { retryable: options.retryable };
    if (options.cause !== undefined) base.cause = options.cause;
    if (options.field !== undefined) base.field = options.field;
    if (options.body !== undefined) base.details = options.body;
    super(code, message, base);
    this.status = options.status;
    this.body = options.body;
    const leaseHash = options.body?.lease_hash;
    this.lease_hash = typeof leaseHash === 'string' ? leaseHash : undefined;
    const opensAt = options.body?.opens_at;
    this.opens_at = typeof opensAt === 'bigint' ? opensAt : typeof opensAt === 'number' && Number.isSafeInteger(opensAt) ? BigInt(opensAt) : undefined;
  }
}

export function isXeApiError(err: unknown): err is XeApiError {
  return err instanceof XeApiError;
}
