import type { Duplex } from 'node:stream';
import type {
  AbortOptions,
  Address,
  AdmitResult,
  Asset,
  Attestation,
  Block,
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
}

export interface Readiness {
  synced: boolean;
  peered: boolean;
  timekeepers_reachable: boolean;
  /** all of the above that this node's roles need */
  ready: boolean;
}

export interface AccountInfo {
  address: Address;
  /** µ-units per asset */
  balances: Record<Asset, bigint>;
  /** receivable sends not yet received, per asset */
  pending: Record<Asset, bigint>;
  /** hash of the chain's last block */
  frontier: Hash;
  block_count: number;
}

export interface CancelLeaseResult {
  lease_hash: Hash;
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
  listProviders(): Promise<Provider[]>;
  /** Resolves once the lease is accepted. Rejects NO_PROVIDERS, INSUFFICIENT_BALANCE, ACCEPT_TIMEOUT (`details.lease_hash`). */
  requestLease(request: LeaseRequest, options: AbortOptions): Promise<{ lease_hash: Hash }>;
  /** Rejects LEASE_NOT_FOUND, LEASE_NOT_CANCELLABLE. */
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
}
