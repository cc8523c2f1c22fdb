import { bytesToHex } from '@xe/core-types';
import { Bucket, keys, prefixRange } from '../buckets.js';
import { decodeUndo, encodeUndo } from '../codec.js';
import type { BatchOp, Store } from '../store.js';
import type { UndoRecord } from '../types.js';

/**
 * Rollback bookkeeping of unconfirmed blocks: UNDO (before-images) and DEPENDENT (which
 * unconfirmed blocks name a block), both deleted once the block is confirmed.
 */
export class UndoRepo {
  constructor(private readonly store: Store) {}

  async get(hash: string): Promise<UndoRecord | undefined> {
    const v = await this.store.get(keys.undo(hash));
    return v === undefined ? undefined : decodeUndo(v);
  }

  putOp(hash: string, record: UndoRecord): BatchOp {
    return { type: 'put', key: keys.undo(hash), value: encodeUndo(record) };
  }

  delOp(hash: string): BatchOp {
    return { type: 'del', key: keys.undo(hash) };
  }

  dependentOp(named: string, dependent: string): BatchOp {
    return { type: 'put', key: keys.dependent(named, dependent), value: new Uint8Array(0) };
  }

  delDependentOp(named: string, dependent: string): BatchOp {
    return { type: 'del', key: keys.dependent(named, dependent) };
  }

  /** Hashes of applied blocks not confirmed yet (they have undo records), at most `limit`. */
  async unconfirmed(limit: number): Promise<string[]> {
    const out: string[] = [];
    for await (const [k] of this.store.range({ ...prefixRange(keys.bucket(Bucket.UNDO)), limit })) out.push(bytesToHex(k.subarray(1)));
    return out;
  }

  /** Unconfirmed blocks that name `hash` (bounded). */
  async dependents(hash: string, limit = 100_000): Promise<string[]> {
    const out: string[] = [];
    for await (const [k] of this.store.range({ ...prefixRange(keys.dependentPrefix(hash)), limit })) out.push(bytesToHex(k.subarray(33)));
    return out;
  }
}
