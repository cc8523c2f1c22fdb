export { toApiLease } from './api.js';
export { Bucket, STATE_BYTES } from './buckets.js';
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
export { checkConsistency, stateDigest } from './consistency.js';
export {
  BlockRejection,
  LedgerErrorCodes,
  type LedgerErrorCode,
  LedgerOpenError,
  LedgerStoreError,
  RETRYABLE_CODES,
} from './errors.js';
export { type CreateGenesisOptions, createGenesisBundle, DEFAULT_GENESIS_SUPPLY, type GenesisAllocation } from './genesis.js';
export { Ledger, LedgerEvents, type LedgerEventMap, type LedgerOptions, SCHEMA_VERSION } from './ledger.js';
export { sealBlock } from './seal.js';
export { LevelStore } from './level-store.js';
export { type BatchOp, MemoryStore, type RangeOptions, type Store } from './store.js';
export type * from './types.js';
