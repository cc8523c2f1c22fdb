export { Bucket, FINALITY_LOCAL_BUCKETS, STATE_BYTES } from './buckets.js';
export {
  buildAccept,
  buildCancel,
  buildForceSettle,
  buildLease,
  buildReceive,
  buildSend,
  buildSettle,
  emptyHead,
} from './builders.js';
export { type ConfirmedAccount, type ConfirmedBalances, ConfirmedView, MAX_UNCONFIRMED_SCANNED } from './confirmed-view.js';
export type { StoredBlockSummary } from './codec.js';
export { stateDigest } from './consistency.js';
export {
  BlockRejection,
  LedgerErrorCodes,
  type LedgerErrorCode,
  LedgerOpenError,
  LedgerStoreError,
  RETRYABLE_CODES,
} from './errors.js';
export { type CreateGenesisOptions, createGenesisBundle, DEFAULT_GENESIS_SUPPLY, DEFAULT_QUORUM_PCT, type GenesisAllocation } from './genesis.js';
export type { CertificateResult } from './admission/certificate.js';
export { LedgerEvents, type LedgerEventMap } from './events.js';
export { Election, type Tally, type VoteIntake } from './finality/election.js';
export {
  type ConfirmationResult,
  type FinalityOptions,
  MAX_ELECTIONS,
  MAX_HELD_VOTES,
  type TickResult,
  type VoteResult,
} from './finality/engine.js';
export { namedBy, positionsOf } from './finality/positions.js';
export { type ConfirmationCheck, verifyConfirmation } from './finality/verify.js';
export { checkConsistency, Ledger, type LedgerOptions, SCHEMA_VERSION } from './ledger.js';
export { toApiLease } from './lease-view.js';
export { cancelOpensAt } from './rules/outcome.js';
export { sealBlock } from './seal.js';
export { LevelStore } from './level-store.js';
export { type BatchOp, MemoryStore, type RangeOptions, type Store } from './store.js';
export type * from './types.js';
