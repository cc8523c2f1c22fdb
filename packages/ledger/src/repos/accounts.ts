import type { AbortOptions, Asset } from '@xe/core-types';
import { Bucket, keys, prefixRange } from '../buckets.js';
import { decodeAccount, encodeAccount } from '../codec.js';
import { signalOf } from '../hex.js';
import type { BatchOp, Store } from '../store.js';
import type { AccountState } from '../types.js';

const CACHE_MAX = 100_000;

/**
 * Account heads (ACCOUNT), with a bounded cache. The cache is updated only after a batch
 * that wrote the head succeeded (`remember`), and dropped whole when a batch fails.
 */
export class AccountRepo {
  private readonly cache = new Map<string, AccountState>();
  /** the bytes a head was read from or written as (heads are not changed once built) */
  private readonly bytes = new WeakMap<AccountState, Uint8Array>();

  constructor(private readonly store: Store) {}

  async get(address: string): Promise<AccountState | undefined> {
    const cached = this.cache.get(address);
    if (cached) return cached;
    const v = await this.store.get(keys.account(address));
    if (v === undefined) return undefined;
    const a = decodeAccount(v);
    this.bytes.set(a, v);
    this.remember(a);
    return a;
  }

  putOp(a: AccountState): BatchOp {
    const value = encodeAccount(a);
    this.bytes.set(a, value);
    return { type: 'put', key: keys.account(a.address), value };
  }

  /** The stored form of a head this repository read or wrote (encoded again for any other). */
  encoded(a: AccountState): Uint8Array {
    return this.bytes.get(a) ?? encodeAccount(a);
  }

  delOp(address: string): BatchOp {
    return { type: 'del', key: keys.account(address) };
  }

  remember(a: AccountState): void {
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(a.address, a);
  }

  forget(address: string): void {
    this.cache.delete(address);
  }

  clearCache(): void {
    this.cache.clear();
  }

  /** Every stored head, in address order. */
  async *all(options: AbortOptions = {}): AsyncIterable<AccountState> {
    for await (const [, v] of this.store.range({ ...prefixRange(keys.bucket(Bucket.ACCOUNT)), ...signalOf(options) })) {
      yield decodeAccount(v);
    }
  }

  /** Sum of every account's balance of `asset`. */
  async balanceSum(asset: Asset, options: AbortOptions = {}): Promise<bigint> {
    let sum = 0n;
    for await (const a of this.all(options)) sum += a.balances[asset];
    return sum;
  }
}
