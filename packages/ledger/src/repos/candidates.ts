import { type Block, bytesToHex } from '@xe/core-types';
import { Bucket, keys, prefixRange } from '../buckets.js';
import { decodeJson, encodeJson } from '../codec.js';
import type { BatchOp, Store } from '../store.js';

const INDEX_MAX = 1_000_000;

/**
 * Held candidates (finality): blocks that compete for a position but are not applied.
 * HELD: hash → block; CANDIDATE: position · hash → (empty). An in-memory count of held
 * candidates per position (loaded on open) spares a scan at the positions that have none,
 * which is nearly all of them.
 */
export class CandidateRepo {
  private readonly counts = new Map<string, number>();

  constructor(private readonly store: Store) {}

  /** (Re)builds the per-position counts from the store. */
  async load(): Promise<void> {
    this.counts.clear();
    for await (const [k] of this.store.range({ ...prefixRange(keys.bucket(Bucket.CANDIDATE)), limit: INDEX_MAX })) {
      const pos = bytesToHex(k.subarray(1, k.length - 32));
      this.counts.set(pos, (this.counts.get(pos) ?? 0) + 1);
    }
  }

  /** True when no candidate is held anywhere (the common case). */
  get none(): boolean {
    return this.counts.size === 0;
  }

  /** Positions holding at least one held candidate (open conflicts). */
  get positions(): number {
    return this.counts.size;
  }

  private bump(position: Uint8Array, by: number): void {
    const pos = bytesToHex(position);
    const n = (this.counts.get(pos) ?? 0) + by;
    if (n > 0) this.counts.set(pos, n);
    else this.counts.delete(pos);
  }

  async get(hash: string): Promise<Block | undefined> {
    const v = await this.store.get(keys.held(hash));
    return v === undefined ? undefined : decodeJson<Block>(v);
  }

  async has(hash: string): Promise<boolean> {
    return (await this.store.get(keys.held(hash))) !== undefined;
  }

  /** The writes that hold `block`; counts are taken at once (a failed batch reloads them). */
  putOps(block: Block, positions: readonly Uint8Array[]): BatchOp[] {
    for (const p of positions) this.bump(p, 1);
    return [
      { type: 'put', key: keys.held(block.hash), value: encodeJson(block) },
      ...positions.map((p): BatchOp => ({ type: 'put', key: keys.candidate(p, block.hash), value: new Uint8Array(0) })),
    ];
  }

  delOps(hash: string, positions: readonly Uint8Array[]): BatchOp[] {
    for (const p of positions) this.bump(p, -1);
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
    if (!this.counts.has(bytesToHex(position))) return out;
    for await (const [k] of this.store.range({ ...prefixRange(keys.candidatePrefix(position)), limit })) out.push(bytesToHex(k.subarray(k.length - 32)));
    return out;
  }
}
