import { describe, expect, it } from '@jest/globals';
import type { Block, Vote } from '@xe/core-types';
import { buildReceive, buildSend, Ledger, LedgerErrorCodes as C, MemoryStore } from '../../src/index.js';
import { K, seal, testBundle, TestClock, world } from '../helpers.js';
import { agreedDigest, CONFIRMED_BUCKET, PARAMS, REPS, votesFor } from '../support/finality.js';
import { certificates, generate, rng, USERS } from '../support/generator.js';

const KEYS = new Map([K.alice, K.bob, K.carol, K.prov, K.prov2].map((k) => [k.address, k]));

/** A conflicting send on the same previous as the canonical send `b` (1 micro-unit to someone else). */
async function forkOf(b: Extract<Block, { type: 'send' }>): Promise<Block> {
  const key = KEYS.get(b.account)!;
  const to = USERS.find((u) => u.address !== b.account && u.address !== b.destination)!;
  const head = { address: b.account, frontier: b.previous, height: 1n, balances: { XE: 0n, XUSD: 0n, [b.asset]: b.balance + b.amount } };
  return seal(buildSend(head, { destination: to.address, asset: b.asset, amount: 1n, timestamp: b.timestamp }), key);
}

/**
 * Feeds canonical chains (each in order, chains interleaved at random), conflicting forks
 * and the representatives' final votes in a random order. A retryable rejection blocks the
 * chain until something else lands; a held canonical block is applied once its votes
 * confirm it.
 */
async function feed(ledger: Ledger, chains: Map<string, Block[]>, forks: Block[], votes: Vote[], seed: number) {
  const rand = rng(seed);
  const next = new Map([...chains.keys()].map((a) => [a, 0]));
  const forkQueue = [...forks];
  const voteQueue = [...votes].sort(() => rand() - 0.5);
  const stats = { held: 0, forkApplied: 0, forkConfirmedSibling: 0, votes: 0 };
  let blocked = new Set<string>();
  for (;;) {
    const open = [...next].filter(([a, i]) => i < chains.get(a)!.length && !blocked.has(a)).map(([a]) => a);
    const r = rand();
    if (voteQueue.length > 0 && (r < 0.15 || open.length === 0)) {
      await ledger.addVote(voteQueue.pop()!, { origin: 'sync' });
      stats.votes++;
      blocked = new Set();
      continue;
    }
    if (forkQueue.length > 0 && (r < 0.5 || open.length === 0)) {
      const i = Math.floor(rand() * forkQueue.length);
      const res = await ledger.addBlock(forkQueue[i]!, { origin: 'sync' });
      if (res.status === 'rejected' && res.retryable) {
        if (open.length === 0) break;
        continue;
      }
      forkQueue.splice(i, 1);
      if (res.status === 'accepted') stats.forkApplied++;
      if (res.status === 'rejected' && res.code === C.FORK_CONFIRMED) stats.forkConfirmedSibling++;
      blocked = new Set();
      continue;
    }
    if (open.length === 0) break;
    const acct = open[Math.floor(rand() * open.length)]!;
    const head = chains.get(acct)![next.get(acct)!]!;
    // half the time a canonical send's fork arrives just before it (and is applied first)
    const rival = forkQueue.findIndex((f) => f.account === head.account && f.previous === head.previous);
    if (rival >= 0 && rand() < 0.5) {
      const [f] = forkQueue.splice(rival, 1);
      if ((await ledger.addBlock(f!, { origin: 'sync' })).status === 'accepted') stats.forkApplied++;
    }
    const res = await ledger.addBlock(head, { origin: 'sync' });
    if (res.status === 'accepted' || res.status === 'duplicate' || (res.status === 'rejected' && res.code === C.FORK_HELD)) {
      if (res.status === 'rejected') stats.held++;
      next.set(acct, next.get(acct)! + 1);
      blocked = new Set();
    } else if (res.status === 'rejected' && res.retryable) {
      blocked.add(acct);
    } else {
      throw new Error(`canonical block rejected: ${JSON.stringify(res)}`);
    }
  }
  // chains blocked on a block that arrived as held: now that every vote is in, finish them
  for (const [acct, list] of chains) {
    for (let i = next.get(acct)!; i < list.length; i++) {
      const res = await ledger.addBlock(list[i]!, { origin: 'sync' });
      if (res.status !== 'accepted' && res.status !== 'duplicate') throw new Error(`left over: ${JSON.stringify(res)}`);
    }
  }
  return stats;
}

