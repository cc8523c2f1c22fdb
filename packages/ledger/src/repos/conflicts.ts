import type { AbortOptions } from '@xe/core-types';
import { Bucket, keys, prefixRange } from '../buckets.js';
import { decodeJson, encodeJson } from '../codec.js';
import { signalOf } from '../hex.js';
import type { BatchOp, Store } from '../store.js';
import type { ConflictRecord } from '../types.js';

/** Conflict records kept at most, in all. */
export const CONFLICTS_MAX = 10_000;
/** Conflict records kept at most per account (one key can sign endless forks of its own chain). */
export const CONFLICTS_PER_ACCOUNT_MAX = 32;

export interface ConflictLimits {
  /** records in all (default CONFLICTS_MAX) */
  max?: number;
  /** records per account (default CONFLICTS_PER_ACCOUNT_MAX) */
  perAccount?: number;
}

interface Entry {
  account: string;
  detectedAt: bigint;
}

/**
 * Recorded forks (CONFLICT: the losing block's hash → record). Local: they may differ between
 * nodes. Bounded: every record is of a decided position (first seen, or a confirmed winner),
 * so a new record past a bound evicts the oldest by detection time — the account's own
 * oldest past its per-account bound, the oldest of all past the total bound. An in-memory
 * index (account and detection time per record, built on first write) finds them.
 */
export class ConflictRepo {
  /** rejected hash → entry, oldest first */
  private index: Map<string, Entry> | undefined;
  /** account → its rejected hashes, oldest first */
  private readonly byAccount = new Map<string, string[]>();
  private readonly max: number;
  private readonly perAccount: number;

  constructor(
    private readonly store: Store,
    limits: ConflictLimits = {},
  ) {
    this.max = Math.max(1, limits.max ?? CONFLICTS_MAX);
    this.perAccount = Math.max(1, limits.perAccount ?? CONFLICTS_PER_ACCOUNT_MAX);
  }

  /**
   * The writes that record `records` (in order) and evict what they push past the bounds.
   * Commit them in one batch; a failed batch leaves the index naming records that are not
   * stored, which costs at most a needless delete later.
   */
  async putOps(records: readonly ConflictRecord[]): Promise<BatchOp[]> {
    const index = await this.loaded();
    const ops: BatchOp[] = [];
    for (const record of records) {
      ops.push({ type: 'put', key: keys.conflict(record.rejected), value: encodeJson(record) });
      if (index.has(record.rejected)) continue;
      const own = this.byAccount.get(record.account) ?? [];
      while (own.length >= this.perAccount) ops.push(this.evict(own[0]!));
      while (index.size >= this.max) ops.push(this.evict(index.keys().next().value!));
      index.set(record.rejected, { account: record.account, detectedAt: record.detected_at });
      own.push(record.rejected);
      this.byAccount.set(record.account, own);
    }
    return ops;
  }

  /** Records held (after `putOps` or a load). */
  async count(): Promise<number> {
    return (await this.loaded()).size;
  }

  private evict(hash: string): BatchOp {
    const index = this.index!;
    const e = index.get(hash);
    index.delete(hash);
    if (e !== undefined) {
      const own = this.byAccount.get(e.account);
      const i = own?.indexOf(hash) ?? -1;
      if (own !== undefined && i >= 0) own.splice(i, 1);
      if (own?.length === 0) this.byAccount.delete(e.account);
    }
    return { type: 'del', key: keys.conflict(hash) };
  }

  private async loaded(): Promise<Map<string, Entry>> {
    if (this.index !== undefined) return this.index;
    const found: Array<[string, Entry]> = [];
    for await (const [, v] of this.store.range(prefixRange(keys.bucket(Bucket.CONFLICT)))) {
      const r = decodeJson<ConflictRecord>(v);
      found.push([r.rejected, { account: r.account, detectedAt: BigInt(r.detected_at) }]);
    }
    found.sort(([ha, a], [hb, b]) => (a.detectedAt < b.detectedAt ? -1 : a.detectedAt > b.detectedAt ? 1 : ha < hb ? -1 : ha > hb ? 1 : 0));
    if (this.index !== undefined) return this.index;
    this.index = new Map(found);
    this.byAccount.clear();
    for (const [hash, e] of found) {
      const own = this.byAccount.get(e.account) ?? [];
      own.push(hash);
      this.byAccount.set(e.account, own);
    }
    return this.index;
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
