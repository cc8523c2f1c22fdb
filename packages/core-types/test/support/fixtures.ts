import { readFileSync } from 'node:fs';
import { expect } from '@jest/globals';
import { type BlockType, XeError } from '../../src/index.js';

/** The shared vectors live in `shared/` beside the repository root. */
export const VECTORS = new URL('../../../../../shared/vectors/', import.meta.url);

export function vectorText(name: string): string {
  return readFileSync(new URL(name, VECTORS), 'utf8');
}

const h = (c: string) => c.repeat(64);
const sig = 'ab'.repeat(64);

/** One plain JSON object per block type, with every optional field the type may carry. */
export function sampleJson(): Record<BlockType, Record<string, unknown>> {
  const common = {
    account: h('1'),
    previous: h('2'),
    balance: 5_000_000n,
    timestamp: 1_781_802_000_000_000_000n,
    asset: 'XUSD',
    representative: h('3'),
    pub_key: h('4'),
    signature: sig,
    hash: h('5'),
    pow_nonce: 18_446_744_073_709_551_615n,
  };
  const att = [
    { public_key: h('a'), timestamp: 1_781_802_010_000_000_000n, signature: 'cd'.repeat(64) },
    { public_key: h('b'), timestamp: 1_781_802_010_100_000_000n, signature: 'ef'.repeat(64) },
  ];
  return {
    send: { type: 'send', ...common, destination: h('6'), amount: 1_000_000n, memo: 'rent\tfor\nmarch ✓' },
    receive: { type: 'receive', ...common, source: h('7') },
    lease: {
      type: 'lease',
      ...common,
      destination: h('6'),
      amount: 960_000n,
      vcpus: 1n,
      memory_mb: 1024n,
      disk_gb: 10n,
      duration: 86_400n,
      access_pub_key: h('8'),
      certificate_hash: h('9'),
    },
    lease_accept: {
      type: 'lease_accept',
      ...common,
      source: h('7'),
      amount: 192_000n,
      locked_r: 2000n,
      certificate_hash: h('9'),
      attestations: att,
    },
    lease_settle: { type: 'lease_settle', ...common, asset: 'XE', source: h('7'), amount: 1_920_000n, attestations: att },
    genesis: {
      type: 'genesis',
      ...common,
      asset: 'XE',
      previous: '0',
      timestamp: 0n,
      pow_nonce: undefined,
      lease_min_duration_secs: 5n,
      lease_settle_grace_ns: 120_000_000_000n,
      lease_force_settle_gap_ns: 300_000_000_000n,
      lease_escrow_expiry_ns: 3_600_000_000_000n,
      lease_archive_gap_ns: 600_000_000_000n,
      max_attestation_skew_ns: 60_000_000_000n,
    },
    lease_cancel: { type: 'lease_cancel', ...common, source: h('7'), attestations: att },
    lease_force_settle: { type: 'lease_force_settle', ...common, source: h('7'), attestations: att },
  };
}

/** The coded error `fn` throws; fails the test when it returns or throws anything else. */
export function errorOf(fn: () => unknown): XeError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(XeError);
    return err as XeError;
  }
  throw new Error('expected a throw');
}
