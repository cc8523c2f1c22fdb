import type { Socket } from 'node:net';
import type { AbortOptions, Clock, ExecResult, Hash, Logger, PubKey, Resources, VmInfo } from '@xe/core-types';

/** Exec timeout when the caller gives none. */
export const DEFAULT_EXEC_TIMEOUT_MS = 60_000;

/** What a VM manager takes besides its options. */
export interface VmManagerComponents {
  logger?: Logger;
  clock?: Clock;
}

export interface ExecOptions extends AbortOptions {
  /** Kill the command (and every process it started) after this long. */
  timeoutMs?: number;
}

/** How a backend applies the lease's CPU and memory limits. */
export interface VmLimits {
  enforced: boolean;
  /** Why limits are not enforced, or how they are. */
  reason: string;
  /** The cgroup v2 directory holding the VM, when enforced by a cgroup. */
  cgroup?: string;
}

/** Backend details of one VM, for operators and tests. */
export interface VmDetails {
  name: string;
  lease_hash: Hash;
  backend: 'sandbox' | 'lima';
  status: VmInfo['status'];
  /** The VM's SSH port on 127.0.0.1, when it is running. */
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
  readonly backend: 'sandbox' | 'lima';
  /**
   * Creates and starts the lease's VM; resolves once its SSH port answers with an SSH
   * banner. The lease's key is installed for root; login is key-only. An aborted
   * signal tears down whatever was started and rejects with ABORTED.
   */
  provision(leaseHash: Hash, resources: Resources, accessPubKey: PubKey, options?: AbortOptions): Promise<VmInfo>;
  /** Stops and deletes the VM and its state. Idempotent: an unknown lease is a no-op. */
  teardown(leaseHash: Hash, options?: AbortOptions): Promise<void>;
  /** Runs `sh -c command` in the VM. Output is capped per stream (marked when cut). */
  exec(leaseHash: Hash, command: string, options?: ExecOptions): Promise<ExecResult>;
  /** A TCP socket connected to the VM's SSH port. */
  dialSsh(leaseHash: Hash, options?: AbortOptions): Promise<Socket>;
  get(leaseHash: Hash, options?: AbortOptions): Promise<VmInfo | undefined>;
  list(options?: AbortOptions): Promise<VmInfo[]>;
  details(leaseHash: Hash, options?: AbortOptions): Promise<VmDetails | undefined>;
  /**
   * Start-up: adopts running VMs whose lease is still active, tears down the others.
   * A provider restart therefore never kills a paid VM.
   */
  reconcile(isLeaseActive: LeaseActivePredicate, options?: AbortOptions): Promise<ReconcileResult>;
}
