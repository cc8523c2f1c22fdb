import { Level } from 'level';
import { LedgerErrorCodes, LedgerStoreError } from './errors.js';
import type { BatchOp, RangeOptions, Store } from './store.js';

type Db = Level<Uint8Array, Uint8Array>;

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
    });
    try {
      for await (const entry of it) {
        options.signal?.throwIfAborted();
        yield entry;
      }
    } finally {
      await it.close();
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
