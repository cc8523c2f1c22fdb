import { describe, expect, it } from '@jest/globals';
import { type Block, parseFinalityParams, type Vote } from '@xe/core-types';
import { keyPairFromSeed, signVote } from '@xe/crypto';
import {
  buildAccept,
  buildCancel,
  buildForceSettle,
  buildLease,
  buildReceive,
  buildSend,
  buildSettle,
  Election,
  MAX_HELD_VOTES, LedgerErrorCodes as C, verifyConfirmation } from '../../src/index.js';
import { attest, certificateFor, expectAccepted, head, K, LEASE, NETWORK, S, seal, T0, XUSD } from '../helpers.js';
import { agreedDigest, type FWorld, fworld, PARAMS, REPS, votesFor } from '../support/finality.js';

const stranger = keyPairFromSeed(new Uint8Array(32).fill(0x99));

/** Two sends of alice on the same previous: to bob (5 XUSD) and to carol (7 XUSD). */
async function forkPair(w: FWorld): Promise<[Block, Block]> {
  const h = await head(w.ledger, K.alice);
  const a = await seal(buildSend(h, { destination: K.bob.address, asset: 'XUSD', amount: XUSD(5n), timestamp: T0 }), K.alice);
  const b = await seal(buildSend(h, { destination: K.carol.address, asset: 'XUSD', amount: XUSD(7n), timestamp: T0 }), K.alice);
  return [a, b];
}

/** Every account's frontier is confirmed. */
async function allConfirmed(ledger: FWorld['ledger']): Promise<boolean> {
  for (const f of await ledger.frontiers()) if ((await ledger.confirmedFrontier(f.account))?.frontier !== f.frontier) return false;
  return true;
}

async function feedVotes(w: FWorld, votes: Vote[]): Promise<string[]> {
  const out: string[] = [];
  for (const v of votes) out.push((await w.ledger.addVote(v, { origin: 'live' })).status);
  return out;
}

/**
 * Every vote a node casts goes to the others' inboxes (and to `onCast`); `deliver` hands the
 * inboxes over, pass after pass, until none is left or `maxPasses` ran.
 */
function relayVotes(nodes: FWorld[], onCast?: (i: number, v: Vote) => void) {
  const inbox: Vote[][] = nodes.map(() => []);
  for (const [i, n] of nodes.entries()) {
    n.ledger.events.on('vote', (v) => {
      onCast?.(i, v);
      for (const j of nodes.keys()) if (j !== i) inbox[j]!.push(v);
    });
  }
  const deliver = async (maxPasses = 100) => {
    for (let pass = 0; pass < maxPasses && inbox.some((q) => q.length > 0); pass++) {
      for (const [j, n] of nodes.entries()) for (const v of inbox[j]!.splice(0)) await n.ledger.addVote(v);
    }
  };
  return { inbox, deliver };
}

describe('finality params', () => {
  it('parses and validates: quorum 51..100, weights > 0, no duplicates', () => {
    const json = { representatives: [{ address: REPS[0]!.address, weight: 2 }], quorum_pct: 67 };
    expect(parseFinalityParams(json)).toEqual({ representatives: [{ address: REPS[0]!.address, weight: 2n }], quorum_pct: 67 });
    const bad = [
      { ...json, quorum_pct: 50 },
      { ...json, quorum_pct: 101 },
      { ...json, representatives: [{ address: REPS[0]!.address, weight: 0 }] },
      { ...json, representatives: [json.representatives[0], json.representatives[0]] },
      { ...json, representatives: [] },
      { ...json, extra: 1 },
    ];
    for (const b of bad) expect(() => parseFinalityParams(b)).toThrow();
  });
});

