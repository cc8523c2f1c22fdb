import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { Block } from '@xe/core-types';
import { attachPow, type BlockCheck, type BlockCheckJob, checkBlockStateless, signBlock, VerifierPool } from '../../src/index.js';
import { consumer, NETWORK_ID, provider, unsignedBlocks } from '../support/fixtures.js';

// The pool runs the compiled worker (dist/block-check-worker.js): build the package first.
const DIFFICULTY = 0xf000000000000000n;
const run = promisify(execFile);
const pools: VerifierPool[] = [];
const open = (o: ConstructorParameters<typeof VerifierPool>[0]) => {
  const p = new VerifierPool(o);
  pools.push(p);
  return p;
};

afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
});

/** Signed, worked blocks of every type (each by its account's key), and broken variants. */
async function jobs(): Promise<BlockCheckJob[]> {
  const out: BlockCheckJob[] = [];
  for (const u of Object.values(unsignedBlocks())) {
    const key = u.account === consumer.address ? consumer : provider;
    const seal = async (x: typeof u) => (await attachPow(signBlock(x, key, NETWORK_ID) as Block, DIFFICULTY)) as Block;
    const b = await seal(u);
    const { pub_key: _drop, ...rest } = u as typeof u & { pub_key?: string };
    const keyless = await seal(rest as typeof u);
    out.push(
      { block: b, networkId: NETWORK_ID, difficulty: DIFFICULTY },
      // no pub_key in the block: the stored key comes with the job, or none at all
      { block: keyless, networkId: NETWORK_ID, difficulty: DIFFICULTY, pubKey: key.pubKeyHex },
      { block: keyless, networkId: NETWORK_ID, difficulty: DIFFICULTY },
      // another key, a flipped signature, a wrong hash, work below the difficulty, another network
      { block: keyless, networkId: NETWORK_ID, difficulty: DIFFICULTY, pubKey: (key === consumer ? provider : consumer).pubKeyHex },
      { block: { ...b, signature: `${b.signature.slice(0, -1)}${b.signature.endsWith('0') ? '1' : '0'}` }, networkId: NETWORK_ID, difficulty: DIFFICULTY },
      { block: { ...b, hash: 'ab'.repeat(32) }, networkId: NETWORK_ID, difficulty: DIFFICULTY },
      { block: b, networkId: NETWORK_ID, difficulty: 0xffffffffffffff00n },
      { block: b, networkId: 'another-net', difficulty: DIFFICULTY },
    );
  }
  // fields that cannot be encoded: the hash step fails with a message
  out.push({ block: { ...out[0]!.block, memo: 'x'.repeat(1000) } as Block, networkId: NETWORK_ID, difficulty: DIFFICULTY });
  return out;
}

const withoutSource = ({ source: _s, ...rest }: BlockCheck) => rest;

