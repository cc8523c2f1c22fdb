import { describe, expect, it } from '@jest/globals';
import { Ledger, MemoryStore, stateDigest } from '../../src/index.js';
import { generate, replay } from '../support/generator.js';
import { world } from '../helpers.js';

describe('randomized blocks from several accounts', () => {
  it('keeps the supply identity and reaches the same state from different valid orders', async () => {
    const gen = await world();
    const checkpoints: number[] = [];
    const g = await generate(gen.ledger, 2000, 0x5eed, async (step) => {
      const rep = await gen.ledger.checkConsistency();
      expect(rep.problems).toEqual([]);
      checkpoints.push(step);
    });
    expect(checkpoints.length).toBe(8);
    expect(g.all.length).toBeGreaterThan(1200);
    expect(g.invalidAtFrontier).toBeGreaterThan(200);
    const types = new Set(g.all.map((b) => b.type));
    for (const t of ['send', 'receive', 'lease', 'lease_accept', 'lease_settle', 'lease_cancel', 'lease_force_settle']) expect(types).toContain(t);
    const expected = await stateDigest(gen.store);

    // replay every non-treasury chain as stored (this includes the allocation receives)
    const treasuries = new Set(gen.bundle.blocks.map((b) => b.account));
    const chains = new Map();
    for (const f of await gen.ledger.frontiers()) {
      if (!treasuries.has(f.account)) chains.set(f.account, await gen.ledger.blocksAfter(f.account, 0n, 1_000_000));
    }
    const all = [...chains.values()].flat();
    expect(all.length).toBe(g.all.length + 6);
    const results = [];
    for (const seed of [1, 2]) {
      const store = new MemoryStore();
      const ledger = await Ledger.open(store, gen.bundle);
      const { retried } = await replay(ledger, { ...g, chains, all }, seed);
      expect((await ledger.checkConsistency()).problems).toEqual([]);
      results.push({ digest: await stateDigest(store), retried });
    }
    expect(results[0]!.retried).toBeGreaterThan(0);
    expect(results.map((r) => r.digest)).toEqual([expected, expected]);
  });
});