describe('Election (pure)', () => {
  const pos = { type: 'chain' as const, account: K.alice.address, previous: '0' as const };
  const weights = new Map(REPS.map((r) => [r.address, 1n]));
  const X = '11'.repeat(32);
  const Y = '22'.repeat(32);
  const Z = '33'.repeat(32);
  const v = (i: number, hash: string, round: number, final = false, timestamp = T0) =>
    signVote({ position: pos, block_hash: hash, round, final, timestamp }, REPS[i]!, NETWORK);
  const fresh = () => {
    const e = new Election(pos, weights, 3n, 60);
    for (const h of [Y, X, Z]) e.addCandidate(h);
    return e;
  };

  it('round 0: the first valid candidate held; later: most weight, ties to the lowest hash', () => {
    const e = fresh();
    expect(e.choose(0, undefined, () => true)).toBe(Y);
    expect(e.choose(0, undefined, (h) => h !== Y)).toBe(X);
    expect(e.choose(1, undefined, () => true)).toBe(Y); // no votes: the first
    e.add(v(0, Z, 0));
    e.add(v(1, X, 0));
    expect(e.choose(1, undefined, () => true)).toBe(X); // 1 : 1, X < Z
    e.add(v(2, Z, 0));
    expect(e.choose(1, undefined, () => true)).toBe(Z);
  });

  it('keeps its lock unless another candidate reached converge quorum in a later round', () => {
    const e = fresh();
    e.add(v(0, X, 0));
    e.add(v(1, X, 0));
    expect(e.convergeQuorum()).toMatchObject({ hash: X, round: 0 });
    const lock = { block_hash: X, round: 0 };
    e.add(v(2, Z, 1));
    expect(e.choose(2, lock, () => true)).toBe(X);
    e.add(v(1, Z, 1, false, T0 + 1n));
    expect(e.convergeQuorum(1)).toMatchObject({ hash: Z, round: 1 });
    expect(e.choose(2, lock, () => true)).toBe(Z);
  });

  it('keeps the highest (round, timestamp) per representative; decides on final quorum in one round', () => {
    const e = fresh();
    expect(e.add(v(0, X, 1, true))).toBe('counted');
    expect(e.add(v(0, Y, 0, true))).toBe('superseded');
    expect(e.add(v(0, Y, 1, true))).toBe('equivocation');
    expect(e.add(v(1, X, 2, true))).toBe('counted');
    expect(e.finalWinner()).toBeUndefined(); // finals in rounds 1 and 2: no single round has quorum
    expect(e.add(v(0, X, 2, true, T0 + 5n))).toBe('counted');
    expect(e.finalWinner()).toMatchObject({ hash: X, round: 2, weight: 2n });
  });
});

