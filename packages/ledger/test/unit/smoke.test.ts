import { describe, expect, it } from '@jest/globals';
import { K, world, XUSD } from '../helpers.js';

describe('smoke', () => {
  it('opens, applies the bundle and receives allocations', async () => {
    const w = await world();
    const a = await w.ledger.getAccount(K.alice.address);
    expect(a?.balances).toEqual({ XE: XUSD(50n), XUSD: XUSD(1000n) });
    const rep = await w.ledger.checkConsistency();
    expect(rep.problems).toEqual([]);
  });
});
