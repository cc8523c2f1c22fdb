import type { Asset, BlockType } from './constants.js';

/** Hex strings: 64 lowercase hex chars unless noted. */
export type Hash = string;
export type Address = string;
export type PubKey = string;
/** 128 lowercase hex chars. */
export type SignatureHex = string;

export interface Attestation {
  public_key: PubKey;
  /** unix ns */
  timestamp: bigint;
  signature: SignatureHex;
}

/** Fields every block carries. Integer fields are bigint (u64, timestamp i64). */
export interface BlockCommon {
  account: Address;
  /** Hash of the previous block of this chain, or "0" for the first. */
  previous: Hash | '0';
  /** Balance of `asset` after this block. */
  balance: bigint;
  /** unix ns */
  timestamp: bigint;
  asset: Asset;
  representative?: Address;
  /** Only on an account's first block; must derive `account`. */
  pub_key?: PubKey;
  signature: SignatureHex;
  hash: Hash;
  /** Absent on genesis blocks. Not hash-bound. */
  pow_nonce?: bigint;
}

export interface SendBlock extends BlockCommon {
  type: 'send';
  destination: Address;
  amount: bigint;
  memo?: string;
}

export interface ReceiveBlock extends BlockCommon {
  type: 'receive';
  source: Hash;
}

export interface LeaseBlock extends BlockCommon {
  type: 'lease';
  destination: Address;
  amount: bigint;
  vcpus: bigint;
  memory_mb: bigint;
  disk_gb: bigint;
  duration: bigint;
  access_pub_key: PubKey;
  certificate_hash: Hash;
}

export interface LeaseAcceptBlock extends BlockCommon {
  type: 'lease_accept';
  source: Hash;
  amount?: bigint;
  locked_r: bigint;
  certificate_hash: Hash;
  attestations: Attestation[];
}

export interface LeaseSettleBlock extends BlockCommon {
  type: 'lease_settle';
  source: Hash;
  amount: bigint;
  attestations: Attestation[];
}

export interface GenesisBlock extends BlockCommon {
  type: 'genesis';
  lease_min_duration_secs?: bigint;
  lease_settle_grace_ns?: bigint;
  lease_force_settle_gap_ns?: bigint;
  lease_escrow_expiry_ns?: bigint;
  lease_archive_gap_ns?: bigint;
  max_attestation_skew_ns?: bigint;
}

export interface LeaseCancelBlock extends BlockCommon {
  type: 'lease_cancel';
  source: Hash;
  attestations: Attestation[];
}

export interface LeaseForceSettleBlock extends BlockCommon {
  type: 'lease_force_settle';
  source: Hash;
  attestations: Attestation[];
}

export type Block =
  | SendBlock
  | ReceiveBlock
  | LeaseBlock
  | LeaseAcceptBlock
  | LeaseSettleBlock
  | GenesisBlock
  | LeaseCancelBlock
  | LeaseForceSettleBlock;

export type BlockOf<T extends BlockType> = Extract<Block, { type: T }>;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A block before hashing and signing (what builders take). */
export type UnsignedBlock = DistributiveOmit<Block, 'hash' | 'signature' | 'pow_nonce'>;

/** The six genesis timing fields, in canonical order. */
export const GENESIS_TIMING_FIELDS = [
  'lease_min_duration_secs',
  'lease_settle_grace_ns',
  'lease_force_settle_gap_ns',
  'lease_escrow_expiry_ns',
  'lease_archive_gap_ns',
  'max_attestation_skew_ns',
] as const;

export const LEASE_STATES = ['created', 'accepted', 'settled', 'unfulfilled', 'expired', 'cancelled'] as const;
export type LeaseState = (typeof LEASE_STATES)[number];

/** States in which a lease is over; the seed's `settled` boolean. */
export const SETTLED_STATES: readonly LeaseState[] = ['settled', 'unfulfilled', 'expired'];

/** The lease object of the HTTP API (SPEC §11). */
export interface Lease {
  lease_hash: Hash;
  consumer: Address;
  provider: Address;
  vcpus: number;
  memory_mb: number;
  disk_gb: number;
  duration: number;
  access_pub_key: PubKey;
  cost: bigint;
  stake: bigint;
  /** unix ns; 0 until accepted */
  start_time: bigint;
  certificate_hash: Hash;
  settled: boolean;
  state: LeaseState;
}

/** The provider object of the HTTP API (SPEC §11). */
export interface Provider {
  address: Address;
  vcpus: number;
  memory_mb: number;
  disk_gb: number;
  active_leases: number;
  available_vcpus: number;
  available_memory_mb: number;
  available_disk_gb: number;
}

export interface Resources {
  vcpus: number;
  memory_mb: number;
  disk_gb: number;
}

/** A provider's performance certificate (SPEC §7). */
export interface Certificate {
  provider: Address;
  provider_pub_key: PubKey;
  score: bigint;
  price_multiplier_milli: bigint;
  issued_at: bigint;
  expires_at: bigint;
  signature: SignatureHex;
  hash: Hash;
}

export const NODE_ROLES = ['consumer', 'provider', 'timekeeper'] as const;
export type NodeRole = (typeof NODE_ROLES)[number];

/** A node's signed record on `xe/nodes` (SPEC §2). */
export interface NodeRecord {
  address: Address;
  pub_key: PubKey;
  peer_id: string;
  multiaddrs: string[];
  roles: NodeRole[];
  timestamp: bigint;
  signature: SignatureHex;
}

export const VM_STATUSES = ['provisioning', 'running', 'stopped', 'error'] as const;
export type VmStatus = (typeof VM_STATUSES)[number];

/** The VM object of the HTTP API (SPEC §11). */
export interface VmInfo {
  lease_hash: Hash;
  status: VmStatus;
  resources: Resources;
  /** unix ns */
  created_at: bigint;
}

export interface ExecResult {
  exit_code: number;
  stdout: string;
  stderr: string;
  /** Set when the stream was cut at the 1 MiB cap. */
  stdout_truncated?: boolean;
  stderr_truncated?: boolean;
  /** Set when the command was killed at its timeout. */
  timed_out?: boolean;
}

/** Lease timing and economics of a network (SPEC §4), all integers. */
export interface LeaseParams {
  min_duration_secs: bigint;
  settle_grace_ns: bigint;
  force_settle_gap_ns: bigint;
  escrow_expiry_ns: bigint;
  archive_gap_ns: bigint;
  max_attestation_skew_ns: bigint;
  accept_window_ns: bigint;
  stake_divisor: bigint;
  emission_r_milli: bigint;
}

export interface TimekeeperSet {
  keys: PubKey[];
  threshold: number;
}

/** A voting representative of the network (SPEC §4, §12). */
export interface Representative {
  address: Address;
  /** > 0 */
  weight: bigint;
}

/** The bundle's `finality`: representatives and quorum (SPEC §4, §12). */
export interface FinalityParams {
  representatives: Representative[];
  /** 51..100: share of the total weight a quorum needs */
  quorum_pct: number;
}

export interface NetworkParams {
  network_id: string;
  pow_difficulty: bigint;
  timekeepers: TimekeeperSet;
  lease: LeaseParams;
}

/** A network: parameters plus the genesis and treasury blocks (SPEC §4). */
export interface GenesisBundle extends NetworkParams {
  /** representatives and quorum (SPEC §4, §12); required */
  finality: FinalityParams;
  blocks: Block[];
}

export interface AbortOptions {
  signal?: AbortSignal;
}

export interface Startable {
  start(): Promise<void>;
  stop(): Promise<void>;
}