describe('finality: failures first', () => {
  it('rejects a forged vote, a vote by a non-representative, a stale live vote; holds votes for unknown blocks', async () => {
    const w = await fworld();
    const [a] = await forkPair(w);
    expectAccepted(await w.ledger.addBlock(a, { origin: 'live' }));
    const [good] = votesFor(a, [REPS[0]!]);
    const forged = { ...good!, block_hash: 'ab'.repeat(32) };
    expect(await w.ledger.addVote(forged)).toMatchObject({ status: 'rejected', code: C.VOTE_INVALID });
    const foreignKey = { ...good!, pub_key: REPS[1]!.pubKeyHex };
    expect(await w.ledger.addVote(foreignKey)).toMatchObject({ status: 'rejected', code: C.VOTE_INVALID });
    expect(await w.ledger.addVote(votesFor(a, [stranger])[0])).toMatchObject({ status: 'rejected', code: C.NOT_A_REPRESENTATIVE });
    const stale = votesFor(a, [REPS[0]!], { timestamp: T0 - 301n * S })[0]!;
    expect(await w.ledger.addVote(stale)).toMatchObject({ status: 'rejected', code: C.VOTE_STALE });
    expect((await w.ledger.addVote(stale, { origin: 'sync' })).status).toBe('counted');
    expect(await w.ledger.addVote({ nope: 1 })).toMatchObject({ status: 'rejected', code: C.BAD_SHAPE });
    const unknown = signVote({ position: { type: 'chain', account: K.bob.address, previous: '0' }, block_hash: 'cd'.repeat(32), round: 0, final: true, timestamp: T0 }, REPS[0]!, NETWORK);
    expect((await w.ledger.addVote(unknown)).status).toBe('held');
    const wrongPos = signVote({ position: { type: 'chain', account: K.bob.address, previous: '0' }, block_hash: a.hash, round: 0, final: true, timestamp: T0 }, REPS[0]!, NETWORK);
    expect(await w.ledger.addVote(wrongPos)).toMatchObject({ status: 'rejected', code: C.VOTE_POSITION_MISMATCH });
    expect(await w.ledger.isConfirmed(a.hash)).toBe(false);
  });

  it('holds votes for unseen blocks up to a bound, oldest dropped first', async () => {
    const w = await fworld();
    const [a] = await forkPair(w);
    const [early] = votesFor(a, [REPS[0]!]);
    expect((await w.ledger.addVote(early!)).status).toBe('held');
    const pos = { type: 'chain' as const, account: K.bob.address, previous: '0' as const };
    for (let i = 0; i < MAX_HELD_VOTES; i++) {
      const v = signVote({ position: pos, block_hash: i.toString(16).padStart(64, '0'), round: 0, final: true, timestamp: T0 }, REPS[2]!, NETWORK);
      expect((await w.ledger.addVote(v, { origin: 'sync' })).status).toBe('held');
    }
    expectAccepted(await w.ledger.addBlock(a, { origin: 'live' }));
    // the early vote was dropped: one more final vote is not a quorum
    expect(await feedVotes(w, votesFor(a, [REPS[1]!]))).toEqual(['counted']);
    expect(await w.ledger.isConfirmed(a.hash)).toBe(false);
    expect(await feedVotes(w, [early!])).toEqual(['counted']);
    expect(await w.ledger.isConfirmed(a.hash)).toBe(true);
  });

  it('confirms nothing short of quorum; one more final vote confirms (and everything below)', async () => {
    const w = await fworld();
    const [a] = await forkPair(w);
    expectAccepted(await w.ledger.addBlock(a, { origin: 'live' }));
    const opening = (await w.ledger.getBlock(a.previous))!;
    expect(await w.ledger.isConfirmed(opening.hash)).toBe(false);
    expect(await feedVotes(w, votesFor(a, [REPS[0]!]))).toEqual(['counted']);
    // converge votes of everyone are not final votes
    await feedVotes(w, votesFor(a, [REPS[1]!, REPS[2]!], { final: false, timestamp: T0 - 1n }));
    expect(await w.ledger.isConfirmed(a.hash)).toBe(false);
    expect((await w.ledger.confirmedFrontier(K.alice.address))).toBeUndefined();
    await feedVotes(w, votesFor(a, [REPS[1]!]));
    expect(await w.ledger.isConfirmed(a.hash)).toBe(true);
    expect(await w.ledger.isConfirmed(opening.hash)).toBe(true);
    expect(await w.ledger.confirmedFrontier(K.alice.address)).toEqual({ frontier: a.hash, height: (await w.ledger.getStoredBlock(a.hash))!.height });
    const conf = (await w.ledger.getConfirmation(a.hash))!;
    expect(conf.votes).toHaveLength(2);
    expect(verifyConfirmation(conf, PARAMS, NETWORK)).toMatchObject({ ok: true });
    // a later vote for a confirmed block changes nothing
    expect(await feedVotes(w, votesFor(a, [REPS[2]!]))).toEqual(['duplicate']);
  });

  it('rejects a confirmation short of quorum or carrying a forged vote', async () => {
    const w = await fworld();
    const [a] = await forkPair(w);
    expectAccepted(await w.ledger.addBlock(a, { origin: 'live' }));
    const [v0, v1] = votesFor(a, [REPS[0]!, REPS[1]!]);
    const cases = [
      { block_hash: a.hash, votes: [v0] },
      { block_hash: a.hash, votes: [v0, v0] },
      { block_hash: a.hash, votes: [v0, { ...v1!, signature: v0!.signature }] },
      { block_hash: a.hash, votes: [v0, { ...v1!, final: false }] },
      { block_hash: a.hash, votes: [v0, votesFor(a, [stranger])[0]] },
      { block_hash: a.hash, votes: [] },
    ];
    for (const c of cases) expect(await w.ledger.addConfirmation(c)).toMatchObject({ status: 'rejected', code: C.CONFIRMATION_INVALID });
    expect(await w.ledger.isConfirmed(a.hash)).toBe(false);
    expect(await w.ledger.addConfirmation({ block_hash: a.hash, votes: [v0, v1] })).toEqual({ status: 'confirmed', hash: a.hash });
    expect(await w.ledger.isConfirmed(a.hash)).toBe(true);
  });

  it('reports equivocation; a vote under its own key that it did not cast stops a representative', async () => {
    const w = await fworld();
    const [a, b] = await forkPair(w);
    expectAccepted(await w.ledger.addBlock(a, { origin: 'live' }));
    expect((await w.ledger.addBlock(b, { origin: 'live' })).status).toBe('rejected');
    const [va] = votesFor(a, [REPS[0]!], { final: false });
    const [vb] = votesFor(b, [REPS[0]!], { final: false });
    expect((await w.ledger.addVote(va)).status).toBe('counted');
    expect(await w.ledger.addVote(vb)).toMatchObject({ status: 'rejected', code: C.VOTE_EQUIVOCATION });

    const r = await fworld(REPS[0]);
    const votes: Vote[] = [];
    r.ledger.events.on('vote', (v) => votes.push(v));
    const [x] = await forkPair(r);
    expectAccepted(await r.ledger.addBlock(x, { origin: 'live' }));
    expect(votes.some((v) => v.block_hash === x.hash && !v.final)).toBe(true);
    expect(r.ledger.votingHalted).toBe(false);
    expect((await r.ledger.finalityTick()).votes.some((v) => v.block_hash === x.hash)).toBe(true);
    // its own vote coming back is no alarm, also once the block is confirmed
    const mine = votes.find((v) => v.block_hash === x.hash)!;
    expect((await r.ledger.addVote(mine)).status).toBe('duplicate');
    const y = await seal(buildSend(await head(r.ledger, K.bob), { destination: K.carol.address, asset: 'XUSD', amount: 1n, timestamp: T0 }), K.bob);
    expectAccepted(await r.ledger.addBlock(y, { origin: 'live' }));
    const [v1, v2] = votesFor(y, [REPS[1]!, REPS[2]!]);
    expect((await r.ledger.addConfirmation({ block_hash: y.hash, votes: [v1, v2] })).status).toBe('confirmed');
    expect((await r.ledger.addVote(votes.find((v) => v.block_hash === y.hash)!)).status).toBe('duplicate');
    expect(r.ledger.votingHalted).toBe(false);
    await r.ledger.finalityTick(); // drains the votes cast so far
    const notMine = votesFor(x, [REPS[0]!], { round: 3, final: false })[0]!;
    expect(await r.ledger.addVote(notMine)).toMatchObject({ status: 'rejected', code: C.OWN_KEY_VOTE });
    expect(r.ledger.votingHalted).toBe(true);
    const before = votes.length;
    r.clock.now += 10n * S;
    expect((await r.ledger.finalityTick()).votes).toEqual([]);
    expect(votes.length).toBe(before);
  });

  it('holds at most 10 candidates per position; an 11th is rejected', async () => {
    const w = await fworld();
    const h = await head(w.ledger, K.alice);
    const results: string[] = [];
    for (let i = 1n; i <= 11n; i++) {
      const b = await seal(buildSend(h, { destination: K.bob.address, asset: 'XUSD', amount: i, timestamp: T0 }), K.alice);
      const r = await w.ledger.addBlock(b, { origin: 'live' });
      results.push(r.status === 'rejected' ? r.code : r.status);
    }
    expect(results).toEqual(['accepted', ...Array(9).fill(C.FORK_HELD), C.TOO_MANY_CANDIDATES]);
  });

  it('drops a losing candidate with every block built on it; conflicts name the winner; supply exact', async () => {
    const w = await fworld();
    const [a, b] = await forkPair(w);
    expectAccepted(await w.ledger.addBlock(a, { origin: 'live' }));
    // bob receives the first-seen send and spends from it
    const recv = await seal(buildReceive(await head(w.ledger, K.bob), (await w.ledger.pendingFor(K.bob.address)).find((p) => p.hash === a.hash)!, T0 + 1n), K.bob);
    expectAccepted(await w.ledger.addBlock(recv, { origin: 'live' }));
    const spend = await seal(buildSend(await head(w.ledger, K.bob), { destination: K.carol.address, asset: 'XUSD', amount: XUSD(1001n), timestamp: T0 + 2n }), K.bob);
    expectAccepted(await w.ledger.addBlock(spend, { origin: 'live' }));
    expect((await w.ledger.addBlock(b, { origin: 'live' })).status).toBe('rejected');
    // a block on the held candidate waits
    const onHeld = await seal({ ...buildSend(await head(w.ledger, K.alice), { destination: K.bob.address, asset: 'XUSD', amount: 1n, timestamp: T0 + 3n }), previous: b.hash, balance: XUSD(993n) - 1n } as never, K.alice);
    expect(await w.ledger.addBlock(onHeld, { origin: 'live' })).toMatchObject({ status: 'rejected', code: C.UNKNOWN_PREVIOUS, retryable: true });

    await feedVotes(w, votesFor(b, [REPS[1]!, REPS[2]!]));
    expect(await w.ledger.isConfirmed(b.hash)).toBe(true);
    for (const gone of [a, recv, spend]) expect(await w.ledger.hasBlock(gone.hash)).toBe(false);
    expect((await w.ledger.getAccount(K.alice.address))!.balances.XUSD).toBe(XUSD(993n));
    expect((await w.ledger.getAccount(K.bob.address))!.balances.XUSD).toBe(XUSD(1000n));
    expect((await w.ledger.getAccount(K.bob.address))!.frontier).toBe(recv.previous);
    expect((await w.ledger.pendingFor(K.carol.address)).map((p) => p.hash)).toEqual([b.hash]);
    const conflicts = await w.ledger.conflicts();
    const byHash = new Map(conflicts.map((c) => [c.rejected, c]));
    expect(byHash.get(a.hash)).toMatchObject({ reason: 'lost', winner: b.hash });
    expect(byHash.get(recv.hash)).toMatchObject({ reason: 'dependent', winner: b.hash });
    expect(byHash.get(spend.hash)).toMatchObject({ reason: 'dependent', winner: b.hash });
    expect((await w.ledger.checkConsistency()).problems).toEqual([]);
    // now the block on the winner is admitted
    expectAccepted(await w.ledger.addBlock(onHeld, { origin: 'live' }));
    // a sibling of the confirmed block is rejected outright
    const late = await seal(buildSend({ ...(await head(w.ledger, K.alice)), frontier: a.previous, height: 1n, balances: { XE: XUSD(50n), XUSD: XUSD(1000n) } }, { destination: K.bob.address, asset: 'XUSD', amount: 3n, timestamp: T0 }), K.alice);
    expect(await w.ledger.addBlock(late, { origin: 'live' })).toMatchObject({ status: 'rejected', code: C.FORK_CONFIRMED, retryable: false });
    expect((await w.ledger.conflicts()).find((c) => c.rejected === late.hash)).toMatchObject({ reason: 'confirmed_sibling', winner: b.hash });
    expect((await w.ledger.checkConsistency()).problems).toEqual([]);
  });

  it('a confirmed winner that breaks a rule when applied is recorded invalid and its position stays open', async () => {
    const w = await fworld();
    const h = await head(w.ledger, K.alice);
    const a = await seal(buildSend(h, { destination: K.bob.address, asset: 'XUSD', amount: 5n, timestamp: T0 }), K.alice);
    // overspends: held candidates are not checked against the rules until they win
    const bad = await seal({ ...buildSend(h, { destination: K.carol.address, asset: 'XUSD', amount: 1n, timestamp: T0 }), amount: XUSD(2000n), balance: 0n } as never, K.alice);
    expectAccepted(await w.ledger.addBlock(a, { origin: 'live' }));
    expect(await w.ledger.addBlock(bad, { origin: 'live' })).toMatchObject({ code: C.FORK_HELD });
    await feedVotes(w, votesFor(bad, [REPS[0]!, REPS[1]!]));
    expect(await w.ledger.hasBlock(a.hash)).toBe(false);
    expect(await w.ledger.hasBlock(bad.hash)).toBe(false);
    expect(await w.ledger.isConfirmed(bad.hash)).toBe(false);
    const byHash = new Map((await w.ledger.conflicts()).map((c) => [c.rejected, c.reason]));
    expect(byHash.get(a.hash)).toBe('lost');
    expect(byHash.get(bad.hash)).toBe('invalid');
    expect((await w.ledger.getAccount(K.alice.address))!.frontier).toBe(h.frontier);
    expect((await w.ledger.checkConsistency()).problems).toEqual([]);
    // the position is open again
    const c = await seal(buildSend(h, { destination: K.bob.address, asset: 'XUSD', amount: 6n, timestamp: T0 + 1n }), K.alice);
    expectAccepted(await w.ledger.addBlock(c, { origin: 'live' }));
    await feedVotes(w, votesFor(c, [REPS[0]!, REPS[2]!], { round: 1 }));
    expect(await w.ledger.isConfirmed(c.hash)).toBe(true);
  });

  it('keeps first-seen behaviour without finality options', async () => {
    const { world } = await import('../helpers.js');
    const w = await world();
    const [a, b] = await forkPair({ ledger: w.ledger, store: w.store, clock: w.clock });
    expectAccepted(await w.ledger.addBlock(a, { origin: 'live' }));
    expect(await w.ledger.addBlock(b, { origin: 'live' })).toMatchObject({ status: 'rejected', code: C.FORK });
    expect(await w.ledger.isConfirmed(a.hash)).toBe(true);
    expect(await w.ledger.addVote(votesFor(a, [REPS[0]!])[0])).toMatchObject({ status: 'rejected', code: C.NOT_A_REPRESENTATIVE });
  });
});

