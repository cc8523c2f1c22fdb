import { type AbortOptions, type Block, bytesToHex } from '@xe/core-types';
import { keys, prefixRange, readU64 } from '../buckets.js';
import { decodeChainEntry, encodeChainEntry, type StoredBlock, type StoredBlockSummary, summarizeChainEntry } from '../codec.js';
import { signalOf } from '../hex.js';
import type { BatchOp, Store } from '../store.js';

/** Where a block sits: its account and chain height (the BLOCK record, SPEC-silent layout; see README). */
export interface BlockPlace {
  account: string;
  height: bigint;
}

/**
 * Stored blocks. A block lives in its account's chain (CHAIN: address · height → hash ·
 * block JSON), so a chain reads as one range in order; BLOCK (hash → address · height)
 * finds it by hash. A lookup by hash is two reads, a chain page one range.
 */
export class BlockRepo {
  constructor(private readonly store: Store) {}

  async get(hash: string): Promise<StoredBlock | undefined> {
    const ref = await this.store.get(keys.block(hash));
    if (ref === undefined) return undefined;
    const v = await this.store.get(keys.chainOfPlace(ref));
    return v === undefined ? undefined : { height: decodePlace(ref).height, block: decodeChainEntry(v).block };
  }

  /** The account and height of a stored block, one read (no JSON parsed). */
  async place(hash: string): Promise<BlockPlace | undefined> {
    const ref = await this.store.get(keys.block(hash));
    return ref === undefined ? undefined : decodePlace(ref);
  }

  async has(hash: string): Promise<boolean> {
    return (await this.store.get(keys.block(hash))) !== undefined;
  }

  /** As `has`, from the hash's 32 bytes. */
  async hasDigest(digest: Uint8Array): Promise<boolean> {
    return (await this.store.get(keys.blockBytes(digest))) !== undefined;
  }

  /** The block at `height` of its chain, and its hash's place. */
  putOps(block: Block, digest: Uint8Array, height: bigint): BatchOp[] {
    const chainKey = keys.chain(block.account, height);
    return [
      { type: 'put', key: chainKey, value: encodeChainEntry(digest, block) },
      // the place is the chain key without its bucket byte
      { type: 'put', key: keys.blockBytes(digest), value: chainKey.subarray(1) },
    ];
  }

  /** The block and its place, removed (a dropped candidate). */
  delOps(block: Block, height: bigint): BatchOp[] {
    return [
      { type: 'del', key: keys.block(block.hash) },
      { type: 'del', key: keys.chain(block.account, height) },
    ];
  }

  /** The hash at `height` of `address`'s chain. */
  async hashAt(address: string, height: bigint): Promise<Uint8Array | undefined> {
    return (await this.store.get(keys.chain(address, height)))?.subarray(0, 32);
  }

  /** Blocks of `account`'s chain with height > `height`, ascending, at most `limit`. */
  async after(account: string, height: bigint, limit: number, options: AbortOptions = {}): Promise<Block[]> {
    return (await this.entriesAfter(account, height, limit, options)).map((v) => decodeChainEntry(v).block);
  }

  /** As `after`, each block as the UTF-8 of its JSON as stored (`stringifyJson`'s text) with its type, timestamp and certificate. */
  async afterJson(account: string, height: bigint, limit: number, options: AbortOptions = {}): Promise<StoredBlockSummary[]> {
    return (await this.entriesAfter(account, height, limit, options)).map(summarizeChainEntry);
  }

  private async entriesAfter(account: string, height: bigint, limit: number, options: AbortOptions): Promise<Uint8Array[]> {
    const from = height < 0n ? 0n : height;
    const prefix = keys.chainPrefix(account);
    const out: Uint8Array[] = [];
    for await (const [, v] of this.store.range({ gte: keys.chain(account, from + 1n), lt: prefixRange(prefix).lt, limit, ...signalOf(options) })) out.push(v);
    return out;
  }
}

/** A BLOCK value (the block's CHAIN key without its bucket byte) read back. */
export function decodePlace(ref: Uint8Array): BlockPlace {
  return { account: bytesToHex(ref.subarray(0, 32)), height: readU64(ref, 32) };
}

/** Bytes of a BLOCK value: address32 · u64 height. */
export const PLACE_BYTES = 40;
