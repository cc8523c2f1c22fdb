import {
  addU64,
  type LeaseAcceptBlock,
  type LeaseCancelBlock,
  type LeaseForceSettleBlock,
  type LeaseParams,
  type LeaseSettleBlock,
  NS_PER_SEC,
  subU64,
} from '@xe/core-types';
import { LedgerErrorCodes as C, reject } from '../errors.js';
import { type Mutation, putLease, supplyOf } from '../mutation.js';
import type { LeaseRecord } from '../types.js';
import { attested, expectBalance, leaseFor, requireAsset, requireState, type RuleContext } from './context.js';

/** lease_accept (SPEC §5): the provider stakes; the attested median is the start. */
export async function applyAccept(ctx: RuleContext, block: LeaseAcceptBlock, m: Mutation): Promise<void> {
  const acct = m.account;
  const lp = ctx.params.lease;
  requireAsset(block, 'XUSD');
  const lease = await leaseFor(ctx, block.source);
  if (block.account !== lease.provider) reject(C.WRONG_SIGNER, 'account: not the lease provider');
  requireState(lease, 'created');
  const amount = block.amount ?? 0n;
  if (amount !== lease.stake) reject(C.STAKE_MISMATCH, `amount: stake is ${lease.stake}`);
  if (block.certificate_hash !== lease.certificate_hash) reject(C.CERTIFICATE_MISMATCH, "certificate_hash: not the lease's");
  if (block.locked_r !== lp.emission_r_milli) reject(C.LOCKED_R_MISMATCH, `locked_r: the network's R is ${lp.emission_r_milli}`);
  const t = attested(ctx, block.attestations, lease.hash);
  if (t > lease.timestamp + lp.accept_window_ns) reject(C.ACCEPT_WINDOW_PASSED, 'attested start is after the accept window');
  const bal = acct.balances.XUSD;
  if (amount > bal) reject(C.INSUFFICIENT_BALANCE, `amount: stake ${amount} exceeds the balance ${bal}`);
  expectBalance(block, bal - amount);
  acct.balances.XUSD = block.balance;
  supplyOf(m, ctx.repos, 'XUSD').locked += amount;
  const next: LeaseRecord = {
    ...lease,
    state: 'accepted',
    start_time: t,
    expiry: addU64(t, lease.duration * NS_PER_SEC),
    accept_hash: block.hash,
  };
  putLease(m, ctx.repos, lease, next);
}

/** lease_settle (SPEC §5): emission to the provider, stake back, escrow burned. */
export async function applySettle(ctx: RuleContext, block: LeaseSettleBlock, m: Mutation): Promise<void> {
  const acct = m.account;
  const lp = ctx.params.lease;
  requireAsset(block, 'XE');
  const lease = await leaseFor(ctx, block.source);
  if (block.account !== lease.provider) reject(C.WRONG_SIGNER, 'account: not the lease provider');
  requireState(lease, 'accepted');
  const t = attested(ctx, block.attestations, lease.hash);
  if (t < lease.expiry) reject(C.SETTLE_TOO_EARLY, 'attested time is before the lease expiry');
  if (t > lease.expiry + lp.settle_grace_ns) reject(C.SETTLE_TOO_LATE, 'attested time is after the settle grace');
  if (block.amount !== lease.emission) reject(C.EMISSION_MISMATCH, `amount: emission is ${lease.emission}`);
  expectBalance(block, addU64(acct.balances.XE, lease.emission));
  acct.balances.XE = block.balance;
  acct.balances.XUSD = addU64(acct.balances.XUSD, lease.stake);
  const xe = supplyOf(m, ctx.repos, 'XE');
  xe.emitted += lease.emission;
  const xusd = supplyOf(m, ctx.repos, 'XUSD');
  xusd.locked = subU64(xusd.locked, lease.stake);
  xusd.pending = subU64(xusd.pending, lease.cost);
  xusd.burned += lease.cost;
  putLease(m, ctx.repos, lease, { ...lease, state: 'settled', settle_hash: block.hash, closed_at: t });
}

/** The earliest attested time at which a lease of `leaseTimestamp` can be cancelled (SPEC §5). */
export function cancelOpensAt(leaseTimestamp: bigint, lp: Pick<LeaseParams, 'accept_window_ns' | 'max_attestation_skew_ns'>): bigint {
  return leaseTimestamp + lp.accept_window_ns + lp.max_attestation_skew_ns;
}

/** lease_cancel (SPEC §5): an unaccepted lease refunded to the consumer, once attested time says the accept window is over. */
export async function applyCancel(ctx: RuleContext, block: LeaseCancelBlock, m: Mutation): Promise<void> {
  const lease = await consumersLease(ctx, block, 'created');
  // the attested time decides (SPEC §5 amended); the consumer's own timestamp decides nothing
  const t = attested(ctx, block.attestations, lease.hash);
  if (t < cancelOpensAt(lease.timestamp, ctx.params.lease)) reject(C.CANCEL_TOO_EARLY, 'attested time is before lease timestamp + accept window + skew');
  refundEscrow(ctx, block, m, lease);
  putLease(m, ctx.repos, lease, { ...lease, state: 'cancelled', cancel_hash: block.hash, closed_at: t });
}

/** lease_force_settle (SPEC §5): the provider never settled; refund, stake forfeited. */
export async function applyForceSettle(ctx: RuleContext, block: LeaseForceSettleBlock, m: Mutation): Promise<void> {
  const lp = ctx.params.lease;
  const lease = await consumersLease(ctx, block, 'accepted');
  const t = attested(ctx, block.attestations, lease.hash);
  if (t < lease.expiry + lp.settle_grace_ns + lp.force_settle_gap_ns || t >= lease.expiry + lp.escrow_expiry_ns) {
    reject(C.FORCE_SETTLE_WINDOW, 'attested time is outside the force-settle window');
  }
  const s = refundEscrow(ctx, block, m, lease);
  s.locked = subU64(s.locked, lease.stake);
  s.forfeited += lease.stake;
  putLease(m, ctx.repos, lease, { ...lease, state: 'unfulfilled', force_settle_hash: block.hash, closed_at: t });
}

/** The lease a consumer's cancel or force-settle names: XUSD, signed by the lease's consumer, in `state`. */
async function consumersLease(ctx: RuleContext, block: LeaseCancelBlock | LeaseForceSettleBlock, state: LeaseRecord['state']): Promise<LeaseRecord> {
  requireAsset(block, 'XUSD');
  const lease = await leaseFor(ctx, block.source);
  if (block.account !== lease.consumer) reject(C.WRONG_SIGNER, 'account: not the lease consumer');
  requireState(lease, state);
  return lease;
}

/** The escrowed cost back to the consumer (its balance and the XUSD pending counter); returns the XUSD supply counters. */
function refundEscrow(ctx: RuleContext, block: LeaseCancelBlock | LeaseForceSettleBlock, m: Mutation, lease: LeaseRecord) {
  expectBalance(block, addU64(m.account.balances.XUSD, lease.cost));
  m.account.balances.XUSD = block.balance;
  const s = supplyOf(m, ctx.repos, 'XUSD');
  s.pending = subU64(s.pending, lease.cost);
  return s;
}