describe('finality: lease outcome positions', () => {
  it('an accept and a cancel of one lease compete at (lease, start); the confirmed one wins in either arrival order', async () => {
    const first = await fworld();
    const cert = certificateFor(K.prov);
    const nodes = [first, await fworld(undefined, first.ledger)];
    for (const n of nodes) await n.ledger.addCertificate(cert);
    const lease = await seal(
      buildLease(await head(first.ledger, K.alice), { certificate: cert, vcpus: 1n, memory_mb: 512n, disk_gb: 5n, duration: 600n, access_pub_key: K.carol.pubKeyHex, timestamp: T0 }),
      K.alice,
    );
    for (const n of nodes) expectAccepted(await n.ledger.addBlock(lease, { origin: 'sync' }));
    const record = (await first.ledger.getLease(lease.hash))!;
    const accept = await seal(buildAccept(await head(first.ledger, K.prov), record, { attestations: attest(lease.hash, T0 + 10n * S), timestamp: T0 + 10n * S }, LEASE), K.prov);
    const cancelAt = T0 + LEASE.accept_window_ns + LEASE.max_attestation_skew_ns;
    const cancel = await seal(buildCancel(await head(first.ledger, K.alice), record, { attestations: attest(lease.hash, cancelAt), timestamp: cancelAt }), K.alice);
    const orders = [
      [accept, cancel],
      [cancel, accept],
    ];
    for (const [i, n] of nodes.entries()) {
      const [x, y] = orders[i]!;
      expectAccepted(await n.ledger.addBlock(x!, { origin: 'sync' }));
      expect(await n.ledger.addBlock(y!, { origin: 'sync' })).toMatchObject({ status: 'rejected', code: C.FORK_HELD });
      // votes for the cancel at its chain position and at (lease, start)
      const votes = votesFor(cancel, [REPS[0]!, REPS[2]!]);
      expect(votes.map((v) => v.position.type).sort()).toEqual(['chain', 'chain', 'lease', 'lease']);
      await feedVotes(n, votes);
      expect(await n.ledger.isConfirmed(cancel.hash)).toBe(true);
      expect(await n.ledger.hasBlock(accept.hash)).toBe(false);
      expect((await n.ledger.getLease(lease.hash))!.state).toBe('cancelled');
      expect((await n.ledger.getAccount(K.prov.address))!.balances.XUSD).toBe(XUSD(1000n));
      expect((await n.ledger.checkConsistency()).problems).toEqual([]);
    }
    expect(await agreedDigest(nodes[0]!.store)).toBe(await agreedDigest(nodes[1]!.store));
    expect((await nodes[0]!.ledger.conflicts()).find((c) => c.rejected === accept.hash)).toMatchObject({ reason: 'lost', winner: cancel.hash });
  });
});

