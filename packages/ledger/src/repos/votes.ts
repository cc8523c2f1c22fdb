import { parseVote, type Vote } from '@xe/core-types';
import { keys, prefixRange } from '../buckets.js';
import { decodeJson, encodeJson } from '../codec.js';
import type { BatchOp, Store } from '../store.js';

export interface Lock {
  block_hash: string;
  round: number;
}

/** Votes (the highest (round, timestamp) per representative and position) and this node's locks. */
export class VoteRepo {
  constructor(private readonly store: Store) {}

  putOp(position: Uint8Array, vote: Vote): BatchOp {
    return { type: 'put', key: keys.vote(position, vote.representative), value: encodeJson(vote) };
  }

  async at(position: Uint8Array, limit = 2048): Promise<Vote[]> {
    const out: Vote[] = [];
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
