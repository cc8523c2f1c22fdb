import { type AbortOptions, latin1 } from '@xe/core-types';
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
  return latin1(key);
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

/**
 * One group's writes: the last write per key (a group is written as one atomic batch, so
 * an earlier write of a key the group writes again never needs to reach the store — an
 * account head or the supply counters written by every block of a group go once).
 */
export class WriteLayer {
  /** latin1 key → the group's last write of it */
  readonly writes = new Map<string, BatchOp>();
  /** writes added, overwritten ones included (what bounds a group) */
  added = 0;

  add(ops: readonly BatchOp[]): void {
    for (const op of ops) {
      this.writes.set(keyString(op.key), op);
    }
    this.added += ops.length;
  }

  /** The value a read sees: bytes, null for a delete, undefined when the group did not write the key. */
  value(k: string): Uint8Array | null | undefined {
    const op = this.writes.get(k);
    return op === undefined ? undefined : op.type === 'put' ? op.value : null;
  }

  /** The batch to write: one op per key. */
  ops(): BatchOp[] {
    return [...this.writes.values()];
  }
}

/**
 * A Store that groups writes (group commit). Between `begin()` and `seal()` every `batch`
 * only joins the open layer; a sealed layer is written to the underlying store as ONE
 * batch by `write(layer)`, in the order the layers were sealed. Until a layer is written,
 * reads see it over the underlying store (newest layer first), so code running inside a
 * group reads its own group's and earlier unwritten groups' writes. Outside a group,
 * `batch` writes through (after the unwritten layers, which the caller writes first).
 */
export class GroupStore implements Store {
  /** sealed, unwritten layers (oldest first) and the open one last */
  private layers: WriteLayer[] = [];
  private open: WriteLayer | undefined;

  constructor(readonly base: Store) {}

  /** Opens a layer (no-op when one is open). */
  begin(): void {
    if (this.open !== undefined) return;
    this.open = new WriteLayer();
    this.layers.push(this.open);
  }

  /** Writes (ops) in the open layer, 0 when none is open. */
  get openOps(): number {
    return this.open?.added ?? 0;
  }

  /** Closes the open layer and returns it; it stays visible to reads until written or dropped. */
  seal(): WriteLayer | undefined {
    const layer = this.open;
    this.open = undefined;
    return layer;
  }

  /** Writes a sealed layer as one atomic batch, then stops overlaying it. Layers go in seal order. */
  async write(layer: WriteLayer): Promise<void> {
    if (this.layers[0] !== layer) throw new LedgerStoreError(LedgerErrorCodes.INTERNAL, 'write layers in the order they were sealed');
    await this.base.batch(layer.ops());
    this.layers.shift();
  }

  /** Forgets every unwritten layer, the open one included (after a failed write). */
  drop(): void {
    this.layers = [];
    this.open = undefined;
  }

  private lookup(k: string): Uint8Array | null | undefined {
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const v = this.layers[i]!.value(k);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    if (this.layers.length > 0) {
      const v = this.lookup(keyString(key));
      if (v !== undefined) return v === null ? undefined : v.slice();
    }
    return this.base.get(key);
  }

  async getMany(keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    if (this.layers.length === 0) return this.base.getMany(keys);
    return Promise.all(keys.map((k) => this.get(k)));
  }

  async batch(ops: readonly BatchOp[]): Promise<void> {
    if (this.open !== undefined) this.open.add(ops);
    else await this.base.batch(ops);
  }

  async *range(options: RangeOptions): AsyncIterable<[Uint8Array, Uint8Array]> {
    // the layers' keys inside the range, merged over the underlying store's entries
    const lo = keyString(options.gte);
    const hi = keyString(options.lt);
    const mine = new Map<string, Uint8Array | null>();
    for (const layer of this.layers) for (const k of layer.writes.keys()) if (k >= lo && k < hi) mine.set(k, layer.value(k)!);
    if (mine.size === 0) {
      yield* this.base.range(options);
      return;
    }
    const own = [...mine.keys()].sort();
    if (options.reverse) own.reverse();
    const before = (a: string, b: string) => (options.reverse ? a > b : a < b);
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    let n = 0;
    let i = 0;
    const { limit: _drop, ...unlimited } = options;
    const emit = function* (k: string): Generator<[Uint8Array, Uint8Array]> {
      const v = mine.get(k);
      if (v !== null && v !== undefined) {
        n++;
        yield [keyBytes(k), v.slice()];
      }
    };
    for await (const [key, value] of this.base.range(unlimited)) {
      if (n >= limit) return;
      const k = keyString(key);
      while (i < own.length && before(own[i]!, k) && n < limit) yield* emit(own[i++]!);
      if (n >= limit) return;
      if (i < own.length && own[i] === k) {
        yield* emit(own[i++]!);
        continue;
      }
      if (mine.has(k)) continue;
      n++;
      yield [key, value];
    }
    while (i < own.length && n < limit) yield* emit(own[i++]!);
  }

  close(): Promise<void> {
    return this.base.close();
  }
}
