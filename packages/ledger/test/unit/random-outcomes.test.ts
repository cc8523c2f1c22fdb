import { describe, expect, it } from '@jest/globals';
import type { Block, Vote } from '@xe/core-types';
import type { KeyPair } from '@xe/crypto';
import { buildAccept, buildCancel, buildForceSettle, buildLease, buildSettle } from '../../src/index.js';
import { attest, certificateFor, expectAccepted, head, K, LEASE, S, seal, T0 } from '../helpers.js';
import { agreedDigest, type FWorld, fworld, REPS, votesFor } from '../support/finality.js';
import { rng } from '../support/generator.js';

function shuffle<T>(list: T[], rand: () => number): T[] {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

type Event = { kind: 'block'; block: Block } | { kind: 'vote'; vote: Vote };

/**
 * One scenario: a start pair (accept attested at the accept window's last nanosecond vs a
 * cancel attested at the first nanosecond the cancel is allowed) on alice's lease from
 * prov, and an end pair (settle at the settle grace's last nanosecond vs force-settle at
 * the first of its window) on bob's accepted lease from prov2. Honest representatives
 * (two of three, chosen at random) final-vote one candidate of each pair.
 */
async function scenario(rand: () => number) {
  const builder = await fworld();
  const cert = certificateFor(K.prov);
  const cert2 = certificateFor(K.prov2);
  const nodes: FWorld[] = [await fworld(undefined, builder.ledger), await fworld(undefined, builder.ledger)];
  for (const w of [builder, ...nodes]) {
    await w.ledger.addCertificate(cert);
    await w.ledger.addCertificate(cert2);
  }
  const res = { vcpus: 1n, memory_mb: 512n, disk_gb: 5n, duration: 600n, access_pub_key: K.carol.pubKeyHex, timestamp: T0 };
  const lease1 = await seal(buildLease(await head(builder.ledger, K.alice), { certificate: cert, ...res }), K.alice);
  const lease2 = await seal(buildLease(await head(builder.ledger, K.bob), { certificate: cert2, ...res }), K.bob);
  for (const b of [lease1, lease2]) expectAccepted(await builder.ledger.addBlock(b, { origin: 'sync' }));
  const rec1 = (await builder.ledger.getLease(lease1.hash))!;
  const rec2 = (await builder.ledger.getLease(lease2.hash))!;

  // start pair: both valid on their own, at the edges of their windows
  const tAccept = T0 + LEASE.accept_window_ns;
  const tCancel = T0 + LEASE.accept_window_ns + LEASE.max_attestation_skew_ns;
  const accept1 = await seal(buildAccept(await head(builder.ledger, K.prov), rec1, { attestations: attest(lease1.hash, tAccept), timestamp: tAccept }, LEASE), K.prov);
  const cancel1 = await seal(buildCancel(await head(builder.ledger, K.alice), rec1, { attestations: attest(lease1.hash, tCancel), timestamp: tCancel }), K.alice);

  // end pair on an accepted lease
  const start2 = T0 + 5n * S;
  const accept2 = await seal(buildAccept(await head(builder.ledger, K.prov2), rec2, { attestations: attest(lease2.hash, start2), timestamp: start2 }, LEASE), K.prov2);
  expectAccepted(await builder.ledger.addBlock(accept2, { origin: 'sync' }));
  const acc2 = (await builder.ledger.getLease(lease2.hash))!;
  const tSettle = acc2.expiry + LEASE.settle_grace_ns;
  const tForce = acc2.expiry + LEASE.settle_grace_ns + LEASE.force_settle_gap_ns;
  const settle2 = await seal(buildSettle(await head(builder.ledger, K.prov2), acc2, { attestations: attest(lease2.hash, tSettle), timestamp: tSettle }), K.prov2);
  const force2 = await seal(buildForceSettle(await head(builder.ledger, K.bob), acc2, { attestations: attest(lease2.hash, tForce), timestamp: tForce }), K.bob);

  const startWinner = rand() < 0.5 ? accept1 : cancel1;
  const endWinner = rand() < 0.5 ? settle2 : force2;
  const voters = (): KeyPair[] => shuffle(REPS, rand).slice(0, 2);
  const votes = [...votesFor(startWinner, voters()), ...votesFor(endWinner, voters()), ...votesFor(accept2, voters())];
  const blocks = [lease1, lease2, accept1, cancel1, accept2, settle2, force2];
  return { nodes, blocks, votes, lease1, lease2, startWinner, startLoser: startWinner === accept1 ? cancel1 : accept1, endWinner, endLoser: endWinner === settle2 ? force2 : settle2 };
}

/** Feeds blocks and votes in a random order; a block whose dependency is missing is offered again later. */
async function feed(w: FWorld, events: Event[], rand: () => number): Promise<void> {
  let pending = shuffle(events, rand);
  for (let pass = 0; pass < 20 && pending.length > 0; pass++) {
    const again: Event[] = [];
    for (const e of pending) {
      if (e.kind === 'vote') {
        const r = await w.ledger.addVote(e.vote, { origin: 'sync' });
        expect(['counted', 'duplicate', 'held']).toContain(r.status);
      } else {
        const r = await w.ledger.addBlock(e.block, { origin: 'sync' });
        if (r.status === 'rejected' && r.retryable) again.push(e);
      }
    }
    pending = shuffle(again, rand);
  }
  // the held votes of blocks that arrived late are replayed; a few ticks let nothing else move
  for (let i = 0; i < 3; i++) {
    w.clock.now += 3n * S;
    await w.ledger.finalityTick();
  }
}

describe('randomized lease outcomes (honest representatives)', () => {
  it.each([1, 2, 3, 4, 5, 6])('seed %i: two ledgers fed blocks and votes in different orders end identical, one outcome per pair', async (seed) => {
    const rand = rng(seed * 7919);
    const s = await scenario(rand);
    const events: Event[] = [...s.blocks.map((block) => ({ kind: 'block' as const, block })), ...s.votes.map((vote) => ({ kind: 'vote' as const, vote }))];
    for (const n of s.nodes) await feed(n, events, rand);
    for (const n of s.nodes) {
      expect(await n.ledger.isConfirmed(s.startWinner.hash)).toBe(true);
      expect(await n.ledger.isConfirmed(s.endWinner.hash)).toBe(true);
      // never both outcomes: the loser is gone
      expect(await n.ledger.hasBlock(s.startLoser.hash)).toBe(false);
      expect(await n.ledger.hasBlock(s.endLoser.hash)).toBe(false);
      expect((await n.ledger.getLease(s.lease1.hash))!.state).toBe(s.startWinner.type === 'lease_accept' ? 'accepted' : 'cancelled');
      expect((await n.ledger.getLease(s.lease2.hash))!.state).toBe(s.endWinner.type === 'lease_settle' ? 'settled' : 'unfulfilled');
      // balances, escrow, stake and the supply identity recompute exactly
      expect((await n.ledger.checkConsistency()).problems).toEqual([]);
    }
    expect(await agreedDigest(s.nodes[0]!.store)).toBe(await agreedDigest(s.nodes[1]!.store));
  });
});
