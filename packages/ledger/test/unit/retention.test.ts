import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from '@jest/globals';
import { type Block, parseBlockSealed, parseJson, stringifyJson } from '@xe/core-types';
import { buildSend } from '../../src/index.js';
import { head, K, seal, T0, XUSD } from '../helpers.js';
import { fworld } from '../support/finality.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
setFlagsFromString('--no-expose-gc');

const heapMb = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

describe('what an admitted block keeps alive', () => {
  it('not the text it was parsed from: a synced page is freed once its blocks are admitted', async () => {
    const w = await fworld();
    const blocks: Block[] = [];
    let h = await head(w.ledger, K.alice);
    for (let i = 0; i < 20; i++) {
      const b = await seal(buildSend(h, { destination: K.bob.address, asset: 'XUSD', amount: XUSD(1n), timestamp: T0 + BigInt(i) }), K.alice);
      blocks.push(b);
      h = { ...h, frontier: b.hash, height: h.height + 1n, balances: { ...h.balances, XUSD: b.balance } };
    }
    const before = heapMb();
    // a page as sync receives it: one long text (8 MiB here), every block parsed out of it
    await (async () => {
      const text = stringifyJson({ type: 'page', pad: 'x'.repeat(8 << 20), blocks });
      const page = parseJson(text) as { blocks: unknown[] };
      for (const raw of page.blocks) expect((await w.ledger.addBlock(parseBlockSealed(raw), { origin: 'sync' })).status).toBe('accepted');
    })();
    // the blocks are tracked until confirmed and alice's head is cached: neither holds the text
    expect(heapMb() - before).toBeLessThan(4);
    expect((await w.ledger.getAccount(K.alice.address))?.frontier).toBe(blocks.at(-1)!.hash);
  });
});
