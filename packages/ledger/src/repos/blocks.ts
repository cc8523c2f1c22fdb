import type { AbortOptions, Block } from '@xe/core-types';
import { Bucket, keys, prefixRange } from '../buckets.js';
import { decodeBlock, encodeBlock, type StoredBlock, type StoredBlockSummary, summarizeStoredBlock } from '../codec.js';
import { signalOf } from '../hex.js';
import type { BatchOp, Store } from '../store.js';

/** Stored blocks (BLOCK) and each account's chain index (CHAIN: address · height → hash). */
export class BlockRepo {
  constructor(private readonly store: Store) {}

  async get(hash: string): Promise<StoredBlock | undefined> {
    const v = await this.store.get(keys.block(hash));
    return v === undefined ? undefined : decodeBlock(v);
  }

  async has(hash: string): Promise<boolean> {
    return (await this.store.get(keys.block(hash))) !== undefined;
  }

  /** As `has`, from the hash's 32 bytes. */
  async hasDigest(digest: Uint8Array): Promise<boolean> {
    return (await this.store.get(keys.blockBytes(digest))) !== undefined;
  }

  /** The block and its chain entry at `height`. */
  putOps(block: Block, digest: Uint8Array, height: bigint): BatchOp[] {
    return [
      { type: 'put', key: keys.blockBytes(digest), value: encodeBlock(height, block) },
      { type: 'put', key: keys.chain(block.account, height), value: digest },
    ];
  }

  /** The block and its chain entry, removed (a dropped candidate). */
  delOps(block: Block, height: bigint): BatchOp[] {
    return [
      { type: 'del', key: keys.block(block.hash) },
      { type: 'del', key: keys.chain(block.account, height) },
    ];
  }

  /** The hash at `height` of `address`'s chain. */
  async hashAt(address: string, height: bigint): Promise<Uint8Array | undefined> {
    return this.store.get(keys.chain(address, height));
  }

  /** Blocks of `account`'s chain with height > `height`, ascending, at most `limit`. */
  async after(account: string, height: bigint, limit: number, options: AbortOptions = {}): Promise<Block[]> {
    return (await this.storedAfter(account, height, limit, options)).map((v) => decodeBlock(v).block);
  }

  /** As `after`, each block as the UTF-8 of its JSON as stored (`stringifyJson`'s text) with its type, timestamp and certificate. */
  async afterJson(account: string, height: bigint, limit: number, options: AbortOptions = {}): Promise<StoredBlockSummary[]> {
    return (await this.storedAfter(account, height, limit, options)).map(summarizeStoredBlock);
  }

  private async storedAfter(account: string, height: bigint, limit: number, options: AbortOptions): Promise<Uint8Array[]> {
    const from = height < 0n ? 0n : height;
    const prefix = keys.chainPrefix(account);
    const refs: Uint8Array[] = [];
    for await (const [, v] of this.store.range({ gte: keys.chain(account, from + 1n), lt: prefixRange(prefix).lt, limit, ...signalOf(options) })) {
      refs.push(new Uint8Array([Bucket.BLOCK, ...v]));
    }
    return (await this.store.getMany(refs)).filter((v): v is Uint8Array => v !== undefined);
  }
}
