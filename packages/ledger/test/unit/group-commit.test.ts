import { afterAll, describe, expect, it } from '@jest/globals';
import { type AdmitResult, type Block, hexToBytes } from '@xe/core-types';
import { type BlockCheckJob, checkBlockStateless, keyPairFromSeed, VerifierPool } from '@xe/crypto';
import { type BatchOp, Ledger, LedgerErrorCodes, LedgerStoreError, MemoryStore, type RangeOptions, type Store, stateDigest } from '../../src/index.js';
import { GroupStore } from '../../src/store.js';
import { buildReceive, buildSend } from '../../src/index.js';
import type { BlockVerifier } from '../../src/ledger.js';
import { head, K, seal, T0, world, XUSD } from '../helpers.js';
import { certificates, generate, rng } from '../support/generator.js';

const latin1 = (k: Uint8Array) => Buffer.from(k).toString('latin1');

/**
 * A Store (the ledger's own interface) over a MemoryStore that counts batches, remembers
 * which keys are written once a batch has finished, and can be told to fail the next batch.
 */
class ObservedStore implements Store {
  readonly inner = new MemoryStore();
  batches = 0;
  readonly written = new Set<string>();
  failNext = false;

  get(key: Uint8Array) {
    return this.inner.get(key);
  }
  getMany(keys: readonly Uint8Array[]) {
    return this.inner.getMany(keys);
  }
  /** ops per batch, in order */
  readonly opCounts: number[] = [];
  async batch(ops: readonly BatchOp[]): Promise<void> {
    this.opCounts.push(ops.length);
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    await this.inner.batch(ops);
    this.batches++;
    for (const op of ops) this.written.add(latin1(op.key));
  }
  range(options: RangeOptions) {
    return this.inner.range(options);
  }
  close() {
    return this.inner.close();
  }
}

const blockKey = (hash: string) => latin1(new Uint8Array([0x02, ...hexToBytes(hash)]));
const outcome = (r: AdmitResult) => (r.status === 'rejected' ? `${r.status}:${r.code}` : r.status);

const pool = new VerifierPool({ threads: 1 });
afterAll(() => pool.close());

/** Every user block of a generated history (allocation receives first), plus its corrupt copies. */
async function history(steps: number, seed: number) {
  const gen = await world();
  const g = await generate(gen.ledger, steps, seed);
  const inGen = new Set(g.all.map((b) => b.hash));
  const treasuries = new Set(gen.bundle.blocks.map((b) => b.account));
  const initial: Block[] = [];
  for (const f of await gen.ledger.frontiers()) {
    if (!treasuries.has(f.account)) initial.push(...(await gen.ledger.blocksAfter(f.account, 0n, 10)).filter((b) => !inGen.has(b.hash)));
  }
  return { gen, blocks: [...initial, ...g.all], corrupt: g.corrupt, expected: await stateDigest(gen.store) };
}