describe('VerifierPool', () => {
  it('answers on a thread exactly what checkBlockStateless answers inline, for good and broken blocks', async () => {
    const all = await jobs();
    const pool = open({ threads: 2, batchSize: 4 });
    expect(pool.available).toBe(true);
    const answers = await Promise.all(all.map((j) => pool.check(j)));
    for (const [i, j] of all.entries()) expect(withoutSource(answers[i]!)).toEqual(withoutSource(checkBlockStateless(j)));
    expect(answers.every((a) => a.source === 'worker')).toBe(true);
    // the facts differ where the blocks differ
    const facts = answers.slice(0, 8).map((a) => [a.hashOk, a.powOk, a.sigOk]);
    expect(facts).toEqual([
      [true, true, true],
      [true, true, true],
      [true, true, undefined],
      [true, true, false],
      [true, true, false],
      [false, undefined, undefined],
      [true, false, true],
      [false, undefined, undefined],
    ]);
    expect(answers.at(-1)).toMatchObject({ hashOk: false, hashError: expect.any(String) });
    expect(pool.stats()).toMatchObject({ byWorker: all.length, inline: 0, failures: 0, queued: 0, inFlight: 0 });
  });

  it('checks inline beyond its queue bound, with 0 threads and after close', async () => {
    const all = await jobs();
    const bounded = open({ threads: 1, maxQueue: 3, batchSize: 1 });
    const answers = await Promise.all(all.map((j) => bounded.check(j)));
    for (const [i, j] of all.entries()) expect(withoutSource(answers[i]!)).toEqual(withoutSource(checkBlockStateless(j)));
    expect(answers.filter((a) => a.source === 'worker')).toHaveLength(3);
    expect(bounded.stats().inline).toBe(all.length - 3);

    const none = open({ threads: 0 });
    expect(none.available).toBe(false);
    expect((await none.check(all[0]!)).source).toBe('inline');

    const closing = open({ threads: 1 });
    const pending = all.map((j) => closing.check(j));
    await closing.close();
    const closed = await Promise.all(pending);
    for (const [i, j] of all.entries()) expect(withoutSource(closed[i]!)).toEqual(withoutSource(checkBlockStateless(j)));
    expect((await closing.check(all[0]!)).source).toBe('inline');
  });

  it('replaces a thread that misses its deadline and answers its jobs inline', async () => {
    const all = await jobs();
    // one batch of every job: a thread needs far more than 1 ms for it (its start alone takes longer)
    const pool = open({ threads: 1, batchSize: all.length, jobTimeoutMs: 1 });
    const answers = await Promise.all(all.map((j) => pool.check(j)));
    for (const [i, j] of all.entries()) expect(withoutSource(answers[i]!)).toEqual(withoutSource(checkBlockStateless(j)));
    expect(answers.every((a) => a.source === 'inline')).toBe(true);
    expect(pool.stats()).toMatchObject({ failures: 1, live: 0 });
  });

  it('start() boots the threads before any job; unused they stop after idleMs', async () => {
    const all = await jobs();
    const pool = open({ threads: 2, idleMs: 300 });
    pool.start();
    expect(pool.stats().live).toBe(2);
    pool.start();
    expect(pool.stats().live).toBe(2);
    expect((await pool.check(all[0]!)).source).toBe('worker');
    const deadline = Date.now() + 5000;
    while (pool.stats().live > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(pool.stats()).toMatchObject({ live: 0, failures: 0, byWorker: 1 });
    open({ threads: 0 }).start();
    expect(pools.at(-1)!.stats().live).toBe(0);
  });

  it('stops a thread idle for idleMs and starts one again for the next job', async () => {
    const all = await jobs();
    const pool = open({ threads: 1, idleMs: 20 });
    expect((await pool.check(all[0]!)).source).toBe('worker');
    expect(pool.stats().live).toBe(1);
    const deadline = Date.now() + 5000;
    while (pool.stats().live > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(pool.stats()).toMatchObject({ live: 0, failures: 0 });
    expect((await pool.check(all[1]!)).source).toBe('worker');
    expect(pool.stats()).toMatchObject({ live: 1, failures: 0, byWorker: 2 });
  });

  it('runOne lends the caller a hand: the newest waiting job, then the last unanswered one in flight', async () => {
    const all = await jobs();
    const pool = open({ threads: 1, batchSize: 2 });
    const pending = all.map((j) => pool.check(j));
    await Promise.resolve(); // the jobs go out in batches of two (up to 8 batches in flight), the rest waits
    let helped = 0;
    while (pool.runOne()) helped++;
    const answers = await Promise.all(pending);
    for (const [i, j] of all.entries()) expect(withoutSource(answers[i]!)).toEqual(withoutSource(checkBlockStateless(j)));
    // everything waiting and every unanswered job in flight was taken by the caller
    expect(helped).toBe(all.length);
    expect(answers.at(-1)!.source).toBe('inline');
    expect(pool.runOne()).toBe(false);
  });

  it('starts its threads in a process run with a V8 flag a worker may not take (it used to check everything inline)', async () => {
    // node refuses `--max-semi-space-size` in a Worker's execArgv; the flag is process-wide
    const pool = new URL('../../dist/verifier-pool.js', import.meta.url).href;
    const script = `import { VerifierPool } from ${JSON.stringify(pool)};
      const p = new VerifierPool({ threads: 1 });
      const r = await p.check({ block: { type: 'send' }, networkId: 'n', difficulty: 0n });
      console.log(JSON.stringify({ source: r.source, ...p.stats() }));
      await p.close();`;
    const { stdout } = await run(process.execPath, ['--max-semi-space-size=32', '--input-type=module', '-e', script]);
    const out = JSON.parse(stdout.trim()) as { source: string; byWorker: number; failures: number };
    expect(out).toMatchObject({ source: 'worker', byWorker: 1, failures: 0 });
  });
});
