import {
  type LeaseBlock,
  leaseCost,
  leaseEmission,
  leaseStake,
  MAX_DISK_GB,
  MAX_DURATION_SECS,
  MAX_MEMORY_MB,
  MAX_VCPUS,
} from '@xe/core-types';
import { LedgerErrorCodes as C, reject } from '../errors.js';
import { type Mutation, putLease, supplyOf } from '../mutation.js';
import type { LeaseRecord } from '../types.js';
import { expectBalance, requireAsset, type RuleContext } from './context.js';

/** lease (SPEC §5): escrow the cost (pending, not receivable); lease `created`. */
export async function applyLease(ctx: RuleContext, block: LeaseBlock, m: Mutation): Promise<void> {
  const acct = m.account;
  const lp = ctx.params.lease;
  requireAsset(block, 'XUSD');
  if (block.destination === block.account) reject(C.SELF_DESTINATION, 'destination: equals account');
  const { vcpus, memory_mb, disk_gb, duration } = block;
  if (vcpus === 0n && memory_mb === 0n && disk_gb === 0n) reject(C.INVALID_RESOURCES, 'resources: all zero');
  if (vcpus > BigInt(MAX_VCPUS) || memory_mb > BigInt(MAX_MEMORY_MB) || disk_gb > BigInt(MAX_DISK_GB)) {
    reject(C.INVALID_RESOURCES, 'resources: above the ceilings');
  }
  if (duration < lp.min_duration_secs || duration > MAX_DURATION_SECS) {
    reject(C.DURATION_OUT_OF_RANGE, `duration: must be between ${lp.min_duration_secs} and ${MAX_DURATION_SECS}`);
  }
  const cert = await ctx.repos.certificates.get(block.certificate_hash);
  if (cert === undefined) reject(C.UNKNOWN_CERTIFICATE, `certificate_hash: ${block.certificate_hash} is not known yet`);
  if (cert.provider !== block.destination) reject(C.CERTIFICATE_MISMATCH, 'certificate_hash: a certificate of another provider');
  if (block.timestamp >= cert.expires_at) reject(C.CERTIFICATE_EXPIRED, 'certificate_hash: expired at the lease timestamp');
  const cost = leaseCost({ vcpus, memory_mb, disk_gb, duration, multiplier_milli: cert.price_multiplier_milli });
  if (block.amount !== cost) reject(C.COST_MISMATCH, `amount: cost is ${cost}`);
  const bal = acct.balances.XUSD;
  if (cost > bal) reject(C.INSUFFICIENT_BALANCE, `amount: cost ${cost} exceeds the balance ${bal}`);
  expectBalance(block, bal - cost);
  acct.balances.XUSD = block.balance;
  supplyOf(m, ctx.repos, 'XUSD').pending += cost;
  const record: LeaseRecord = {
    hash: block.hash,
    consumer: block.account,
    provider: block.destination,
    vcpus,
    memory_mb,
    disk_gb,
    duration,
    access_pub_key: block.access_pub_key,
    cost,
    stake: leaseStake(cost, lp.stake_divisor),
    emission: leaseEmission(cost, lp.emission_r_milli),
    multiplier_milli: cert.price_multiplier_milli,
    certificate_hash: block.certificate_hash,
    timestamp: block.timestamp,
    start_time: 0n,
    expiry: 0n,
    state: 'created',
  };
  putLease(m, ctx.repos, null, record);
}
