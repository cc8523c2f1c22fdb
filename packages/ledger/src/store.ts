import type { AbortOptions } from '@xe/core-types';
import { LedgerErrorCodes, LedgerStoreError } from './errors.js';

/** One write of a batch. */
export type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

export interface RangeOptions extends AbortOptions {
  /** inclusive lower bound */
  gte: Uint8Array;
  /** exclusive upper bound */
  lt: Uint8Array;
  reverse?: boolean;
  limit?: number;
}

/**
 * An ordered byte-key store. Keys sort bytewise; `batch` applies all of its writes or
 * none of them (atomic, also across a crash for the LevelDB implementation).
 */
export interface Store {
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  getMany(keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]>;
  batch(ops: readonly BatchOp[]): Promise<void>;
  /** Entries with gte ≤ key < lt in key order (or reverse), at most `limit`. */
  range(options: RangeOptions): AsyncIterable<[Uint8Array, Uint8Array]>;
  close(): Promise<void>;
}

function keyString(key: Uint8Array): string {
  // latin1: one char per byte, so string order equals bytewise order
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

function keyBytes(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'latin1'));
}

/** First index of `sorted` whose value is ≥ `s`. */
function lowerBound(sorted: string[], s: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** An in-memory Store for fast tests. Values are copied in and out. */
export class MemoryStore implements Store {
  private readonly map = new Map<string, Uint8Array>();
  private sorted: string[] = [];
  private closed = false;

  private check(): void {
    if (this.closed) throw new LedgerStoreError(LedgerErrorCodes.STORE_CLOSED, 'store is closed');
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.check();
    const v = this.map.get(keyString(key));
    return v === undefined ? undefined : v.slice();
  }

  async getMany(keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    this.check();
    return keys.map((k) => this.map.get(keyString(k))?.slice());
  }

  async batch(ops: readonly BatchOp[]): Promise<void> {
    this.check();
    for (const op of ops) {
      const k = keyString(op.key);
      if (op.type === 'put') {
        if (!this.map.has(k)) this.sorted.splice(lowerBound(this.sorted, k), 0, k);
        this.map.set(k, op.value.slice());
      } else if (this.map.delete(k)) {
        this.sorted.splice(lowerBound(this.sorted, k), 1);
      }
    }
  }

  async *range(options: RangeOptions): AsyncIterable<[Uint8Array, Uint8Array]> {
    this.check();
    const lo = lowerBound(this.sorted, keyString(options.gte));
    const hi = lowerBound(this.sorted, keyString(options.lt));
    // snapshot the keys so writes during iteration do not disturb it
    const keys = this.sorted.slice(lo, hi);
    if (options.reverse) keys.reverse();
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    let n = 0;
    for (const k of keys) {
      if (n >= limit) return;
      options.signal?.throwIfAborted();
      const v = this.map.get(k);
      if (v === undefined) continue;
      n++;
      yield [keyBytes(k), v.slice()];
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
