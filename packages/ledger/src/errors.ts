import { ErrorCodes, XeError, type XeErrorOptions } from '@xe/core-types';

/** Rejection and failure codes of the ledger. Callers branch on these, never on messages. */
export const LedgerErrorCodes = {
  // shape and cryptography
  BAD_SHAPE: 'BAD_SHAPE',
  HASH_MISMATCH: 'HASH_MISMATCH',
  POW_INVALID: 'POW_INVALID',
  SIGNATURE_INVALID: 'SIGNATURE_INVALID',
  MISSING_PUB_KEY: 'MISSING_PUB_KEY',
  UNEXPECTED_PUB_KEY: 'UNEXPECTED_PUB_KEY',
  PUB_KEY_MISMATCH: 'PUB_KEY_MISMATCH',
  TIMESTAMP_OUT_OF_RANGE: 'TIMESTAMP_OUT_OF_RANGE',
  // chain position
  UNKNOWN_PREVIOUS: 'UNKNOWN_PREVIOUS',
  PREVIOUS_MISMATCH: 'PREVIOUS_MISMATCH',
  FORK: 'FORK',
  TIMESTAMP_BEFORE_PREVIOUS: 'TIMESTAMP_BEFORE_PREVIOUS',
  // amounts
  INVALID_AMOUNT: 'INVALID_AMOUNT',
  INSUFFICIENT_BALANCE: 'INSUFFICIENT_BALANCE',
  BALANCE_MISMATCH: 'BALANCE_MISMATCH',
  OVERFLOW: 'OVERFLOW',
  WRONG_ASSET: 'WRONG_ASSET',
  SELF_DESTINATION: 'SELF_DESTINATION',
  // references
  UNKNOWN_SOURCE: 'UNKNOWN_SOURCE',
  SOURCE_NOT_RECEIVABLE: 'SOURCE_NOT_RECEIVABLE',
  ALREADY_RECEIVED: 'ALREADY_RECEIVED',
  NOT_A_LEASE: 'NOT_A_LEASE',
  GENESIS_NOT_ALLOWED: 'GENESIS_NOT_ALLOWED',
  // leases
  INVALID_RESOURCES: ErrorCodes.INVALID_RESOURCES,
  DURATION_OUT_OF_RANGE: 'DURATION_OUT_OF_RANGE',
  UNKNOWN_CERTIFICATE: 'UNKNOWN_CERTIFICATE',
  CERTIFICATE_MISMATCH: 'CERTIFICATE_MISMATCH',
  CERTIFICATE_EXPIRED: 'CERTIFICATE_EXPIRED',
  CERTIFICATE_INVALID: 'CERTIFICATE_INVALID',
  COST_MISMATCH: 'COST_MISMATCH',
  STAKE_MISMATCH: 'STAKE_MISMATCH',
  EMISSION_MISMATCH: 'EMISSION_MISMATCH',
  LOCKED_R_MISMATCH: 'LOCKED_R_MISMATCH',
  WRONG_SIGNER: 'WRONG_SIGNER',
  LEASE_STATE: 'LEASE_STATE',
  /** settle/force-settle of a lease whose accept has not arrived yet (retryable) */
  LEASE_NOT_ACCEPTED: 'LEASE_NOT_ACCEPTED',
  ATTESTATIONS_INVALID: 'ATTESTATIONS_INVALID',
  ACCEPT_WINDOW_PASSED: 'ACCEPT_WINDOW_PASSED',
  SETTLE_TOO_EARLY: 'SETTLE_TOO_EARLY',
  SETTLE_TOO_LATE: 'SETTLE_TOO_LATE',
  FORCE_SETTLE_WINDOW: 'FORCE_SETTLE_WINDOW',
  CANCEL_TOO_EARLY: 'CANCEL_TOO_EARLY',
  // finality (SPEC §12)
  /** a second candidate at a position: held, not applied, until the vote decides */
  FORK_HELD: 'FORK_HELD',
  /** a sibling of a confirmed block: rejected outright */
  FORK_CONFIRMED: 'FORK_CONFIRMED',
  TOO_MANY_CANDIDATES: 'TOO_MANY_CANDIDATES',
  VOTE_INVALID: 'VOTE_INVALID',
  NOT_A_REPRESENTATIVE: 'NOT_A_REPRESENTATIVE',
  VOTE_STALE: 'VOTE_STALE',
  VOTE_EQUIVOCATION: 'VOTE_EQUIVOCATION',
  VOTE_POSITION_MISMATCH: 'VOTE_POSITION_MISMATCH',
  /** a vote signed with this node's own key that it did not cast: the node stops voting */
  OWN_KEY_VOTE: 'OWN_KEY_VOTE',
  CONFIRMATION_INVALID: 'CONFIRMATION_INVALID',
  /** a vote or confirmation for a block not seen yet (held or retryable) */
  UNKNOWN_BLOCK: 'UNKNOWN_BLOCK',
  // ledger and store
  INVALID_BUNDLE: 'INVALID_BUNDLE',
  NETWORK_MISMATCH: 'NETWORK_MISMATCH',
  SCHEMA_MISMATCH: 'SCHEMA_MISMATCH',
  STORE_CLOSED: 'STORE_CLOSED',
  STORE_FAILURE: 'STORE_FAILURE',
  INCONSISTENT: 'INCONSISTENT',
  INTERNAL: 'INTERNAL',
} as const;

export type LedgerErrorCode = (typeof LedgerErrorCodes)[keyof typeof LedgerErrorCodes];

/** Codes of rejections that may succeed later, once a missing dependency arrives. */
export const RETRYABLE_CODES: ReadonlySet<LedgerErrorCode> = new Set<LedgerErrorCode>([
  LedgerErrorCodes.UNKNOWN_PREVIOUS,
  LedgerErrorCodes.UNKNOWN_SOURCE,
  LedgerErrorCodes.UNKNOWN_CERTIFICATE,
  LedgerErrorCodes.LEASE_NOT_ACCEPTED,
  LedgerErrorCodes.UNKNOWN_BLOCK,
]);

/** A block (or certificate) broke a rule; carried inside admission, surfaced as a rejection. */
export class BlockRejection extends XeError<LedgerErrorCode> {
  constructor(code: LedgerErrorCode, message: string, options: XeErrorOptions = {}) {
    super(code, message, { retryable: RETRYABLE_CODES.has(code), ...options });
  }
}

/** Opening a ledger failed: bad bundle, another network, an unknown schema. */
export class LedgerOpenError extends XeError<LedgerErrorCode> {
  constructor(code: LedgerErrorCode, message: string, options: XeErrorOptions = {}) {
    super(code, message, options);
  }
}

/** The store failed or holds data that breaks an invariant. */
export class LedgerStoreError extends XeError<LedgerErrorCode> {
  constructor(code: LedgerErrorCode, message: string, options: XeErrorOptions = {}) {
    super(code, message, options);
  }
}

/** Throws the rejection of a block that broke rule `code`. */
export function reject(code: LedgerErrorCode, message: string): never {
  throw new BlockRejection(code, message);
}
