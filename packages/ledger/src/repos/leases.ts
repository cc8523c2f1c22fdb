import type { AbortOptions, LeaseState } from '@xe/core-types';
import { Bucket, keys, leaseOrder, prefixRange } from '../buckets.js';
import { decodeJson, encodeJson } from '../codec.js';
import { isHash, signalOf } from '../hex.js';
import type { BatchOp, Store } from '../store.js';
import type { LeaseFilter, LeasePage, LeaseRecord } from '../types.js';

const EMPTY = new Uint8Array(0);

function matches(l: LeaseRecord, f: LeaseFilter): boolean {
  return (
    (f.state === undefined || l.state === f.state) &&
    (f.provider === undefined || l.provider === f.provider) &&
    (f.consumer === undefined || l.consumer === f.consumer)
  );
}

function validFilter(f: LeaseFilter): boolean {
  return (f.provider === undefined || isHash(f.provider)) && (f.consumer === undefined || isHash(f.consumer));
}

/**
 * Lease records (LEASE) and their indexes: by state, provider, consumer, and all leases in
 * order (lease timestamp, then hash).
 */
export class LeaseRepo {
  constructor(private readonly store: Store) {}

  async get(hash: string): Promise<LeaseRecord | undefined> {
    const v = await this.store.get(keys.lease(hash));
    return v === undefined ? undefined : decodeJson<LeaseRecord>(v);
  }

  async getMany(hashes: readonly string[]): Promise<LeaseRecord[]> {
    const values = await this.store.getMany(hashes.map((h) => keys.lease(h)));
    return values.filter((v): v is Uint8Array => v !== undefined).map((v) => decodeJson<LeaseRecord>(v));
  }

  /** Writes `after` and moves its index entries from `before`'s state (null: a new lease). */
  putOps(before: LeaseRecord | null, after: LeaseRecord): BatchOp[] {
    const order = leaseOrder(after.timestamp);
    const ops: BatchOp[] = [{ type: 'put', key: keys.lease(after.hash), value: encodeJson(after) }];
    if (before === null) {
      ops.push(
        { type: 'put', key: keys.leaseOrder(order, after.hash), value: EMPTY },
        { type: 'put', key: keys.leaseByProvider(after.provider, order, after.hash), value: EMPTY },
        { type: 'put', key: keys.leaseByConsumer(after.consumer, order, after.hash), value: EMPTY },
      );
    } else {
      ops.push({ type: 'del', key: keys.leaseByState(before.state, order, after.hash) });
    }
    ops.push({ type: 'put', key: keys.leaseByState(after.state, order, after.hash), value: EMPTY });
    return ops;
  }

  /** Leases in `state`, in index order. */
  async inState(state: LeaseState, options: AbortOptions = {}): Promise<LeaseRecord[]> {
    const hashes: string[] = [];
    for await (const [k] of this.store.range({ ...prefixRange(keys.leaseByStatePrefix(state)), ...signalOf(options) })) {
      hashes.push(bytesToHexTail(k));
    }
    return this.getMany(hashes);
  }

  /** Iterates matching lease hashes in index order; `needsCheck` when the index alone does not decide. */
  private async *hashes(filter: LeaseFilter, options: AbortOptions): AsyncIterable<{ hash: string; needsCheck: boolean }> {
    let prefix: Uint8Array;
    let exact: boolean;
    if (filter.provider !== undefined) {
      prefix = keys.leaseByProviderPrefix(filter.provider);
      exact = filter.state === undefined && filter.consumer === undefined;
    } else if (filter.consumer !== undefined) {
      prefix = keys.leaseByConsumerPrefix(filter.consumer);
      exact = filter.state === undefined;
    } else if (filter.state !== undefined) {
      prefix = keys.leaseByStatePrefix(filter.state);
      exact = true;
    } else {
      prefix = keys.bucket(Bucket.LEASE_ORDER);
      exact = true;
    }
    for await (const [k] of this.store.range({ ...prefixRange(prefix), ...signalOf(options) })) {
      yield { hash: bytesToHexTail(k), needsCheck: !exact };
    }
  }

  /** Leases matching the filter, oldest first, paged by offset/limit. */
  async list(page: LeasePage = {}, options: AbortOptions = {}): Promise<LeaseRecord[]> {
    if (!validFilter(page)) return [];
    const offset = Math.max(0, page.offset ?? 0);
    const limit = Math.max(0, page.limit ?? 100);
    const out: LeaseRecord[] = [];
    let skipped = 0;
    if (limit === 0) return out;
    for await (const { hash, needsCheck } of this.hashes(page, options)) {
      if (!needsCheck && skipped < offset) {
        skipped++;
        continue;
      }
      const l = await this.get(hash);
      if (!l || !matches(l, page)) continue;
      if (skipped < offset) {
        skipped++;
        continue;
      }
      out.push(l);
      if (out.length >= limit) break;
    }
    return out;
  }

  async count(filter: LeaseFilter = {}, options: AbortOptions = {}): Promise<number> {
    if (!validFilter(filter)) return 0;
    let n = 0;
    for await (const { hash, needsCheck } of this.hashes(filter, options)) {
      if (!needsCheck) n++;
      else {
        const l = await this.get(hash);
        if (l && matches(l, filter)) n++;
      }
    }
    return n;
  }
}

const HEX = '0123456789abcdef';

/** The last 32 bytes of an index key (the lease hash) as hex. */
function bytesToHexTail(k: Uint8Array): string {
  let s = '';
  for (let i = k.length - 32; i < k.length; i++) s += HEX[k[i]! >> 4]! + HEX[k[i]! & 15]!;
  return s;
}