describe('finality: lease end position', () => {
  it('a settle and a force-settle compete at (lease, end); the confirmed force-settle wins in either order, supply exact', async () => {
    const first = await fworld();
    const cert = certificateFor(K.prov);
    const nodes = [first, await fworld(undefined, first.ledger)];
    for (const n of nodes) await n.ledger.addCertificate(cert);
    const lease = await seal(
      buildLease(await head(first.ledger, K.alice), { certificate: cert, vcpus: 1n, memory_mb: 512n, disk_gb: 5n, duration: 600n, access_pub_key: K.carol.pubKeyHex, timestamp: T0 }),
      K.alice,
    );
    for (const n of nodes) expectAccepted(await n.ledger.addBlock(lease, { origin: 'sync' }));
    const created = (await first.ledger.getLease(lease.hash))!;
    const start = T0 + 10n * S;
    const accept = await seal(buildAccept(await head(first.ledger, K.prov), created, { attestations: attest(lease.hash, start), timestamp: start }, LEASE), K.prov);
    for (const n of nodes) expectAccepted(await n.ledger.addBlock(accept, { origin: 'sync' }));
    const accepted = (await first.ledger.getLease(lease.hash))!;
    const tSettle = accepted.expiry + S;
    const tForce = accepted.expiry + LEASE.settle_grace_ns + LEASE.force_settle_gap_ns;
    const settle = await seal(buildSettle(await head(first.ledger, K.prov), accepted, { attestations: attest(lease.hash, tSettle), timestamp: tSettle }), K.prov);
    const force = await seal(buildForceSettle(await head(first.ledger, K.alice), accepted, { attestations: attest(lease.hash, tForce), timestamp: tForce }), K.alice);
    const orders = [
      [settle, force],
      [force, settle],
    ];
    for (const [i, n] of nodes.entries()) {
      const [x, y] = orders[i]!;
      expectAccepted(await n.ledger.addBlock(x!, { origin: 'sync' }));
      expect(await n.ledger.addBlock(y!, { origin: 'sync' })).toMatchObject({ status: 'rejected', code: C.FORK_HELD });
      // the force-settle depends on the accept, the accept on the lease: one confirmation covers them
      await feedVotes(n, [...votesFor(force, [REPS[0]!, REPS[1]!])]);
      expect(await n.ledger.isConfirmed(force.hash)).toBe(true);
      expect(await n.ledger.isConfirmed(lease.hash)).toBe(true);
      expect(await n.ledger.hasBlock(settle.hash)).toBe(false);
      expect((await n.ledger.getLease(lease.hash))!.state).toBe('unfulfilled');
      expect((await n.ledger.supply('XE')).emitted).toBe(0n);
      expect((await n.ledger.checkConsistency()).problems).toEqual([]);
    }
    expect(await agreedDigest(nodes[0]!.store)).toBe(await agreedDigest(nodes[1]!.store));
  });
});

