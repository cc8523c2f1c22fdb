import { XeError, type XeErrorOptions } from '@xe/core-types';

export const CryptoErrorCodes = {
  INVALID_KEY: 'INVALID_KEY',
  INVALID_SIGNATURE: 'INVALID_SIGNATURE',
  HASH_MISMATCH: 'HASH_MISMATCH',
  POW_INVALID: 'POW_INVALID',
  POW_ABORTED: 'POW_ABORTED',
  ATTESTATIONS_TOO_MANY: 'ATTESTATIONS_TOO_MANY',
  ATTESTATIONS_DUPLICATE_KEY: 'ATTESTATIONS_DUPLICATE_KEY',
  ATTESTATIONS_BELOW_THRESHOLD: 'ATTESTATIONS_BELOW_THRESHOLD',
  MEMO_INVALID: 'INVALID_MEMO',
} as const;

export type CryptoErrorCode = (typeof CryptoErrorCodes)[keyof typeof CryptoErrorCodes];

export class CryptoError extends XeError<CryptoErrorCode> {
  constructor(code: CryptoErrorCode, message: string, options: XeErrorOptions = {}) {
    super(code, message, options);
  }
}
