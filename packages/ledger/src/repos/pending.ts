import type { AbortOptions } from '@xe/core-types';
import { keys, prefixRange } from '../buckets.js';
import { decodePending, encodePending } from '../codec.js';
import { signalOf } from '../hex.js';
import type { BatchOp, Store } from '../store.js';
import type { PendingSend } from '../types.js';

/** Receivable sends (PENDING: destination · send hash → binary record). */
export class PendingRepo {
  constructor(private readonly store: Store) {}

  async get(destination: string, sendHash: string): Promise<PendingSend | undefined> {
    const v = await this.store.get(keys.pending(destination, sendHash));
    return v === undefined ? undefined : decodePending(v);
  }

  putOp(p: PendingSend): BatchOp {
    return { type: 'put', key: keys.pending(p.to, p.hash), value: encodePending(p) };
  }

  delOp(destination: string, sendHash: string): BatchOp {
    return { type: 'del', key: keys.pending(destination, sendHash) };
  }

  async listFor(address: string, options: { limit?: number } & AbortOptions = {}): Promise<PendingSend[]> {
    const out: PendingSend[] = [];
    const range = { ...prefixRange(keys.pendingPrefix(address)), ...signalOf(options) };
    for await (const [, v] of this.store.range(options.limit === undefined ? range : { ...range, limit: options.limit })) {
      out.push(decodePending(v));
    }
    return out;
  }
}