describe('finality: convergence', () => {
  it('three voting ledgers that saw different candidates first confirm one and agree', async () => {
    const first = await fworld(REPS[0]);
    const nodes = [first, await fworld(REPS[1], first.ledger), await fworld(REPS[2], first.ledger)];
    const [a, b] = await forkPair(nodes[0]!);
    const { deliver } = relayVotes(nodes);
    // node 0 sees a first; nodes 1 and 2 see b first
    await nodes[0]!.ledger.addBlock(a, { origin: 'live' });
    await nodes[1]!.ledger.addBlock(b, { origin: 'live' });
    await nodes[2]!.ledger.addBlock(b, { origin: 'live' });
    await deliver();
    await nodes[0]!.ledger.addBlock(b, { origin: 'live' });
    await nodes[1]!.ledger.addBlock(a, { origin: 'live' });
    await nodes[2]!.ledger.addBlock(a, { origin: 'live' });
    await deliver();
    const settled = async () => (await Promise.all(nodes.map((n) => allConfirmed(n.ledger)))).every(Boolean);
    for (let round = 0; round < 6 && !(await settled()); round++) {
      for (const n of nodes) {
        n.clock.now += 2n * S;
        await n.ledger.finalityTick();
      }
      await deliver();
    }
    expect(await settled()).toBe(true);
    for (const n of nodes) {
      expect(await n.ledger.isConfirmed(b.hash)).toBe(true);
      expect(await n.ledger.hasBlock(a.hash)).toBe(false);
      expect((await n.ledger.getAccount(K.alice.address))!.frontier).toBe(b.hash);
      expect((await n.ledger.checkConsistency()).problems).toEqual([]);
    }
    const digests = await Promise.all(nodes.map((n) => agreedDigest(n.store)));
    expect(new Set(digests).size).toBe(1);
  });
});