describe('group commit', () => {
  it('admits blocks offered all at once in call order, in few batches, with the results and state of one at a time; events only once stored', async () => {
    const { gen, blocks, corrupt, expected } = await history(300, 0x9c01);
    // the corrupt copies mixed in at random places, each right after its original
    const rand = rng(3);
    const offers: Block[] = [];
    const pendingCorrupt = [...corrupt];
    for (const b of blocks) {
      offers.push(b);
      if (pendingCorrupt.length > 0 && rand() < 0.2) offers.push(pendingCorrupt.pop()!);
    }
    offers.push(...pendingCorrupt);

    // one at a time, no verifier: the reference
    const one = await Ledger.open(new MemoryStore(), gen.bundle);
    for (const c of certificates()) await one.addCertificate(c);
    const reference: string[] = [];
    for (const b of offers) reference.push(outcome(await one.addBlock(b, { origin: 'sync' })));
    expect(reference.filter((o) => o === 'accepted')).toHaveLength(blocks.length);

    for (const verifier of [undefined, pool]) {
      const store = new ObservedStore();
      const ledger = await Ledger.open(store, gen.bundle, verifier === undefined ? {} : { verifier });
      for (const c of certificates()) await ledger.addCertificate(c);
      const before = store.batches;
      const early: string[] = [];
      ledger.events.on('block', ({ block }) => {
        if (!store.written.has(blockKey(block.hash))) early.push(block.hash);
      });
      const results = await Promise.all(offers.map((b) => ledger.addBlock(b, { origin: 'sync' })));
      expect(results.map(outcome)).toEqual(reference);
      expect(early).toEqual([]);
      // every accepted block is stored when its result arrives
      for (const [i, r] of results.entries()) if (r.status === 'accepted') expect(store.written.has(blockKey(offers[i]!.hash))).toBe(true);
      expect(store.batches - before).toBeLessThan(blocks.length / 4);
      expect((await ledger.checkConsistency()).problems).toEqual([]);
      expect(await stateDigest(store)).toBe(expected);
      await ledger.close();
    }
  }, 60_000);

  it('a failed write fails every block of its group (no events), drops the caches, and the same blocks go in afterwards', async () => {
    const { gen, blocks, expected } = await history(60, 0x9c02);
    const store = new ObservedStore();
    const ledger = await Ledger.open(store, gen.bundle);
    for (const c of certificates()) await ledger.addCertificate(c);
    const half = Math.floor(blocks.length / 2);
    for (const r of await Promise.all(blocks.slice(0, half).map((b) => ledger.addBlock(b, { origin: 'sync' })))) expect(r.status).toBe('accepted');
    const events: string[] = [];
    ledger.events.on('block', ({ block }) => events.push(block.hash));
    store.failNext = true;
    const failed = await Promise.allSettled(blocks.slice(half).map((b) => ledger.addBlock(b, { origin: 'sync' })));
    expect(failed.every((f) => f.status === 'rejected' && f.reason instanceof LedgerStoreError && f.reason.code === LedgerErrorCodes.STORE_FAILURE)).toBe(true);
    expect(events).toEqual([]);
    // nothing of the failed group is visible: heads and balances are the stored ones
    expect((await ledger.checkConsistency()).problems).toEqual([]);
    expect(await ledger.hasBlock(blocks[half]!.hash)).toBe(false);
    const again = await Promise.all(blocks.slice(half).map((b) => ledger.addBlock(b, { origin: 'sync' })));
    expect(again.every((r) => r.status === 'accepted')).toBe(true);
    expect(events).toHaveLength(blocks.length - half);
    expect((await ledger.checkConsistency()).problems).toEqual([]);
    expect(await stateDigest(store)).toBe(expected);
    await ledger.close();
  }, 60_000);
});

describe('pre-checks', () => {
  it("blocks offered right behind an account's first block are checked ahead with that block's key", async () => {
    // a page bringing a new account's first block and its next ones: the account does not
    // exist yet when they are offered, but their signatures need not wait for it
    const gen = await world();
    const dave = keyPairFromSeed(new Uint8Array(32).fill(0xd1));
    const send = await seal(buildSend(await head(gen.ledger, K.alice), { destination: dave.address, asset: 'XUSD', amount: XUSD(10n), timestamp: T0 }), K.alice);
    expect((await gen.ledger.addBlock(send, { origin: 'sync' })).status).toBe('accepted');
    const [p] = await gen.ledger.pendingFor(dave.address);
    const daves: Block[] = [await seal(buildReceive(await head(gen.ledger, dave), p!, T0), dave)];
    expect((await gen.ledger.addBlock(daves[0]!, { origin: 'sync' })).status).toBe('accepted');
    for (let i = 1n; i <= 3n; i++) {
      const b = await seal(buildSend(await head(gen.ledger, dave), { destination: K.bob.address, asset: 'XUSD', amount: i, timestamp: T0 + i }), dave);
      expect((await gen.ledger.addBlock(b, { origin: 'sync' })).status).toBe('accepted');
      daves.push(b);
    }
    const jobs: BlockCheckJob[] = [];
    const recording: BlockVerifier = {
      check: async (job) => {
        jobs.push(job);
        return checkBlockStateless(job, 'worker');
      },
    };
    const fresh = await world();
    const ledger = await Ledger.open(new MemoryStore(), fresh.bundle, { clock: fresh.clock.fn, verifier: recording });
    for (const k of [K.alice, K.bob, K.carol, K.prov, K.prov2]) {
      for (const b of await gen.ledger.blocksAfter(k.address, 0n, 2)) await ledger.addBlock(b, { origin: 'sync' });
    }
    expect((await ledger.addBlock(send, { origin: 'sync' })).status).toBe('accepted');
    jobs.length = 0;
    const results = await Promise.all(daves.map((b) => ledger.addBlock(b, { origin: 'sync' })));
    expect(results.map((r) => r.status)).toEqual(['accepted', 'accepted', 'accepted', 'accepted']);
    expect(jobs.map((j) => j.block.pub_key ?? j.pubKey)).toEqual(daves.map(() => dave.pubKeyHex));
  });
});

