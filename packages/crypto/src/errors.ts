import { ErrorCodes, XeError, type XeErrorOptions } from '@xe/core-types';

export const CryptoErrorCodes = {
  INVALID_FIELD: ErrorCodes.INVALID_FIELD,
  OVERFLOW: ErrorCodes.OVERFLOW,
  INVALID_KEY: 'INVALID_KEY',
  INVALID_SIGNATURE: 'INVALID_SIGNATURE',
  HASH_MISMATCH: 'HASH_MISMATCH',
  POW_INVALID: 'POW_INVALID',
  POW_ABORTED: 'POW_ABORTED',
  /** The PoW worker script is missing (package not built) or a worker died. */
  POW_WORKER_UNAVAILABLE: 'POW_WORKER_UNAVAILABLE',
  ATTESTATIONS_TOO_MANY: 'ATTESTATIONS_TOO_MANY',
  ATTESTATIONS_DUPLICATE_KEY: 'ATTESTATIONS_DUPLICATE_KEY',
  ATTESTATIONS_BELOW_THRESHOLD: 'ATTESTATIONS_BELOW_THRESHOLD',
  MEMO_INVALID: ErrorCodes.INVALID_MEMO,
  TUNNEL_TIMESTAMP_STALE: ErrorCodes.TUNNEL_TIMESTAMP_STALE,
  TUNNEL_SIGNATURE_INVALID: ErrorCodes.TUNNEL_SIGNATURE_INVALID,
  TUNNEL_SIGNATURE_REPLAYED: ErrorCodes.TUNNEL_SIGNATURE_REPLAYED,
  TUNNEL_REPLAY_CACHE_FULL: ErrorCodes.TUNNEL_REPLAY_CACHE_FULL,
} as const;

export type CryptoErrorCode = (typeof CryptoErrorCodes)[keyof typeof CryptoErrorCodes];

export class CryptoError extends XeError<CryptoErrorCode> {
  constructor(code: CryptoErrorCode, message: string, options: XeErrorOptions = {}) {
    super(code, message, options);
  }
}