describe('finality: driven by events, not the tick', () => {
  it('a block and the votes it sets off confirm on three voting ledgers with no timer step and the clock standing still', async () => {
    const first = await fworld(REPS[0]);
    const nodes = [first, await fworld(REPS[1], first.ledger), await fworld(REPS[2], first.ledger)];
    // alice's history confirmed on each node by the two other representatives' final votes
    const history = (await first.ledger.getAccount(K.alice.address))!.frontier;
    const histBlock = (await first.ledger.getBlock(history))!;
    for (const [i, n] of nodes.entries()) {
      const others = REPS.filter((_, j) => j !== i);
      expect((await n.ledger.addConfirmation({ block_hash: history, votes: votesFor(histBlock, others) })).status).toBe('confirmed');
    }
    const cast: Vote[][] = nodes.map(() => []);
    const { deliver } = relayVotes(nodes, (i, v) => cast[i]!.push(v));
    const send = await seal(buildSend(await head(first.ledger, K.alice), { destination: K.bob.address, asset: 'XUSD', amount: XUSD(1n), timestamp: T0 }), K.alice);
    const before = nodes.map((n) => n.clock.now);
    // node 0 takes the block first: its converge vote reaches the others before the block does (held there)
    expectAccepted(await nodes[0]!.ledger.addBlock(send, { origin: 'live' }));
    expect(cast[0]!.map((v) => v.final)).toEqual([false]);
    await deliver();
    expect(await nodes[1]!.ledger.isConfirmed(send.hash)).toBe(false);
    for (const n of nodes.slice(1)) expectAccepted(await n.ledger.addBlock(send, { origin: 'live' }));
    await deliver();
    for (const [i, n] of nodes.entries()) {
      expect(await n.ledger.isConfirmed(send.hash)).toBe(true);
      // one converge and one final vote each, both in round 0
      expect(cast[i]!.map((v) => [v.round, v.final])).toEqual([
        [0, false],
        [0, true],
      ]);
      expect(n.clock.now).toBe(before[i]);
    }
  });
});

