import { ErrorCodes, XeError, type XeErrorOptions } from '@xe/core-types';

/** Failure codes of the timekeeper package. Callers branch on these, never on messages. */
export const TimekeeperErrorCodes = {
  /** The signer does not know the lease (and could not admit the block it was sent). */
  UNKNOWN_LEASE: 'UNKNOWN_LEASE',
  /** The lease is known but not `created` or `accepted`. */
  LEASE_NOT_ATTESTABLE: 'LEASE_NOT_ATTESTABLE',
  /** This requester already got a signature for this lease in this state within the window. */
  RATE_LIMITED: ErrorCodes.RATE_LIMITED,
  /** The signer's key is not one of the network's timekeepers. */
  NOT_A_TIMEKEEPER: 'NOT_A_TIMEKEEPER',
  /** A malformed request: bad lease hash, or a block that is not the lease named. */
  INVALID_REQUEST: 'INVALID_REQUEST',
  /** A timekeeper answered with an attestation that does not validate. */
  INVALID_ATTESTATION: 'INVALID_ATTESTATION',
  /** Too few timekeepers answered (gatherer) or none did (requestOne). */
  TIMEKEEPER_UNAVAILABLE: 'TIMEKEEPER_UNAVAILABLE',
} as const;

export type TimekeeperErrorCode = (typeof TimekeeperErrorCodes)[keyof typeof TimekeeperErrorCodes];

export class TimekeeperError extends XeError<TimekeeperErrorCode> {
  constructor(code: TimekeeperErrorCode, message: string, options: XeErrorOptions = {}) {
    super(code, message, options);
  }
}

/** One timekeeper's failure inside a TIMEKEEPER_UNAVAILABLE error (`details.failures`). */
export interface TimekeeperFailure {
  public_key: string;
  code: string;
  message: string;
}

export function isTimekeeperError(err: unknown, code?: TimekeeperErrorCode): err is TimekeeperError {
  return err instanceof TimekeeperError && (code === undefined || err.code === code);
}
