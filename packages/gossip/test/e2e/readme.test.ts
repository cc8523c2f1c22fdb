import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { peerIdFromPubKeyHex } from '../../src/index.js';
import { example } from '../support/readme-example.js';

describe('README example', () => {
  it('is the code in README.md, and runs', async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const code = readFileSync(new URL('../support/readme-example.ts', import.meta.url), 'utf8').replace("'../../src/index.js'", "'@xe/gossip'");
    expect(readme).toContain(code.trim());
    const bobPeerId = peerIdFromPubKeyHex('8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394');
    expect(await example()).toEqual({ seen: { lease_hash: 'cd'.repeat(32) }, from: bobPeerId });
  });
});
