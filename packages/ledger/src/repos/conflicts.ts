import type { AbortOptions } from '@xe/core-types';
import { Bucket, keys, prefixRange } from '../buckets.js';
import { decodeJson, encodeJson } from '../codec.js';
import { signalOf } from '../hex.js';
import type { BatchOp, Store } from '../store.js';
import type { ConflictRecord } from '../types.js';

/** Recorded forks (CONFLICT: the losing block's hash → record). Local: they may differ between nodes. */
export class ConflictRepo {
  constructor(private readonly store: Store) {}

  putOp(record: ConflictRecord): BatchOp {
    return { type: 'put', key: keys.conflict(record.rejected), value: encodeJson(record) };
  }

  async get(hash: string): Promise<ConflictRecord | undefined> {
    const v = await this.store.get(keys.conflict(hash));
    return v === undefined ? undefined : decodeJson<ConflictRecord>(v);
  }

  /** Ordered by the losing block's hash. */
  async list(options: { limit?: number } & AbortOptions = {}): Promise<ConflictRecord[]> {
    const out: ConflictRecord[] = [];
    const range = { ...prefixRange(keys.bucket(Bucket.CONFLICT)), ...signalOf(options) };
    for await (const [, v] of this.store.range({ ...range, limit: options.limit ?? 100 })) out.push(decodeJson<ConflictRecord>(v));
    return out;
  }
}