describe('GroupStore', () => {
  it('reads unwritten layers over the store exactly as if they were written (get, range with bounds, reverse, limit)', async () => {
    const rand = rng(11);
    const key = () => new Uint8Array([1 + Math.floor(rand() * 3), Math.floor(rand() * 6), Math.floor(rand() * 4)]);
    const value = () => new Uint8Array([Math.floor(rand() * 256)]);
    const ops = (n: number): BatchOp[] =>
      Array.from({ length: n }, () => (rand() < 0.3 ? { type: 'del' as const, key: key() } : { type: 'put' as const, key: key(), value: value() }));
    const base = new MemoryStore();
    const reference = new MemoryStore();
    const first = ops(60);
    await base.batch(first);
    await reference.batch(first);
    const grouped = new GroupStore(base);
    const layers = [];
    for (let l = 0; l < 3; l++) {
      grouped.begin();
      for (let b = 0; b < 4; b++) {
        const o = ops(8);
        await grouped.batch(o);
        await reference.batch(o);
      }
      layers.push(grouped.seal()!);
    }
    const all = async (s: Store, o: RangeOptions) => {
      const out: string[] = [];
      for await (const [k, v] of s.range(o)) out.push(`${latin1(k)}=${v[0]}`);
      return out;
    };
    const compare = async () => {
      for (let i = 0; i < 40; i++) {
        const a = key();
        const b = key();
        const [gte, lt] = latin1(a) <= latin1(b) ? [a, b] : [b, a];
        const o: RangeOptions = { gte, lt, reverse: rand() < 0.5, ...(rand() < 0.5 ? { limit: 1 + Math.floor(rand() * 5) } : {}) };
        expect(await all(grouped, o)).toEqual(await all(reference, o));
        const k = key();
        expect(await grouped.get(k)).toEqual(await reference.get(k));
      }
      const everything = { gte: new Uint8Array([0]), lt: new Uint8Array([9]) };
      expect(await all(grouped, everything)).toEqual(await all(reference, everything));
    };
    await compare();
    // written in order, one batch each: the same reads
    for (const layer of layers) await grouped.write(layer);
    await compare();
    expect(await all(base, { gte: new Uint8Array([0]), lt: new Uint8Array([9]) })).toEqual(await all(reference, { gte: new Uint8Array([0]), lt: new Uint8Array([9]) }));
  });

  it("writes a key a group wrote several times once, with the group's last write", async () => {
    const base = new ObservedStore();
    const grouped = new GroupStore(base);
    const k = (n: number) => new Uint8Array([1, n]);
    grouped.begin();
    // an account head rewritten by each block of the group, a key put then deleted, one put once
    for (let i = 0; i < 5; i++) await grouped.batch([{ type: 'put', key: k(1), value: new Uint8Array([i]) }]);
    await grouped.batch([{ type: 'put', key: k(2), value: new Uint8Array([7]) }]);
    await grouped.batch([{ type: 'del', key: k(2) }]);
    await grouped.batch([{ type: 'put', key: k(3), value: new Uint8Array([9]) }]);
    expect(grouped.openOps).toBe(8);
    const layer = grouped.seal()!;
    expect(await grouped.get(k(1))).toEqual(new Uint8Array([4]));
    expect(await grouped.get(k(2))).toBeUndefined();
    await grouped.write(layer);
    expect(base.opCounts).toEqual([3]);
    expect(await base.get(k(1))).toEqual(new Uint8Array([4]));
    expect(await base.get(k(2))).toBeUndefined();
    expect(await base.get(k(3))).toEqual(new Uint8Array([9]));
  });
});
