import { type Clock, type LeaseBlock, NS_PER_SEC, systemClock } from '@xe/core-types';
import { type KeyPair, keyPairFromSeed, signBlock } from '@xe/crypto';

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
