import type { Duplex } from 'node:stream';
import type { AbortOptions, Attestation, Block, Certificate, JsonValue, Resources, VmInfo } from '@xe/core-types';

/** What the lease services need of the network; the composition root implements it over @xe/gossip. */
export interface NetPort {
  publishBlock(block: Block): Promise<void>;
  publishMarketplace(msg: Record<string, unknown>): Promise<void>;
  publishCertificate(cert: Certificate): Promise<void>;
  /** A request/response call to the node whose ledger address is `address`. */
  requestByAddress(address: string, protocol: string, req: JsonValue, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<JsonValue>;
  /** A raw stream to the node whose ledger address is `address`. */
  openStreamByAddress(address: string, protocol: string, opts: { signal?: AbortSignal }): Promise<Duplex>;
}

/** What the lease services need of the timekeepers. */
export interface AttestPort {
  gather(req: { lease_hash: string; block: Block }, opts: { signal?: AbortSignal }): Promise<Attestation[]>;
}

/** What the provider service needs of the VM backend (a `VmManager` of @xe/lima-provider fits). */
export interface VmPort {
  provision(leaseHash: string, resources: Resources, accessPubKey: string, options?: AbortOptions): Promise<VmInfo>;
  teardown(leaseHash: string, options?: AbortOptions): Promise<void>;
  get(leaseHash: string, options?: AbortOptions): Promise<VmInfo | undefined>;
  /** Keeps the VMs of active leases, removes the rest (see `VmManager.reconcile`). */
  reconcile(isLeaseActive: (leaseHash: string) => boolean | Promise<boolean>, options?: AbortOptions): Promise<{ adopted: string[]; removed: string[]; lost: string[] }>;
  /** When the provider stops: releases what the backend holds besides the VMs (ready sandboxes and their disks). */
  close?(): Promise<void>;
}

/** What the provider service needs of the tunnel server. */
export interface TunnelPort {
  /** Closes every open tunnel of a lease. */
  closeLease(leaseHash: string): void;
}

/**
 * One-shot timers measured on the same time line as the injected `Clock`. The services
 * never call `setTimeout` themselves, so a test's fake clock can drive every delay.
 */
export interface Timers {
  /** Calls `fn` once, `ms` from now; the returned function cancels it. A timer never keeps the process alive. */
  after(ms: number, fn: () => void): () => void;
}
