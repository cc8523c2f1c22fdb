import { expect, it } from '@jest/globals';
// The example of README.md, compiled and run (imports rewritten to the package source).
import { hashBlock, keyPairFromSeed, powWork, signBlock, solvePow, verifyBlockSignature, verifyPow } from '../../src/index.js';

it('README example', async () => {
  const lines: string[] = [];
  const log = (...a: unknown[]) => lines.push(a.map(String).join(' '));
  // --- example start ---
  const key = keyPairFromSeed('01'.repeat(32));
  const block = signBlock(
    {
      type: 'send',
      account: key.address,
      previous: '0',
      balance: 99_000_000n,
      timestamp: 1_781_802_000_000_000_001n,
      asset: 'XUSD',
      pub_key: key.pubKeyHex,
      destination: '22'.repeat(32),
      amount: 1_000_000n,
      memo: 'hello',
    },
    key,
    'devnet-1',
  );
  log(hashBlock(block, 'devnet-1') === block.hash, verifyBlockSignature(block, key.pubKeyHex, 'devnet-1')); // true true

  const difficulty = 0xfff0000000000000n;
  const { nonce } = await solvePow(block.hash, difficulty, { workers: 2 });
  log(verifyPow({ ...block, pow_nonce: nonce }, difficulty), powWork(block.hash, nonce) >= difficulty); // true true
  // --- example end ---
  expect(lines).toEqual(['true true', 'true true']);
});
