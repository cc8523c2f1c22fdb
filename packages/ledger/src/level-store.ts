import { Level } from 'level';
import { LedgerErrorCodes, LedgerStoreError } from './errors.js';
import type { BatchOp, RangeOptions, Store } from './store.js';

type Db = Level<Uint8Array, Uint8Array>;

/** Entries a range reads per native call: the first chunk of an open range, then at most. */
const RANGE_CHUNK_FIRST = 64;
const RANGE_CHUNK_MAX = 1000;
/** ...and the bytes after which a call stops early (LevelDB's default is 16 KiB, a few dozen blocks). */
const RANGE_CHUNK_BYTES = 1 << 20;

/** A Store on LevelDB (the `level` package): one database per data directory. */
export class LevelStore implements Store {
  private constructor(private readonly db: Db) {}

  /** Opens (creating if needed) the database at `path`. */
  static async open(path: string): Promise<LevelStore> {
    const db = new Level<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' });
    try {
      await db.open();
    } catch (err) {
      throw new LedgerStoreError(LedgerErrorCodes.STORE_FAILURE, `cannot open LevelDB at ${path}: ${(err as Error).message}`, { cause: err });
    }
    return new LevelStore(db);
  }

  // Point reads use LevelDB's synchronous get: a read from the memtable or block cache takes
  // microseconds, far less than a round trip through libuv's thread pool, and admission
  // does one or more per block.
  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.db.getSync(key) ?? undefined;
  }

  async getMany(keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    return keys.map((k) => this.db.getSync(k) ?? undefined);
  }

  async batch(ops: readonly BatchOp[]): Promise<void> {
    if (ops.length === 0) return;
    await this.db.batch(ops as BatchOp[]);
  }

  async *range(options: RangeOptions): AsyncIterable<[Uint8Array, Uint8Array]> {
    const it = this.db.iterator({
      gte: options.gte,
      lt: options.lt,
      reverse: options.reverse ?? false,
      limit: options.limit ?? -1,
      highWaterMarkBytes: RANGE_CHUNK_BYTES,
    });
    try {
      // entries come in chunks (one native call each): a bounded range (a chain page) asks
      // for all of it, an open one starts small since its reader may stop after a few. A
      // chunk may come back shorter (LevelDB caps a call's bytes); only an empty one ends it.
      let left = options.limit ?? -1;
      let size = left > 0 ? Math.min(left, RANGE_CHUNK_MAX) : RANGE_CHUNK_FIRST;
      while (left !== 0) {
        options.signal?.throwIfAborted();
        const entries = await it.nextv(size);
        if (entries.length === 0) break;
        for (const entry of entries) {
          options.signal?.throwIfAborted();
          yield entry;
        }
        if (left > 0) left -= entries.length;
        size = left > 0 ? Math.min(left, RANGE_CHUNK_MAX) : RANGE_CHUNK_MAX;
      }
    } finally {
      await it.close();
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
