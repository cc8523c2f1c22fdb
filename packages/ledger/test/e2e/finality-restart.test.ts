import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { hexToBytes, stringifyJson, type Vote } from '@xe/core-types';
import { positionBytes } from '@xe/crypto';
import { Bucket, buildReceive, buildSend, Ledger, LedgerErrorCodes as C, LevelStore } from '../../src/index.js';
import { expectAccepted, head, K, S, seal, T0, TestClock, testBundle, XUSD } from '../helpers.js';
import { agreedDigest, fworld, PARAMS, REPS, votesFor } from '../support/finality.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ledger-finality-'));
  dirs.push(d);
  return d;
}

describe('finality on LevelDB across a restart', () => {
  it('a held candidate, undo records and votes survive a reopen; the vote after it decides and rolls back exactly', async () => {
    const dir = await tempDir();
    const first = await fworld(undefined, undefined, await LevelStore.open(dir));
    const h = await head(first.ledger, K.alice);
    const a = await seal(buildSend(h, { destination: K.bob.address, asset: 'XUSD', amount: XUSD(5n), timestamp: T0 }), K.alice);
    const b = await seal(buildSend(h, { destination: K.carol.address, asset: 'XUSD', amount: XUSD(7n), timestamp: T0 }), K.alice);
    expectAccepted(await first.ledger.addBlock(a, { origin: 'live' }));
    const pending = (await first.ledger.pendingFor(K.bob.address)).find((p) => p.hash === a.hash)!;
    const recv = await seal(buildReceive(await head(first.ledger, K.bob), pending, T0 + 1n), K.bob);
    expectAccepted(await first.ledger.addBlock(recv, { origin: 'live' }));
    expect(await first.ledger.addBlock(b, { origin: 'live' })).toMatchObject({ code: C.FORK_HELD });
    const [v1] = votesFor(b, [REPS[1]!]);
    expect((await first.ledger.addVote(v1!)).status).toBe('counted');
    await first.ledger.close();

    const clock = new TestClock();
    const store = await LevelStore.open(dir);
    const ledger = await Ledger.open(store, await testBundle(), { clock: clock.fn, finality: { params: PARAMS } });
    expect(await ledger.addBlock(b, { origin: 'live' })).toEqual({ status: 'duplicate', hash: b.hash });
    expect(await ledger.isConfirmed(b.hash)).toBe(false);
    // one more final vote: with the stored one, a quorum
    const [v2] = votesFor(b, [REPS[2]!]);
    expect((await ledger.addVote(v2!)).status).toBe('counted');
    expect(await ledger.isConfirmed(b.hash)).toBe(true);
    expect(await ledger.hasBlock(a.hash)).toBe(false);
    expect(await ledger.hasBlock(recv.hash)).toBe(false);
    expect((await ledger.getAccount(K.bob.address))!.balances.XUSD).toBe(XUSD(1000n));
    expect((await ledger.checkConsistency()).problems).toEqual([]);

    // the same history on a ledger that only ever saw the winner
    const clean = await fworld(undefined, ledger);
    expect(await clean.ledger.hasBlock(b.hash)).toBe(true);
    expect(await clean.ledger.addConfirmation((await ledger.getConfirmation(b.hash))!)).toEqual({ status: 'confirmed', hash: b.hash });
    expect(await agreedDigest(store)).toBe(await agreedDigest(clean.store));
    await ledger.close();
  });

  it('carries out a decision its stored votes already make when reopened (a crash between a vote and its confirmation)', async () => {
    const dir = await tempDir();
    const first = await fworld(undefined, undefined, await LevelStore.open(dir));
    const h = await head(first.ledger, K.alice);
    const a = await seal(buildSend(h, { destination: K.bob.address, asset: 'XUSD', amount: 2n, timestamp: T0 }), K.alice);
    const b = await seal(buildSend(h, { destination: K.carol.address, asset: 'XUSD', amount: 3n, timestamp: T0 }), K.alice);
    expectAccepted(await first.ledger.addBlock(a, { origin: 'live' }));
    expect(await first.ledger.addBlock(b, { origin: 'live' })).toMatchObject({ code: C.FORK_HELD });
    // two final votes reached the store, the process died before acting on them
    const enc = new TextEncoder();
    await first.ledger.storage.batch(
      votesFor(b, [REPS[0]!, REPS[1]!]).map((v) => ({
        type: 'put' as const,
        key: Uint8Array.from([Bucket.VOTE, ...positionBytes(v.position), ...hexToBytes(v.representative)]),
        value: enc.encode(stringifyJson(v)),
      })),
    );
    expect(await first.ledger.isConfirmed(b.hash)).toBe(false);
    await first.ledger.close();

    const ledger = await Ledger.open(await LevelStore.open(dir), await testBundle(), { clock: new TestClock().fn, finality: { params: PARAMS } });
    expect(await ledger.isConfirmed(b.hash)).toBe(true);
    expect(await ledger.hasBlock(a.hash)).toBe(false);
    expect((await ledger.checkConsistency()).problems).toEqual([]);
    // an applied block left unconfirmed goes back on the fetch list
    const c = await seal(buildSend(await head(ledger, K.alice), { destination: K.bob.address, asset: 'XUSD', amount: 4n, timestamp: T0 + 1n }), K.alice);
    expectAccepted(await ledger.addBlock(c, { origin: 'live' }));
    await ledger.close();
    const again = await Ledger.open(await LevelStore.open(dir), await testBundle(), { clock: new TestClock().fn, finality: { params: PARAMS } });
    const { fetch } = await again.finalityTick(T0 + 3n * S);
    expect(fetch).toContain(c.hash);
    expect(fetch).not.toContain(b.hash);
    for (const h of fetch) expect(await again.isConfirmed(h)).toBe(false);
    await again.close();
  });

  it('a representative that restarts does not mistake its own earlier votes for a stolen key', async () => {
    const dir = await tempDir();
    const first = await fworld(REPS[0], undefined, await LevelStore.open(dir));
    const cast: Vote[] = [];
    first.ledger.events.on('vote', (v) => cast.push(v));
    const a = await seal(buildSend(await head(first.ledger, K.alice), { destination: K.bob.address, asset: 'XUSD', amount: 1n, timestamp: T0 }), K.alice);
    expectAccepted(await first.ledger.addBlock(a, { origin: 'live' }));
    first.clock.now += 2n * S;
    await first.ledger.finalityTick();
    expect(cast.filter((v) => v.block_hash === a.hash).map((v) => v.round)).toEqual([0, 1]);
    await first.ledger.close();

    const store = await LevelStore.open(dir);
    const clock = new TestClock(T0 + 3n * S);
    const ledger = await Ledger.open(store, await testBundle(), { clock: clock.fn, finality: { params: PARAMS, key: REPS[0]! } });
    for (const v of cast) expect((await ledger.addVote(v)).status).toBe('duplicate');
    expect(ledger.votingHalted).toBe(false);
    await ledger.close();
  });
});
