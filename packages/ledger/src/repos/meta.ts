import { keys } from '../buckets.js';
import type { BatchOp, Store } from '../store.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Named text values: network id, network hash, schema version. */
export class MetaRepo {
  constructor(private readonly store: Store) {}

  async get(name: string): Promise<string | undefined> {
    const v = await this.store.get(keys.meta(name));
    return v === undefined ? undefined : dec.decode(v);
  }

  putOp(name: string, value: string): BatchOp {
    return { type: 'put', key: keys.meta(name), value: enc.encode(value) };
  }
}
