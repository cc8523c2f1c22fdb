import { type Confirmation, parseConfirmation } from '@xe/core-types';
import { keys, readU64, u64Bytes } from '../buckets.js';
import { decodeJson, encodeJson } from '../codec.js';
import type { BatchOp, Store } from '../store.js';

/** Confirmations kept with blocks (CONFIRMATION) and each account's confirmed height (CONFIRMED). */
export class ConfirmationRepo {
  constructor(private readonly store: Store) {}

  async get(hash: string): Promise<Confirmation | undefined> {
    const v = await this.store.get(keys.confirmation(hash));
    return v === undefined ? undefined : parseConfirmation(decodeJson<unknown>(v));
  }

  putOp(c: Confirmation): BatchOp {
    return { type: 'put', key: keys.confirmation(c.block_hash), value: encodeJson(c) };
  }

  async height(address: string): Promise<bigint> {
    const v = await this.store.get(keys.confirmed(address));
    return v === undefined ? 0n : readU64(v);
  }

  heightOp(address: string, height: bigint): BatchOp {
    return { type: 'put', key: keys.confirmed(address), value: u64Bytes(height) };
  }
}
