import { describe, expect, it } from '@jest/globals';
import { buildSend, LedgerErrorCodes as C, type ConflictRecord, MemoryStore } from '../../src/index.js';
import { CONFLICTS_PER_ACCOUNT_MAX, ConflictRepo } from '../../src/repos/conflicts.js';
import { expectAccepted, head, K, seal, T0, world } from '../helpers.js';

const hash = (n: number) => n.toString(16).padStart(64, '0');

/** A record of a fork of `account`, detected at T0 + `at`. */
function record(account: string, n: number, at: number): ConflictRecord {
  const block = { type: 'send', account, previous: '0', balance: 0n, timestamp: T0, asset: 'XUSD', destination: account, amount: 1n, signature: '0'.repeat(128), hash: hash(n) } as const;
  return { account, previous: '0', existing: 'ee'.repeat(32), rejected: hash(n), block, detected_at: T0 + BigInt(at) };
}

async function write(store: MemoryStore, repo: ConflictRepo, records: ConflictRecord[]): Promise<void> {
  await store.batch(await repo.putOps(records));
}

describe('conflict records are bounded', () => {
  it(`one account signing endless forks keeps at most ${CONFLICTS_PER_ACCOUNT_MAX} records, its newest (it used to keep every one)`, async () => {
    const w = await world();
    const h = await head(w.ledger, K.alice);
    const first = await seal(buildSend(h, { destination: K.bob.address, asset: 'XUSD', amount: 1n, timestamp: T0 }), K.alice);
    expectAccepted(await w.ledger.addBlock(first, { origin: 'live' }));
    const forks: string[] = [];
    for (let i = 0; i < CONFLICTS_PER_ACCOUNT_MAX + 8; i++) {
      w.clock.now += 1n;
      const fork = await seal(buildSend(h, { destination: K.bob.address, asset: 'XUSD', amount: BigInt(2 + i), timestamp: T0 }), K.alice);
      expect(await w.ledger.addBlock(fork, { origin: 'live' })).toMatchObject({ status: 'rejected', code: C.FORK });
      forks.push(fork.hash);
    }
    const kept = await w.ledger.conflicts({ limit: 1000 });
    expect(kept).toHaveLength(CONFLICTS_PER_ACCOUNT_MAX);
    expect(new Set(kept.map((c) => c.rejected))).toEqual(new Set(forks.slice(-CONFLICTS_PER_ACCOUNT_MAX)));
    expect(await w.ledger.getConflict(forks[0]!)).toBeUndefined();
    await w.ledger.close();
  });

  it("past the total bound the oldest record goes, whoever's it is; per account the account's own oldest", async () => {
    const store = new MemoryStore();
    const repo = new ConflictRepo(store, { max: 5, perAccount: 2 });
    const [a, b, c] = [K.alice.address, K.bob.address, K.carol.address];
    await write(store, repo, [record(a, 1, 1), record(b, 2, 2), record(a, 3, 3)]);
    // a third of alice's: her oldest (1) goes, bob's stays
    await write(store, repo, [record(a, 4, 4)]);
    expect((await repo.list()).map((r) => r.rejected).sort()).toEqual([hash(2), hash(3), hash(4)]);
    // carol's two and bob's second fill the book; one more evicts the oldest of all (bob's 2)
    await write(store, repo, [record(c, 5, 5), record(c, 6, 6), record(b, 7, 7)]);
    expect(await repo.count()).toBe(5);
    expect(await repo.get(hash(2))).toBeUndefined();
    // the same record written again changes nothing
    await write(store, repo, [record(b, 7, 7)]);
    expect(await repo.count()).toBe(5);
    // a new repo over the same store rebuilds the order from the records
    const reopened = new ConflictRepo(store, { max: 5, perAccount: 2 });
    await write(store, reopened, [record(b, 8, 8)]);
    expect((await reopened.list()).map((r) => r.rejected).sort()).toEqual([hash(4), hash(5), hash(6), hash(7), hash(8)]);
  });
});
