import type { Asset, Block, Hash, LeaseState } from '@xe/core-types';

export type Balances = Record<Asset, bigint>;

/** Where a block comes from: a live gossip/API block, or history from sync. */
export type Origin = 'live' | 'sync';

/** An account chain's head as stored. */
export interface AccountState {
  address: string;
  pub_key: string;
  frontier: Hash;
  height: bigint;
  balances: Balances;
  /** timestamp of the frontier block */
  last_timestamp: bigint;
}

/** The public view of an account. */
export interface AccountView {
  address: string;
  pub_key?: string;
  frontier: Hash | '0';
  height: bigint;
  balances: Balances;
}

/** Everything the ledger knows about a lease. Integers are bigint; times unix ns. */
export interface LeaseRecord {
  hash: Hash;
  consumer: string;
  provider: string;
  vcpus: bigint;
  memory_mb: bigint;
  disk_gb: bigint;
  /** seconds */
  duration: bigint;
  access_pub_key: string;
  cost: bigint;
  stake: bigint;
  emission: bigint;
  multiplier_milli: bigint;
  certificate_hash: Hash;
  /** the lease block's timestamp */
  timestamp: bigint;
  /** attested start (median of the accept's attestations); 0 until accepted */
  start_time: bigint;
  /** start_time + duration·1e9; 0 until accepted */
  expiry: bigint;
  state: LeaseState;
  accept_hash?: Hash;
  settle_hash?: Hash;
  cancel_hash?: Hash;
  force_settle_hash?: Hash;
  /** attested time of the settle or force-settle; local time of an archive */
  closed_at?: bigint;
}

/** A receivable send waiting for its destination's receive block. */
export interface PendingSend {
  hash: Hash;
  from: string;
  to: string;
  asset: Asset;
  amount: bigint;
}

/** Per-asset supply counters. Identity: balances + pending + locked + burned + forfeited = genesis + emitted. */
export interface SupplyCounters {
  genesis: bigint;
  emitted: bigint;
  burned: bigint;
  forfeited: bigint;
  /** provider stakes of accepted leases (XUSD) */
  locked: bigint;
  /** receivable sends plus lease escrows */
  pending: bigint;
}

export interface SupplyView extends SupplyCounters {
  asset: Asset;
  /** sum of all account balances of the asset */
  balances: bigint;
}

/** Why a block lost its place (finality); absent on first-seen forks. */
export type ConflictReason = 'lost' | 'dependent' | 'confirmed_sibling' | 'invalid';

/**
 * A block that lost: without finality a second block at a taken chain position (first
 * seen wins); with finality a candidate that lost a vote, a block built on one, a sibling
 * of a confirmed block, or a confirmed block that broke a rule when applied.
 */
export interface ConflictRecord {
  account: string;
  previous: Hash | '0';
  /** the block that holds the position */
  existing: Hash;
  /** the rejected (dropped) block's hash */
  rejected: Hash;
  block: Block;
  /** local time of detection */
  detected_at: bigint;
  /** finality: the confirmed block that won (for `dependent`, the winner that dropped its ancestor) */
  winner?: Hash;
  reason?: ConflictReason;
}

/** Before-images of what an applied, unconfirmed block wrote (finality rollback). */
export interface UndoRecord {
  /** apply order: rollbacks run newest first */
  seq: bigint;
  /** key → its value before the block, or null (absent) */
  writes: [Uint8Array, Uint8Array | null][];
  /** supply counters the block added, per asset (subtracted on rollback) */
  supply: [Asset, SupplyCounters][];
}

export interface AddBlockOptions {
  origin: Origin;
  /** local time in ns (defaults to the ledger's clock) */
  now?: bigint;
}

export interface LeaseFilter {
  state?: LeaseState;
  provider?: string;
  consumer?: string;
}

export interface LeasePage extends LeaseFilter {
  offset?: number;
  limit?: number;
}

export interface ProviderUsage {
  vcpus: number;
  memory_mb: number;
  disk_gb: number;
  active_leases: number;
}

export interface FrontierEntry {
  account: string;
  frontier: Hash;
  height: bigint;
}

export interface BlockEvent {
  block: Block;
  origin: Origin | 'genesis';
}

export interface LeaseEvent {
  lease: LeaseRecord;
  previous: LeaseState | null;
}

export interface ConsistencyReport {
  ok: boolean;
  problems: string[];
  blocks: number;
  accounts: number;
  leases: number;
}
