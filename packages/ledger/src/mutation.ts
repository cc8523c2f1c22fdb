import type { Asset } from '@xe/core-types';
import type { Repositories } from './repos/index.js';
import type { BatchOp } from './store.js';
import type { AccountState, LeaseEvent, LeaseRecord, SupplyCounters } from './types.js';

/** One block's (or one archive step's) effects, assembled before the batch is written. */
export interface Mutation {
  ops: BatchOp[];
  /** the head of the block's account, changed in place (undefined for an archive step) */
  account: AccountState;
  supply: Map<Asset, SupplyCounters>;
  leaseChanges: LeaseEvent[];
}

export function newMutation(account: AccountState): Mutation {
  return { ops: [], account, supply: new Map(), leaseChanges: [] };
}

/** The mutation's working copy of `asset`'s supply counters. */
export function supplyOf(m: Mutation, repos: Repositories, asset: Asset): SupplyCounters {
  let s = m.supply.get(asset);
  if (!s) {
    s = repos.supply.copyOf(asset);
    m.supply.set(asset, s);
  }
  return s;
}

/** Writes a lease record and moves its index entries; queues the state-change event. */
export function putLease(m: Mutation, repos: Repositories, before: LeaseRecord | null, after: LeaseRecord): void {
  m.ops.push(...repos.leases.putOps(before, after));
  m.leaseChanges.push({ lease: after, previous: before?.state ?? null });
}
