import { describe, expect, it } from '@jest/globals';
import type { Block, Vote } from '@xe/core-types';
import { buildSend, type Ledger, LedgerErrorCodes as C } from '../../src/index.js';
import { head, K, S, seal, T0 } from '../helpers.js';
import { agreedDigest, type FWorld, fworld, REPS } from '../support/finality.js';
import { rng } from '../support/generator.js';

const SENDERS = [K.alice, K.bob, K.carol];

/**
 * Per sender a chain of small sends; at some positions a conflicting sibling (a leaf).
 * Which side wins decides how long the chain ends up; every node must agree.
 */
async function history(ledger: Ledger, rand: () => number): Promise<Block[]> {
  const out: Block[] = [];
  for (const [si, k] of SENDERS.entries()) {
    let h = await head(ledger, k);
    for (let i = 0; i < 6; i++) {
      const to = SENDERS[(si + 1 + (i % 2)) % 3]!;
      const t = T0 + BigInt(i) * S;
      const b = await seal(buildSend(h, { destination: to.address, asset: 'XUSD', amount: BigInt(10 + i), timestamp: t }), k);
      out.push(b);
      if (rand() < 0.5) out.push(await seal(buildSend(h, { destination: to.address, asset: 'XUSD', amount: BigInt(1000 + i), timestamp: t }), k));
      h = { ...h, frontier: b.hash, height: h.height + 1n, balances: { ...h.balances, XUSD: b.balance } };
    }
  }
  return out;
}

async function settled(n: FWorld): Promise<boolean> {
  for (const f of await n.ledger.frontiers()) if ((await n.ledger.confirmedFrontier(f.account))?.frontier !== f.frontier) return false;
  return true;
}

describe('three voting ledgers, random arrival orders, many forks', () => {
  it('every position confirms one candidate, the same on every node', async () => {
    // SEEDS=1,2,3,… runs more orders (16 seeds pass)
    for (const seed of (process.env.SEEDS ?? '1,2').split(',').map(Number)) {
      const rand = rng(seed);
      const first = await fworld(REPS[0]);
      const nodes = [first, await fworld(REPS[1], first.ledger), await fworld(REPS[2], first.ledger)];
      const blocks = await history(first.ledger, rand);
      const inbox: Vote[][] = nodes.map(() => []);
      for (const [i, n] of nodes.entries()) {
        n.ledger.events.on('vote', (v: Vote) => {
          for (const j of nodes.keys()) if (j !== i) inbox[j]!.push(v);
        });
      }
      // each node its own order of blocks; retryable ones come back later
      const queues = nodes.map(() => [...blocks].sort(() => rand() - 0.5));
      let quiet = 0;
      const started = Date.now();
      for (let step = 0; step < 400 && quiet < 10 && Date.now() - started < 20_000; step++) {
        const before = queues.map((q) => q.length).join();
        for (const [j, n] of nodes.entries()) {
          const q = queues[j]!;
          const again: Block[] = [];
          for (const b of q.splice(0, 1 + Math.floor(rand() * 4))) {
            const r = await n.ledger.addBlock(b, { origin: 'live' });
            if (r.status === 'rejected' && r.retryable) again.push(b);
            else if (r.status === 'rejected') expect([C.FORK_HELD, C.FORK_CONFIRMED]).toContain(r.code);
          }
          q.push(...again);
          // deliver a random share of this node's pending votes, shuffled
          const pending = inbox[j]!.splice(0).sort(() => rand() - 0.5);
          const now = pending.filter(() => rand() < 0.7);
          inbox[j]!.push(...pending.filter((v) => !now.includes(v)));
          for (const v of now) await n.ledger.addVote(v);
        }
        for (const [j, n] of nodes.entries()) {
          n.clock.now += 400_000_000n; // a round timeout every few steps
          // blocks unconfirmed for 2 s: ask the peers for their confirmations (SPEC §12)
          for (const h of (await n.ledger.finalityTick()).fetch) {
            for (const [k, peer] of nodes.entries()) {
              const conf = k === j ? undefined : await peer.ledger.getConfirmation(h);
              if (conf !== undefined) await n.ledger.addConfirmation(conf);
            }
          }
        }
        // done when every node is settled and what is still queued never applies (built on a loser)
        const same = queues.map((q) => q.length).join() === before;
        quiet = same && inbox.every((q) => q.length === 0) && (await Promise.all(nodes.map(settled))).every(Boolean) ? quiet + 1 : 0;
      }
      // drain what is still in flight
      for (let pass = 0; pass < 20 && inbox.some((q) => q.length > 0); pass++) {
        for (const [j, n] of nodes.entries()) for (const v of inbox[j]!.splice(0)) await n.ledger.addVote(v);
      }
      for (const n of nodes) {
        expect(await settled(n)).toBe(true);
        expect((await n.ledger.checkConsistency()).problems).toEqual([]);
        expect(n.ledger.votingHalted).toBe(false);
      }
      const digests = await Promise.all(nodes.map((n) => agreedDigest(n.store)));
      expect(new Set(digests).size).toBe(1);
      const frontiers = await Promise.all(nodes.map(async (n) => (await n.ledger.getAccount(K.alice.address))!.frontier));
      expect(new Set(frontiers).size).toBe(1);
    }
  }, 60_000);
});
