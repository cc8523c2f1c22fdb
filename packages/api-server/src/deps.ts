import type { Duplex } from 'node:stream';
import type {
  AbortOptions,
  Address,
  AdmitResult,
  Asset,
  Attestation,
  Block,
  Certificate,
  ExecResult,
  Hash,
  Lease,
  LeaseState,
  NetworkParams,
  NodeRole,
  Provider,
  PubKey,
  SignatureHex,
  VmInfo,
} from '@xe/core-types';

/** `POST /lease/request`, validated: resources within the core-types ceilings, duration within the network's bounds. */
export interface LeaseRequest {
  vcpus: number;
  memory_mb: number;
  disk_gb: number;
  /** seconds */
  duration: number;
  access_pub_key: PubKey;
}

export interface NodeCertificateInfo {
  hash: Hash;
  /** unix ns */
  expires_at: bigint;
  valid: boolean;
}

export interface NodeCounts {
  blocks: number;
  accounts: number;
  leases: number;
  vms: number;
}

/** XE's `lease_timing` of `GET /node`: the network's lease timing parameters (SPEC §4). */
export interface LeaseTiming {
  min_duration_secs: bigint;
  settle_grace_ns: bigint;
  force_settle_gap_ns: bigint;
  escrow_expiry_ns: bigint;
  archive_gap_ns: bigint;
  max_attestation_skew_ns: bigint;
}

/** `GET /node`'s `finality` (SPEC §12). */
export interface FinalityInfo {
  quorum_pct: number;
  total_weight: bigint;
  online_weight: bigint;
  representatives: number;
  online_representatives: number;
  confirmed_blocks: bigint;
  unconfirmed_blocks: bigint;
  open_conflicts: number;
}

export interface NodeInfo {
  name: string;
  version: string;
  network_id: string;
  address: Address;
  peer_id: string;
  roles: NodeRole[];
  /** connected peers */
  peers: number;
  multiaddrs: string[];
  counts: NodeCounts;
  /** The node's provider certificate; null when it has none (not a provider). */
  certificate: NodeCertificateInfo | null;
  /** XE: the libp2p peer id (the same as `peer_id`) */
  id: string;
  /** XE: the node's Ed25519 public key */
  public_key: PubKey;
  /** XE: connected peers (the same as `peers`) */
  peer_count: number;
  /** XE: 16 lowercase hex chars, `"0"` when proof of work is off */
  pow_difficulty: string;
  lease_timing: LeaseTiming;
  pow_algorithm: 'blake3';
  finality: FinalityInfo;
}

/** A provider of `GET /providers`: the seed's fields and XE's. */
export interface ProviderInfo extends Provider {
  /** XE: the same as `address` */
  account: Address;
  used_vcpus: number;
  used_memory_mb: number;
  used_disk_gb: number;
  /** every lease this provider accepted */
  total_leases: number;
}

/** A stored block as the API serves it: the block and whether it is confirmed (SPEC §12). */
export type StoredBlock = Block & { confirmed: boolean };

/**
 * An account's chain as applied, confirmed or not (SPEC §12): what a client builds the
 * account's next block on.
 */
export interface AccountHead {
  /** the newest block ('0': no blocks) */
  frontier: Hash | '0';
  /** the chain length */
  height: bigint;
  /** balances after the newest block */
  balances: Record<Asset, bigint>;
}

/** `GET /accounts/{address}/balance` (XE): confirmed balances, plus the head. */
export interface BalanceInfo {
  address: Address;
  /** as the account's newest confirmed block left them */
  balances: Record<Asset, bigint>;
  /** per asset the smaller of the confirmed and the head balance (an unconfirmed debit is not spent twice) */
  spendable: Record<Asset, bigint>;
  /** the height of the account's newest confirmed block (0: none) */
  final_height: bigint;
  head: AccountHead;
}

/** `GET /accounts/{address}/chain` (XE): newest first. */
export interface ChainPage {
  address: Address;
  /** the full chain length */
  total: bigint;
  blocks: StoredBlock[];
}

/** `GET /pending/{address}`'s entries, in XE's key spelling. */
export interface PendingEntry {
  SendHash: Hash;
  /** the sending account */
  Source: Address;
  Destination: Address;
  Amount: bigint;
  Asset: Asset;
}

export interface Readiness {
  synced: boolean;
  peered: boolean;
  timekeepers_reachable: boolean;
  /** all of the above that this node's roles need */
  ready: boolean;
}

/** `GET /accounts/{address}`: the account at its newest confirmed block, plus the head. */
export interface AccountInfo {
  address: Address;
  /** µ-units per asset, as the newest confirmed block left them */
  balances: Record<Asset, bigint>;
  /** confirmed sends to the account that no confirmed receive took, per asset */
  pending: Record<Asset, bigint>;
  /** the newest confirmed block ('0' while none is confirmed) */
  frontier: Hash | '0';
  /** its height */
  block_count: number;
  head: AccountHead;
}

export interface CancelLeaseResult {
  lease_hash: Hash;
  state: 'cancelled';
  /** hash of the committed lease_cancel block */
  block_hash: Hash;
}