describe('randomized blocks with forks and votes', () => {
  it('two ledgers fed the same blocks, forks and votes in different orders end in one state', async () => {
    const gen = await world();
    const g = await generate(gen.ledger, 300, 0xf0f0);
    const treasuries = new Set(gen.bundle.blocks.map((b) => b.account));
    const chains = new Map<string, Block[]>();
    for (const f of await gen.ledger.frontiers()) {
      if (!treasuries.has(f.account)) chains.set(f.account, await gen.ledger.blocksAfter(f.account, 0n, 1_000_000));
    }
    const canonical = [...chains.values()].flat();
    const sends = canonical.filter((b): b is Extract<Block, { type: 'send' }> => b.type === 'send');
    const forks = await Promise.all(sends.filter((_, i) => i % 4 === 0).map(forkOf));
    expect(forks.length).toBeGreaterThan(10);
    // every fork is also received by its destination, right after the destination's opening
    // receives (competing with its canonical block there): when the fork loses, its receive
    // goes with it (a dependent on another chain)
    const bundleHashes = new Set(gen.bundle.blocks.map((b) => b.hash));
    const receivers = new Set<string>();
    for (const f of [...forks]) {
      if (f.type !== 'send') continue;
      const chain = chains.get(f.destination)!;
      let k = 0;
      while (k < chain.length && chain[k]!.type === 'receive' && bundleHashes.has((chain[k] as { source: string }).source)) k++;
      const opening = chain.slice(0, k);
      const last = opening[k - 1]!;
      const balance = [...opening].reverse().find((b) => b.asset === f.asset)?.balance ?? 0n;
      const headView = { address: f.destination, frontier: last.hash, height: BigInt(k), balances: { XE: 0n, XUSD: 0n, [f.asset]: balance } };
      const recv = buildReceive(headView, { hash: f.hash, from: f.account, to: f.destination, asset: f.asset, amount: f.amount }, last.timestamp);
      forks.push(await seal(recv, KEYS.get(f.destination)!));
      receivers.add(f.destination);
    }
    expect(receivers.size).toBeGreaterThan(1);
    const votes = canonical.flatMap((b) => votesFor(b, [REPS[0]!, REPS[1]!]));
    expect(g.all.length).toBeGreaterThan(150);

    const expected = await agreedDigest(gen.store, [CONFIRMED_BUCKET]);
    const digests: string[] = [];
    const heldCounts: number[] = [];
    const reasons: Set<string>[] = [];
    for (const seed of [11, 12]) {
      const store = new MemoryStore();
      const ledger = await Ledger.open(store, await testBundle(), { clock: new TestClock().fn, finality: { params: PARAMS } });
      for (const c of certificates()) await ledger.addCertificate(c);
      const stats = await feed(ledger, chains, forks, votes, seed);
      heldCounts.push(stats.held + stats.forkApplied);
      reasons.push(new Set((await ledger.conflicts({ limit: 1000 })).map((c) => c.reason ?? 'fork')));
      expect((await ledger.checkConsistency()).problems).toEqual([]);
      for (const b of canonical) expect(await ledger.isConfirmed(b.hash)).toBe(true);
      for (const f of forks) expect(await ledger.hasBlock(f.hash)).toBe(false);
      expect(await agreedDigest(store, [CONFIRMED_BUCKET])).toBe(expected);
      digests.push(await agreedDigest(store));
    }
    // forks really competed: some were applied first and rolled back, or held beside the canonical block
    expect(heldCounts.every((n) => n > 0)).toBe(true);
    expect(digests[0]).toBe(digests[1]);
    expect(reasons.some((r) => r.has('dependent'))).toBe(true);
  }, 60_000);
});
