import type { Duplex } from 'node:stream';
import type { AuthorizedKeyLineFn } from './keys.js';
import type { AbortOptions, Clock, ExecResult, Hash, Logger, PubKey, Resources, VmInfo } from '@xe/core-types';

/** Exec timeout when the caller gives none. */
export const DEFAULT_EXEC_TIMEOUT_MS = 60_000;

/** What a VM manager takes besides its options. */
export interface VmManagerComponents {
  logger?: Logger;
  clock?: Clock;
  /**
   * Writes the lease key's `authorized_keys` line from its raw hex public key (the node
   * passes `sshAuthorizedKeyLine` of `@xe/crypto`; this package writes no key format).
   * Required to provision; the line is checked against the key before use.
   */
  authorizedKeyLine?: AuthorizedKeyLineFn;
}

export interface ExecOptions extends AbortOptions {
  /** Kill the command (and every process it started) after this long. */
  timeoutMs?: number;
}

/** The backends. */
export type VmBackend = 'sandbox' | 'qemu' | 'lima';

/** How a backend applies the lease's limits. */
export interface VmLimits {
  /** True when every limit of the lease is enforced. */
  enforced: boolean;
  /** The limits that are not enforced (`memory`, `pids`, `cpu`, `cpuset`, `disk`), empty when all are. */
  not_enforced: string[];
  /** How each limit is applied, or why it is not. */
  reason: string;
  /** cgroup directories the VM's processes join (sandbox). */
  cgroups?: string[];
}

/**
 * The VM object this package returns: SPEC's `{lease_hash, status, resources, created_at}`
 * plus, when known, the VM's SSH host key (a key made for this VM only) as its fingerprint
 * and as one OpenSSH public-key line (`ssh-ed25519 AAAA…`, for a client's known_hosts), and
 * the limits that are not enforced (present only when the operator accepted that).
 */
export interface ProviderVmInfo extends VmInfo {
  /** `SHA256:<base64>`, as `ssh-keygen -l` prints it. */
  host_key_fingerprint?: string;
  /** The VM sshd's host key: `ssh-ed25519 <base64>` (no comment). */
  host_public_key?: string;
  limits_not_enforced?: string[];
}

/** Backend details of one VM, for operators and tests. */
export interface VmDetails {
  name: string;
  lease_hash: Hash;
  backend: VmBackend;
  status: VmInfo['status'];
  /** The VM's SSH port on 127.0.0.1, when it is running and has one (a sealed sandbox has none: use dialSsh). */
  ssh_port?: number;
  /** Host PIDs of the processes that make up the VM (sandbox monitor / Lima host agent). */
  pids: number[];
  limits: VmLimits;
}

/** What start-up reconciliation did, by lease hash. */
export interface ReconcileResult {
  /** Running VMs of active leases, kept. */
  adopted: Hash[];
  /** VMs of leases no longer active (or with no record), torn down. */
  removed: Hash[];
  /** VMs of active leases that were no longer running; their leftovers were removed, so they can be provisioned again. */
  lost: Hash[];
}

/** Whether a lease is still active (accepted and not expired); reconcile keeps its VM. */
export type LeaseActivePredicate = (leaseHash: Hash) => boolean | Promise<boolean>;

/** One VM per lease. Implemented by the Lima backend and the local sandbox backend. */
export interface VmManager {
  readonly backend: VmBackend;
  /**
   * Creates and starts the lease's VM; resolves once its SSH port answers with an SSH
   * banner. The lease's key is installed for root; login is key-only. An aborted
   * signal tears down whatever was started and rejects with ABORTED.
   */
  provision(leaseHash: Hash, resources: Resources, accessPubKey: PubKey, options?: AbortOptions): Promise<ProviderVmInfo>;
  /** Stops and deletes the VM and its state. Idempotent: an unknown lease is a no-op. */
  teardown(leaseHash: Hash, options?: AbortOptions): Promise<void>;
  /** Runs `sh -c command` in the VM. Output is capped per stream (marked when cut). */
  exec(leaseHash: Hash, command: string, options?: ExecOptions): Promise<ExecResult>;
  /**
   * A byte stream to the VM's SSH server (a TCP socket for QEMU and Lima; for the sealed
   * sandbox the stdio of an `sshd -i` started inside the VM). Destroying it ends the session.
   */
  dialSsh(leaseHash: Hash, options?: AbortOptions): Promise<Duplex>;
  get(leaseHash: Hash, options?: AbortOptions): Promise<ProviderVmInfo | undefined>;
  list(options?: AbortOptions): Promise<ProviderVmInfo[]>;
  details(leaseHash: Hash, options?: AbortOptions): Promise<VmDetails | undefined>;
  /**
   * Start-up: adopts running VMs whose lease is still active, tears down the others.
   * A provider restart therefore never kills a paid VM.
   */
  reconcile(isLeaseActive: LeaseActivePredicate, options?: AbortOptions): Promise<ReconcileResult>;
  /**
   * When the provider stops: releases what the manager holds besides the VMs (the sandbox
   * backend's ready sandboxes); the VMs keep running. Optional: backends holding nothing have none.
   */
  close?(): Promise<void>;
}