/** A fork seen by the ledger (SPEC §3.4): the first block was kept, the other rejected. */
export interface ConflictRecord {
  account: Address;
  previous: Hash | '0';
  kept: Hash;
  rejected: Hash;
  /** unix ns */
  detected_at: bigint;
}

export interface TunnelAuth {
  /** X-Timestamp, unix ns */
  timestamp: bigint;
  /** X-Signature, 128 lowercase hex; the provider checks it again */
  signature: SignatureHex;
}

export interface ExecOptions extends AbortOptions {
  /** from the request's `timeout_ms`; absent → the implementation's default */
  timeoutMs?: number;
}

export interface LeaseQuery {
  state?: LeaseState;
  offset: number;
  limit: number;
}

/** `GET /events`: one client's subscription to the node's event feed (SPEC §11). */
export interface EventSubscription {
  /**
   * The next piece of `text/event-stream` text: the events queued for this client (a
   * bounded batch), or a heartbeat comment after an idle while; undefined once the stream
   * ends (after `overflow`, on shutdown, after `close`). Never rejects.
   */
  next(): Promise<string | undefined>;
  /** Ends the subscription (the client went away); a pending `next` resolves undefined. */
  close(): void;
}

/**
 * What the HTTP API needs from the node; `apps/node` implements it. Failures are
 * `XeError`s whose `code` the API maps to a status (`STATUS_BY_CODE`); an error with
 * another code is a 500 (or a 503 when `retryable`).
 */
export interface ApiDeps {
  /** The network's parameters (duration bounds, skew of the tunnel auth). */
  network(): NetworkParams;
  nodeInfo(): NodeInfo;
  readiness(): Promise<Readiness>;

  /** Oldest first. */
  listLeases(query: LeaseQuery): Promise<Lease[]>;
  getLease(hash: Hash): Promise<Lease | undefined>;
  listProviders(): Promise<ProviderInfo[]>;
  /** Resolves once the lease is accepted. Rejects NO_PROVIDERS, INSUFFICIENT_BALANCE, ACCEPT_TIMEOUT (`details.lease_hash`). */
  requestLease(request: LeaseRequest, options: AbortOptions): Promise<{ lease_hash: Hash }>;
  /**
   * Rejects LEASE_NOT_FOUND, LEASE_NOT_OWN (403), LEASE_NOT_CANCELLABLE (409; with
   * `details.opens_at`, unix ns, when the cancel window is not open yet).
   */
  cancelLease(hash: Hash, options: AbortOptions): Promise<CancelLeaseResult>;
  /**
   * Rejects LEASE_NOT_FOUND, TIMEKEEPER_UNAVAILABLE. `requester` is the client's IP, the key
   * of the timekeeper's per-requester rate limit (SPEC §8).
   */
  requestAttestation(leaseHash: Hash, options: AbortOptions & { requester?: string }): Promise<Attestation>;

  listVms(): Promise<VmInfo[]>;
  getVm(leaseHash: Hash): Promise<VmInfo | undefined>;
  /** Runs `sh -c command` in the lease's VM. Rejects VM_NOT_FOUND. */
  execVm(leaseHash: Hash, command: string, options: ExecOptions): Promise<ExecResult>;
  /**
   * Opens a byte stream to the lease VM's SSH port (through the provider's node). Called
   * after the entry checks passed; rejects PROVIDER_UNREACHABLE (502) or another coded error.
   */
  openTunnel(leaseHash: Hash, auth: TunnelAuth, options: AbortOptions): Promise<Duplex>;

  account(address: Address): Promise<AccountInfo | undefined>;
  /**
   * Admits a parsed block (and gossips it when accepted). A `rejected` result is answered
   * `{error, code, retryable}`: 503 when `retryable`, otherwise 400.
   */
  submitBlock(block: Block, options: AbortOptions): Promise<AdmitResult>;
  conflicts(): Promise<ConflictRecord[]>;

  /** A stored block and whether it is confirmed; undefined when unknown. */
  getBlock(hash: Hash): Promise<StoredBlock | undefined>;
  /** The newest blocks across the lattice, newest first (by timestamp, then hash); `since`: only later ones (unix ns). */
  recentBlocks(query: { limit: number; since?: bigint }): Promise<StoredBlock[]>;
  /** An account with no blocks answers zeros. */
  balance(address: Address): Promise<BalanceInfo>;
  /** Newest first; `offset` counts from the newest block. An account with no blocks: total 0. */
  chain(address: Address, page: { offset: number; limit: number }): Promise<ChainPage>;
  /** Confirmed sends the account's head has not received (at most 1000). */
  pending(address: Address): Promise<PendingEntry[]>;
  /** The provider's newest unexpired certificate. */
  certificateOf(provider: Address): Promise<Certificate | undefined>;
  /** A certificate by its hash, expired ones included. */
  certificateByHash(hash: Hash): Promise<Certificate | undefined>;

  /**
   * `GET /events`: a subscription from now, or resumed after `lastEventId` (an id older than
   * what the node keeps gets a `reset` event first). `onOverflow` is called when the client
   * fell too far behind: its stream ends after an `overflow` event, and the server closes a
   * connection that does not take even that.
   */
  subscribeEvents(lastEventId: bigint | undefined, onOverflow: () => void): EventSubscription;
}
