import type { Block, FinalityParams, Vote } from '@xe/core-types';
import { type KeyPair, keyPairFromSeed, signVote } from '@xe/crypto';
import { Bucket, FINALITY_LOCAL_BUCKETS, Ledger, MemoryStore, positionsOf, type Store, stateDigest } from '../../src/index.js';
import { K, NETWORK, receiveAll, S, T0, TestClock, testBundle } from '../helpers.js';

/** Three representatives of equal weight, quorum 60 (a devnet: two of three confirm). */
export const REPS: KeyPair[] = [0x91, 0x92, 0x93].map((b) => keyPairFromSeed(new Uint8Array(32).fill(b)));
export const PARAMS: FinalityParams = { representatives: REPS.map((r) => ({ address: r.address, weight: 1n })), quorum_pct: 60 };

export interface FWorld {
  ledger: Ledger;
  store: Store;
  clock: TestClock;
}

/**
 * A ledger running finality (voting with `key` when given), allocations received
 * (unconfirmed). With `from`, the receives are that ledger's blocks (same nonces), so
 * several nodes start from one history.
 */
export async function fworld(key?: KeyPair, from?: Ledger, store: Store = new MemoryStore(), params: FinalityParams = PARAMS): Promise<FWorld> {
  const clock = new TestClock();
  const bundle = await testBundle();
  const ledger = await Ledger.open(store, bundle, {
    clock: clock.fn,
    finality: { params, ...(key === undefined ? {} : { key }) },
  });
  if (from === undefined) {
    for (const k of [K.alice, K.bob, K.carol, K.prov, K.prov2]) await receiveAll(ledger, k, T0 - 1800n * S);
  } else {
    const treasuries = new Set(bundle.blocks.map((b) => b.account));
    for (const f of await from.frontiers()) {
      if (treasuries.has(f.account)) continue;
      for (const b of await from.blocksAfter(f.account, 0n, 1000)) await ledger.addBlock(b, { origin: 'sync' });
    }
  }
  return { ledger, store, clock };
}

/** Votes of `reps` for `block` at every position it stands at. */
export function votesFor(block: Block, reps: KeyPair[], opts: { round?: number; final?: boolean; timestamp?: bigint } = {}): Vote[] {
  return positionsOf(block).flatMap((position) =>
    reps.map((k) =>
      signVote({ position, block_hash: block.hash, round: opts.round ?? 0, final: opts.final ?? true, timestamp: opts.timestamp ?? T0 }, k, NETWORK),
    ),
  );
}

/** The state every node must agree on: everything but the node-local finality buckets. */
export function agreedDigest(store: Store, alsoExclude: number[] = []): Promise<string> {
  return stateDigest(store, { exclude: [...FINALITY_LOCAL_BUCKETS, ...alsoExclude] });
}

export const CONFIRMED_BUCKET = Bucket.CONFIRMED;
