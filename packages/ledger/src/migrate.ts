import { bytesToHex } from '@xe/core-types';
import { Bucket, keys, prefixRange } from './buckets.js';
import { LedgerErrorCodes as C, LedgerOpenError } from './errors.js';
import type { BatchOp, Store } from './store.js';

/** Chain entries moved per batch by `migrateToChainOrder`. */
const MIGRATE_PAGE = 512;

/**
 * Schema 2 → 3: blocks move into their chains. Schema 2 kept a block under its hash
 * (BLOCK: hash → u64 height · JSON) and its chain position as a pointer (CHAIN: address ·
 * height → hash); schema 3 keeps it at its position (CHAIN: address · height → hash ·
 * JSON) and the hash as a pointer (BLOCK: hash → address · height), so a chain reads as
 * one range. Each batch moves whole blocks (both records), so a crash leaves every block
 * in one form or the other: a rerun skips what moved (a chain value longer than a hash)
 * and the schema version is written only after the last batch. Returns the blocks moved.
 */
export async function migrateToChainOrder(store: Store): Promise<number> {
  const { gte, lt } = prefixRange(keys.bucket(Bucket.CHAIN));
  let from = gte;
  let moved = 0;
  for (;;) {
    const page: [Uint8Array, Uint8Array][] = [];
    for await (const e of store.range({ gte: from, lt, limit: MIGRATE_PAGE })) page.push(e);
    const ops: BatchOp[] = [];
    for (const [k, v] of page) {
      if (v.length !== 32) continue;
      const blockKey = keys.blockBytes(v);
      const old = await store.get(blockKey);
      if (old === undefined || old.length < 10) {
        throw new LedgerOpenError(C.SCHEMA_MISMATCH, `schema 2 store: the chain entry ${bytesToHex(k)} names a block that is not stored`);
      }
      const entry = new Uint8Array(32 + old.length - 8);
      entry.set(v, 0);
      entry.set(old.subarray(8), 32);
      ops.push({ type: 'put', key: k, value: entry }, { type: 'put', key: blockKey, value: k.slice(1) });
    }
    if (ops.length > 0) await store.batch(ops);
    moved += ops.length / 2;
    if (page.length < MIGRATE_PAGE) break;
    const last = page[page.length - 1]![0];
    from = new Uint8Array(last.length + 1);
    from.set(last, 0);
  }
  await store.batch([{ type: 'put', key: keys.meta('schema_version'), value: new TextEncoder().encode('3') }]);
  return moved;
}
