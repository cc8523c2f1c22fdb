import { bytesToHex, parseVote, type Vote } from '@xe/core-types';
import { Bucket, keys, prefixRange } from '../buckets.js';
import { decodeJson, encodeJson } from '../codec.js';
import type { BatchOp, Store } from '../store.js';

export interface Lock {
  block_hash: string;
  round: number;
}

const INDEX_MAX = 1_000_000;

/**
 * Votes (the highest (round, timestamp) per representative and position) and this node's
 * locks. Votes of a decided position are deleted with its confirmation (which keeps the
 * quorum), so the bucket holds open elections only; the positions that have stored votes
 * are known in memory (loaded on open), sparing a scan elsewhere.
 */
export class VoteRepo {
  private readonly positions = new Set<string>();

  constructor(private readonly store: Store) {}

  async load(): Promise<void> {
    this.positions.clear();
    for await (const [k] of this.store.range({ ...prefixRange(keys.bucket(Bucket.VOTE)), limit: INDEX_MAX })) {
      this.positions.add(bytesToHex(k.subarray(1, k.length - 32)));
    }
  }

  putOp(position: Uint8Array, vote: Vote): BatchOp {
    this.positions.add(bytesToHex(position));
    return { type: 'put', key: keys.vote(position, vote.representative), value: encodeJson(vote) };
  }

  /** Deletes the votes of `representatives` and the lock at a decided position. */
  clearOps(position: Uint8Array, representatives: readonly string[]): BatchOp[] {
    this.positions.delete(bytesToHex(position));
    return [
      ...representatives.map((r): BatchOp => ({ type: 'del', key: keys.vote(position, r) })),
      { type: 'del', key: keys.lock(position) },
    ];
  }

  async at(position: Uint8Array, limit = 2048): Promise<Vote[]> {
    const out: Vote[] = [];
    if (!this.positions.has(bytesToHex(position))) return out;
    for await (const [, v] of this.store.range({ ...prefixRange(keys.votePrefix(position)), limit })) out.push(parseVote(decodeJson<unknown>(v)));
    return out;
  }

  async lock(position: Uint8Array): Promise<Lock | undefined> {
    const v = await this.store.get(keys.lock(position));
    if (v === undefined) return undefined;
    const l = decodeJson<{ block_hash: string; round: bigint }>(v);
    return { block_hash: l.block_hash, round: Number(l.round) };
  }

  lockOp(position: Uint8Array, lock: Lock): BatchOp {
    return { type: 'put', key: keys.lock(position), value: encodeJson(lock) };
  }
}
