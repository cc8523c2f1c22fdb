import type { Asset, Attestation, Block, LeaseState, NetworkParams } from '@xe/core-types';
import { validateAttestations } from '@xe/crypto';
import { LedgerErrorCodes as C, reject } from '../errors.js';
import type { Repositories } from '../repos/index.js';
import type { LeaseRecord, Origin } from '../types.js';

export type AdmitOrigin = Origin | 'genesis';

/** What a type rule may read: the repositories, the network's parameters, the origin and local time. */
export interface RuleContext {
  repos: Repositories;
  params: NetworkParams;
  origin: AdmitOrigin;
  now: bigint;
}

export function expectBalance(block: Block, expected: bigint): void {
  if (block.balance !== expected) reject(C.BALANCE_MISMATCH, `balance: expected ${expected}, block says ${block.balance}`);
}

export function requireAsset(block: Block, asset: Asset): void {
  if (block.asset !== asset) reject(C.WRONG_ASSET, `asset: a ${block.type} block is ${asset}`);
}

export function requireState(lease: LeaseRecord, state: LeaseState): void {
  // the accept lives on the provider's chain and may simply not have arrived yet
  if (state === 'accepted' && lease.state === 'created') reject(C.LEASE_NOT_ACCEPTED, 'lease is not accepted (yet)');
  if (lease.state !== state) reject(C.LEASE_STATE, `lease is ${lease.state}, needs ${state}`);
}

/** The attested time of a lease-family block's attestations (SPEC §8). */
export function attested(ctx: RuleContext, list: Attestation[], leaseHash: string): bigint {
  try {
    return validateAttestations(list, leaseHash, ctx.params.timekeepers, {
      now: ctx.now,
      skewNs: ctx.params.lease.max_attestation_skew_ns,
      checkSkew: ctx.origin === 'live',
    });
  } catch (err) {
    reject(C.ATTESTATIONS_INVALID, (err as Error).message);
  }
}

/** The lease a lease-family block names; unknown → retryable, another block type → not a lease. */
export async function leaseFor(ctx: RuleContext, source: string): Promise<LeaseRecord> {
  const lease = await ctx.repos.leases.get(source);
  if (lease !== undefined) return lease;
  if (await ctx.repos.blocks.has(source)) reject(C.NOT_A_LEASE, 'source: not a lease block');
  reject(C.UNKNOWN_SOURCE, `source: ${source} is not known yet`);
}
