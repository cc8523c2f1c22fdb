import { type Block, bytesToHex } from '@xe/core-types';
import { Bucket, keys, prefixRange } from '../buckets.js';
import { decodeJson, encodeJson } from '../codec.js';
import type { BatchOp, Store } from '../store.js';

/**
 * Held candidates (finality): blocks that compete for a position but are not applied.
 * HELD: hash → block; CANDIDATE: position · hash → (empty).
 */
export class CandidateRepo {
  constructor(private readonly store: Store) {}

  async get(hash: string): Promise<Block | undefined> {
    const v = await this.store.get(keys.held(hash));
    return v === undefined ? undefined : decodeJson<Block>(v);
  }

  async has(hash: string): Promise<boolean> {
    return (await this.store.get(keys.held(hash))) !== undefined;
  }

  putOps(block: Block, positions: readonly Uint8Array[]): BatchOp[] {
    return [
      { type: 'put', key: keys.held(block.hash), value: encodeJson(block) },
      ...positions.map((p): BatchOp => ({ type: 'put', key: keys.candidate(p, block.hash), value: new Uint8Array(0) })),
    ];
  }

  delOps(hash: string, positions: readonly Uint8Array[]): BatchOp[] {
    return [{ type: 'del', key: keys.held(hash) }, ...positions.map((p): BatchOp => ({ type: 'del', key: keys.candidate(p, hash) }))];
  }

  /** Every held block, oldest key first, at most `limit` (resuming after a restart). */
  async all(limit: number): Promise<Block[]> {
    const out: Block[] = [];
    for await (const [, v] of this.store.range({ ...prefixRange(keys.bucket(Bucket.HELD)), limit })) out.push(decodeJson<Block>(v));
    return out;
  }

  /** Hashes of the held candidates at a position (bounded: at most `limit`). */
  async at(position: Uint8Array, limit = 64): Promise<string[]> {
    const out: string[] = [];
    for await (const [k] of this.store.range({ ...prefixRange(keys.candidatePrefix(position)), limit })) out.push(bytesToHex(k.subarray(k.length - 32)));
    return out;
  }
}
