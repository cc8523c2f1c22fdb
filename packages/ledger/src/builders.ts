import {
  type Asset,
  type Attestation,
  type Certificate,
  type LeaseParams,
  leaseCost,
  subU64,
  addU64,
  type UnsignedBlock,
} from '@xe/core-types';
import type { AccountView, LeaseRecord, PendingSend } from './types.js';

/**
 * Unsigned block builders: they fill `previous`, `balance`, `amount` and (on an opening
 * block) `pub_key` from the account's current head. Sign with `@xe/crypto`'s `signBlock`
 * and add PoW with `attachPow`.
 */

/** The head of an account that has no block yet. */
export function emptyHead(address: string, pubKey: string): AccountView {
  return { address, pub_key: pubKey, frontier: '0', height: 0n, balances: { XE: 0n, XUSD: 0n } };
}

function common(head: AccountView, asset: Asset, balance: bigint, timestamp: bigint) {
  const base = { account: head.address, previous: head.frontier, balance, timestamp, asset };
  if (head.height === 0n) {
    if (head.pub_key === undefined) throw new TypeError('an opening block needs the head to carry pub_key');
    return { ...base, pub_key: head.pub_key };
  }
  return base;
}

export function buildSend(
  head: AccountView,
  f: { destination: string; asset: Asset; amount: bigint; timestamp: bigint; memo?: string },
): UnsignedBlock {
  const b: UnsignedBlock = {
    type: 'send',
    ...common(head, f.asset, subU64(head.balances[f.asset], f.amount), f.timestamp),
    destination: f.destination,
    amount: f.amount,
  };
  if (f.memo !== undefined) (b as { memo?: string }).memo = f.memo;
  return b;
}

export function buildReceive(head: AccountView, pending: PendingSend, timestamp: bigint): UnsignedBlock {
  return {
    type: 'receive',
    ...common(head, pending.asset, addU64(head.balances[pending.asset], pending.amount), timestamp),
    source: pending.hash,
  };
}

export function buildLease(
  head: AccountView,
  f: {
    certificate: Certificate;
    vcpus: bigint;
    memory_mb: bigint;
    disk_gb: bigint;
    duration: bigint;
    access_pub_key: string;
    timestamp: bigint;
  },
): UnsignedBlock {
  const cost = leaseCost({ ...f, multiplier_milli: f.certificate.price_multiplier_milli });
  return {
    type: 'lease',
    ...common(head, 'XUSD', subU64(head.balances.XUSD, cost), f.timestamp),
    destination: f.certificate.provider,
    amount: cost,
    vcpus: f.vcpus,
    memory_mb: f.memory_mb,
    disk_gb: f.disk_gb,
    duration: f.duration,
    access_pub_key: f.access_pub_key,
    certificate_hash: f.certificate.hash,
  };
}

export function buildAccept(
  head: AccountView,
  lease: LeaseRecord,
  f: { attestations: Attestation[]; timestamp: bigint },
  params: Pick<LeaseParams, 'emission_r_milli'>,
): UnsignedBlock {
  return {
    type: 'lease_accept',
    ...common(head, 'XUSD', subU64(head.balances.XUSD, lease.stake), f.timestamp),
    source: lease.hash,
    amount: lease.stake,
    locked_r: params.emission_r_milli,
    certificate_hash: lease.certificate_hash,
    attestations: f.attestations,
  };
}

export function buildSettle(head: AccountView, lease: LeaseRecord, f: { attestations: Attestation[]; timestamp: bigint }): UnsignedBlock {
  return {
    type: 'lease_settle',
    ...common(head, 'XE', addU64(head.balances.XE, lease.emission), f.timestamp),
    source: lease.hash,
    amount: lease.emission,
    attestations: f.attestations,
  };
}

export function buildCancel(head: AccountView, lease: LeaseRecord, f: { attestations: Attestation[]; timestamp: bigint }): UnsignedBlock {
  return {
    type: 'lease_cancel',
    ...common(head, 'XUSD', addU64(head.balances.XUSD, lease.cost), f.timestamp),
    source: lease.hash,
    attestations: f.attestations,
  };
}

export function buildForceSettle(
  head: AccountView,
  lease: LeaseRecord,
  f: { attestations: Attestation[]; timestamp: bigint },
): UnsignedBlock {
  return {
    type: 'lease_force_settle',
    ...common(head, 'XUSD', addU64(head.balances.XUSD, lease.cost), f.timestamp),
    source: lease.hash,
    attestations: f.attestations,
  };
}
