import { expect, it } from '@jest/globals';
import { DEVNET_LEASE_PARAMS } from '@xe/core-types';
import { keyPairFromSeed } from '@xe/crypto';
import { buildReceive, createGenesisBundle, emptyHead, Ledger, MemoryStore, sealBlock } from '../../src/index.js';

it('README example', async () => {
  // --- README example start
  const key = (n: number) => keyPairFromSeed(new Uint8Array(32).fill(n));
  const alice = key(1);
  const bundle = await createGenesisBundle({
    networkId: 'devnet-1',
    difficulty: 0xf000000000000000n,
    timekeepers: { keys: [key(9).pubKeyHex], threshold: 1 },
    lease: DEVNET_LEASE_PARAMS,
    representatives: [{ address: key(4).address, weight: 1n }],
    treasuryKeys: { XE: key(2), XUSD: key(3) },
    allocations: [{ address: alice.address, asset: 'XUSD', amount: 5_000_000n }],
  });
  const ledger = await Ledger.open(new MemoryStore(), bundle); // or: await LevelStore.open(dir)
  const committed: string[] = [];
  ledger.events.on('block', ({ block }) => committed.push(block.hash));

  const [pending] = await ledger.pendingFor(alice.address);
  const head = (await ledger.getAccount(alice.address)) ?? emptyHead(alice.address, alice.pubKeyHex);
  const receive = await sealBlock(buildReceive(head, pending!, BigInt(Date.now()) * 1_000_000n), alice, {
    networkId: bundle.network_id,
    difficulty: bundle.pow_difficulty,
  });
  const result = await ledger.addBlock(receive, { origin: 'live' });
  // result.status === 'accepted'; (await ledger.getAccount(alice.address)).balances.XUSD === 5_000_000n
  // --- README example end
  expect(result.status).toBe('accepted');
  expect(committed).toEqual([receive.hash]);
  expect((await ledger.getAccount(alice.address))?.balances.XUSD).toBe(5_000_000n);
  expect((await ledger.checkConsistency()).ok).toBe(true);
});
