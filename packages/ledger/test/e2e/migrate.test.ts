import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { Bucket, buildSend, Ledger, LedgerErrorCodes as C, LedgerOpenError, LevelStore, SCHEMA_VERSION, type Store, stateDigest } from '../../src/index.js';
import { head, K, receiveAll, seal, T0, TestClock, testBundle, world, XUSD } from '../helpers.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const enc = new TextEncoder();
const metaKey = (name: string) => Uint8Array.from([Bucket.META, ...enc.encode(name)]);

async function entries(store: Store, bucket: number): Promise<[Uint8Array, Uint8Array][]> {
  const out: [Uint8Array, Uint8Array][] = [];
  for await (const e of store.range({ gte: Uint8Array.of(bucket), lt: Uint8Array.of(bucket + 1) })) out.push(e);
  return out;
}

/**
 * Rewrites a schema 3 store's blocks in the schema 2 layout (BLOCK: hash → u64 height ·
 * JSON, CHAIN: address · height → hash) and marks it schema 2, all but the first `keep`
 * chain entries: those stay as a migration interrupted after its first batch leaves them.
 */
async function downgradeToSchema2(store: Store, keep: number): Promise<number> {
  const chain = await entries(store, Bucket.CHAIN);
  let rewritten = 0;
  for (const [k, v] of chain.slice(keep)) {
    const digest = v.slice(0, 32);
    const old = new Uint8Array(8 + v.length - 32);
    old.set(k.subarray(33, 41), 0);
    old.set(v.subarray(32), 8);
    await store.batch([
      { type: 'put', key: k, value: digest },
      { type: 'put', key: Uint8Array.from([Bucket.BLOCK, ...digest]), value: old },
    ]);
    rewritten++;
  }
  await store.batch([{ type: 'put', key: metaKey('schema_version'), value: enc.encode('2') }]);
  return rewritten;
}

describe('schema 2 → 3 (blocks stored at their chain positions)', () => {
  it('a schema 2 store, half moved by an interrupted migration, opens migrated: the same state, chains served in order, admission goes on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ledger-migrate-'));
    dirs.push(dir);
    const w = await world(await LevelStore.open(dir));
    // more chain entries than one migration batch (512)
    for (let i = 0n; i < 520n; i++) {
      const to = i % 2n === 0n ? K.bob : K.carol;
      const r = await w.ledger.addBlock(
        await seal(buildSend(await head(w.ledger, K.alice), { destination: to.address, asset: 'XUSD', amount: 1n + i, timestamp: T0 + i }), K.alice),
        { origin: 'live' },
      );
      expect(r.status).toBe('accepted');
    }
    await receiveAll(w.ledger, K.bob, T0 + 1_000n);
    const before = await stateDigest(w.store);
    const aliceChain = await w.ledger.chain(K.alice.address);
    const bobJson = (await w.ledger.blocksAfterJson(K.bob.address, 0n, 1_000)).map((s) => Buffer.from(s.json).toString());
    const sample = aliceChain[3]!;
    await w.ledger.close();

    const raw = await LevelStore.open(dir);
    const total = (await entries(raw, Bucket.CHAIN)).length;
    expect(await downgradeToSchema2(raw, 3)).toBe(total - 3);
    expect((await entries(raw, Bucket.CHAIN)).filter(([, v]) => v.length === 32)).toHaveLength(total - 3);
    await raw.close();

    const store = await LevelStore.open(dir);
    const ledger = await Ledger.open(store, await testBundle(), { clock: new TestClock().fn });
    expect(new TextDecoder().decode(await store.get(metaKey('schema_version')))).toBe(String(SCHEMA_VERSION));
    expect((await entries(store, Bucket.CHAIN)).filter(([, v]) => v.length === 32)).toHaveLength(0);
    expect(await stateDigest(store)).toBe(before);
    expect((await ledger.checkConsistency()).problems).toEqual([]);
    expect(await ledger.chain(K.alice.address)).toEqual(aliceChain);
    expect((await ledger.blocksAfterJson(K.bob.address, 0n, 1_000)).map((s) => Buffer.from(s.json).toString())).toEqual(bobJson);
    expect(await ledger.getStoredBlock(sample.hash)).toEqual({ block: sample, height: 4n });
    const next = await seal(
      buildSend(await head(ledger, K.alice), { destination: K.carol.address, asset: 'XUSD', amount: XUSD(1n), timestamp: T0 + 2_000n }),
      K.alice,
    );
    expect((await ledger.addBlock(next, { origin: 'live' })).status).toBe('accepted');
    expect((await ledger.chain(K.alice.address)).at(-1)).toEqual(next);
    expect((await ledger.checkConsistency()).problems).toEqual([]);
    await ledger.close();
  });

  it('refuses a store of a schema it neither reads nor migrates, and leaves it as it was', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ledger-migrate-'));
    dirs.push(dir);
    const w = await world(await LevelStore.open(dir));
    await w.ledger.close();
    const raw = await LevelStore.open(dir);
    await raw.batch([{ type: 'put', key: metaKey('schema_version'), value: enc.encode('1') }]);
    const before = await stateDigest(raw);
    await raw.close();
    const store = await LevelStore.open(dir);
    const err = await Ledger.open(store, await testBundle()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerOpenError);
    expect(err).toMatchObject({ code: C.SCHEMA_MISMATCH });
    expect((err as Error).message).toMatch(/store schema 1, this ledger reads 3/);
    expect(await stateDigest(store)).toBe(before);
    await store.close();
  });
});
