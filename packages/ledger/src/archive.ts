import { type AbortOptions, type Logger, type NetworkParams, subU64 } from '@xe/core-types';
import { emitSafely, type LedgerEvents } from './events.js';
import { type Mutation, putLease, supplyOf } from './mutation.js';
import type { Repositories } from './repos/index.js';
import type { AccountState } from './types.js';

export interface ArchiveComponents {
  repos: Repositories;
  params: NetworkParams;
  events: LedgerEvents;
  log: Logger;
  /** finality: only leases whose accept is confirmed are archived */
  isConfirmed?: (hash: string) => Promise<boolean>;
}

/**
 * Archives accepted leases nobody settled or force-settled (SPEC §5): once
 * `now ≥ expiry + escrow_expiry + archive_gap` the escrow is burned, the stake forfeited
 * and the lease becomes `expired`. One batch per lease. Returns the hashes. Callers serialize.
 */
export async function archiveExpired(c: ArchiveComponents, now: bigint, options: AbortOptions = {}): Promise<string[]> {
  const lp = c.params.lease;
  const done: string[] = [];
  for (const lease of await c.repos.leases.inState('accepted', options)) {
    if (now < lease.expiry + lp.escrow_expiry_ns + lp.archive_gap_ns) continue;
    if (c.isConfirmed !== undefined && (lease.accept_hash === undefined || !(await c.isConfirmed(lease.accept_hash)))) continue;
    const m: Mutation = { ops: [], account: undefined as unknown as AccountState, supply: new Map(), leaseChanges: [] };
    const s = supplyOf(m, c.repos, 'XUSD');
    s.pending = subU64(s.pending, lease.cost);
    s.burned += lease.cost;
    s.locked = subU64(s.locked, lease.stake);
    s.forfeited += lease.stake;
    putLease(m, c.repos, lease, { ...lease, state: 'expired', closed_at: now });
    m.ops.push(...c.repos.supply.putOps(m.supply));
    await c.repos.commit(m.ops);
    c.repos.supply.remember(m.supply);
    for (const ev of m.leaseChanges) emitSafely(c.events, c.log, 'lease', ev);
    done.push(lease.hash);
  }
  if (done.length > 0) c.log.info('leases archived', { count: done.length });
  return done;
}