describe('finality: an outcome race split evenly between four representatives', () => {
  // Four representatives, quorum 60 (three of four). Two nodes apply the accept, two the
  // cancel; each then holds the other as a rival. The accept also stands alone at the
  // provider's chain position and the cancel at the consumer's: unless the nodes holding
  // a block as a rival vote for it there too, the outcome position is decided but its
  // winner never reaches quorum at its chain position, and nothing ever confirms.
  it('every node confirms the same outcome and drops the other', async () => {
    const reps = [0x91, 0x92, 0x93, 0x94].map((b) => keyPairFromSeed(new Uint8Array(32).fill(b)));
    const params = { representatives: reps.map((r) => ({ address: r.address, weight: 1n })), quorum_pct: 60 };
    const first = await fworld(reps[0], undefined, undefined, params);
    const nodes = [first];
    for (const r of reps.slice(1)) nodes.push(await fworld(r, first.ledger, undefined, params));
    const cert = certificateFor(K.prov);
    for (const n of nodes) await n.ledger.addCertificate(cert);
    const lease = await seal(
      buildLease(await head(first.ledger, K.alice), { certificate: cert, vcpus: 1n, memory_mb: 512n, disk_gb: 5n, duration: 600n, access_pub_key: K.carol.pubKeyHex, timestamp: T0 }),
      K.alice,
    );
    for (const n of nodes) expectAccepted(await n.ledger.addBlock(lease, { origin: 'sync' }));
    // the lease and the provider's history are confirmed everywhere (the dependency rule)
    const provFrontier = (await first.ledger.getBlock((await first.ledger.getAccount(K.prov.address))!.frontier))!;
    for (const n of nodes) {
      for (const b of [lease, provFrontier]) expect((await n.ledger.addConfirmation({ block_hash: b.hash, votes: votesFor(b, reps) })).status).toBe('confirmed');
    }
    const record = (await first.ledger.getLease(lease.hash))!;
    const acceptAt = T0 + LEASE.accept_window_ns;
    const accept = await seal(buildAccept(await head(first.ledger, K.prov), record, { attestations: attest(lease.hash, acceptAt), timestamp: acceptAt }, LEASE), K.prov);
    const cancelAt = T0 + LEASE.accept_window_ns + LEASE.max_attestation_skew_ns;
    const cancel = await seal(buildCancel(await head(first.ledger, K.alice), record, { attestations: attest(lease.hash, cancelAt), timestamp: cancelAt }), K.alice);
    const { deliver } = relayVotes(nodes);
    for (const [i, n] of nodes.entries()) expectAccepted(await n.ledger.addBlock(i < 2 ? accept : cancel, { origin: 'sync' }));
    await deliver();
    for (const [i, n] of nodes.entries()) {
      expect(await n.ledger.addBlock(i < 2 ? cancel : accept, { origin: 'sync' })).toMatchObject({ status: 'rejected', code: C.FORK_HELD });
    }
    await deliver();
    const decided = async (n: FWorld) => (await n.ledger.isConfirmed(accept.hash)) || (await n.ledger.isConfirmed(cancel.hash));
    for (let round = 0; round < 8 && !(await Promise.all(nodes.map(decided))).every(Boolean); round++) {
      for (const n of nodes) {
        n.clock.now += 2n * S;
        await n.ledger.finalityTick();
      }
      await deliver();
    }
    const winner = (await first.ledger.isConfirmed(accept.hash)) ? accept : cancel;
    const loser = winner === accept ? cancel : accept;
    for (const n of nodes) {
      expect(await n.ledger.isConfirmed(winner.hash)).toBe(true);
      expect(await n.ledger.hasBlock(loser.hash)).toBe(false);
      expect((await n.ledger.getLease(lease.hash))!.state).toBe(winner === accept ? 'accepted' : 'cancelled');
      expect((await n.ledger.checkConsistency()).problems).toEqual([]);
    }
    const digests = await Promise.all(nodes.map((n) => agreedDigest(n.store)));
    expect(new Set(digests).size).toBe(1);
  });
});
