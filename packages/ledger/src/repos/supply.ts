import { ASSETS, type Asset } from '@xe/core-types';
import { keys } from '../buckets.js';
import { decodeSupply, encodeSupply } from '../codec.js';
import type { BatchOp, Store } from '../store.js';
import type { SupplyCounters } from '../types.js';

export const ZERO_SUPPLY: Readonly<SupplyCounters> = { genesis: 0n, emitted: 0n, burned: 0n, forfeited: 0n, locked: 0n, pending: 0n };

export function sameSupply(a: SupplyCounters, b: SupplyCounters): boolean {
  return (
    a.genesis === b.genesis &&
    a.emitted === b.emitted &&
    a.burned === b.burned &&
    a.forfeited === b.forfeited &&
    a.locked === b.locked &&
    a.pending === b.pending
  );
}

/** Per-asset supply counters (SUPPLY), held in memory and written only when they change. */
export class SupplyRepo {
  private counters = new Map<Asset, SupplyCounters>();

  constructor(private readonly store: Store) {}

  /** (Re)reads the stored counters. */
  async load(): Promise<void> {
    const m = new Map<Asset, SupplyCounters>();
    for (const a of ASSETS) {
      const v = await this.store.get(keys.supply(a));
      m.set(a, v === undefined ? { ...ZERO_SUPPLY } : decodeSupply(v));
    }
    this.counters = m;
  }

  /** A copy of the current counters of `asset`, to change inside a mutation. */
  copyOf(asset: Asset): SupplyCounters {
    return { ...(this.counters.get(asset) ?? ZERO_SUPPLY) };
  }

  current(asset: Asset): Readonly<SupplyCounters> {
    return this.counters.get(asset) ?? ZERO_SUPPLY;
  }

  /** Writes for the counters in `changed` that differ from the current ones. */
  putOps(changed: ReadonlyMap<Asset, SupplyCounters>): BatchOp[] {
    const ops: BatchOp[] = [];
    for (const [asset, counters] of changed) {
      if (!sameSupply(counters, this.current(asset))) ops.push({ type: 'put', key: keys.supply(asset), value: encodeSupply(counters) });
    }
    return ops;
  }

  /** Takes `changed` as current (after its batch succeeded). */
  remember(changed: ReadonlyMap<Asset, SupplyCounters>): void {
    for (const [asset, counters] of changed) this.counters.set(asset, counters);
  }

  snapshot(): Map<Asset, SupplyCounters> {
    return new Map([...this.counters].map(([a, s]) => [a, { ...s }]));
  }
}
