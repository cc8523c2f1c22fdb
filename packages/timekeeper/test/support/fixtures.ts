import { expect } from '@jest/globals';
import { type Attestation, type Clock, DEVNET_LEASE_PARAMS, type LeaseBlock, NS_PER_SEC, systemClock, type TimekeeperSet } from '@xe/core-types';
import { type KeyPair, keyPairFromSeed, signBlock, validateAttestations } from '@xe/crypto';
import type { TimekeeperError, TimekeeperFailure } from '../../src/index.js';

export const NETWORK_ID = 'timekeeper-test';

/** A deterministic key pair per index. */
export function testKey(index: number): KeyPair {
  return keyPairFromSeed(new Uint8Array(32).fill(index + 1));
}

/** A clock the test moves by hand, starting at the real time (so skew checks are realistic). */
export class ManualClock {
  nowNs: bigint;
  constructor(start: bigint = systemClock()) {
    this.nowNs = start;
  }
  readonly clock: Clock = () => this.nowNs;
  advance(ns: bigint): void {
    this.nowNs += ns;
  }
  advanceSeconds(seconds: number): void {
    this.advance(BigInt(seconds) * NS_PER_SEC);
  }
}

let counter = 0;

/** A real, signed lease block (no proof of work: the signer does not need it). */
export function makeLeaseBlock(consumer: KeyPair, provider: KeyPair, timestamp: bigint, durationSecs = 60n): LeaseBlock {
  counter++;
  return signBlock(
    {
      type: 'lease',
      account: consumer.address,
      previous: '0',
      balance: 1_000_000n - BigInt(counter),
      timestamp,
      asset: 'XUSD',
      pub_key: consumer.pubKeyHex,
      destination: provider.address,
      amount: BigInt(counter),
      vcpus: 1n,
      memory_mb: 1024n,
      disk_gb: 1n,
      duration: durationSecs,
      access_pub_key: consumer.pubKeyHex,
      certificate_hash: 'c'.repeat(64),
    },
    consumer,
    NETWORK_ID,
  );
}

/** The gatherer tests' network: three timekeepers, threshold 2, the devnet skew. */
export const gathererNet = (() => {
  const keys = [testKey(0), testKey(1), testKey(2)];
  const set: TimekeeperSet = { keys: keys.map((k) => k.pubKeyHex), threshold: 2 };
  return { keys, set, skewNs: DEVNET_LEASE_PARAMS.max_attestation_skew_ns, consumer: testKey(10), provider: testKey(11) };
})();

/** Asserts the list validates (SPEC §8) to the attested time `now`. */
export function expectValid(list: Attestation[], leaseHash: string, now: bigint): void {
  expect(validateAttestations(list, leaseHash, gathererNet.set, { now, skewNs: gathererNet.skewNs, checkSkew: true })).toBe(now);
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function rejectionOf(p: Promise<unknown>): Promise<TimekeeperError> {
  try {
    await p;
  } catch (err) {
    return err as TimekeeperError;
  }
  throw new Error('expected a rejection');
}

/** The per-timekeeper failures a TIMEKEEPER_UNAVAILABLE carries. */
export function failures(err: TimekeeperError): TimekeeperFailure[] {
  return (err.details?.failures ?? []) as TimekeeperFailure[];
}
