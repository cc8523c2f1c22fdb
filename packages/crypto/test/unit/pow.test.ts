import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { bytesToHex, XeError } from '@xe/core-types';
import { PowEngine, type PowProgress, PowSolver, powWork, solvePow, verifyPow } from '../../src/index.js';

const blake3 = createRequire(import.meta.url)('blake3-wasm') as { hash(input: Uint8Array): Uint8Array };

/** The reference: first 8 bytes, big-endian, of blake3-wasm's public hash(u64le(nonce) || hash). */
function referenceWork(hash: Uint8Array, nonce: bigint): bigint {
  const input = Buffer.alloc(40);
  input.writeBigUInt64LE(nonce, 0);
  input.set(hash, 8);
  return Buffer.from(blake3.hash(input)).readBigUInt64BE(0);
}

const randomNonce = () => Buffer.from(randomBytes(8)).readBigUInt64LE(0);

const EDGE_NONCES = [0n, 1n, (1n << 32n) - 1n, 1n << 32n, (1n << 64n) - 1n];

describe.each([
  ['wasm', true],
  ['js', false],
] as const)('proof-of-work kernel (%s)', (engine, wasm) => {
  it('runs on the expected engine', () => {
    expect(new PowEngine({ wasm }).engine).toBe(engine);
  });

  it('matches blake3-wasm on 10,000 random (hash, nonce) pairs', () => {
    const k = new PowEngine({ wasm });
    let mismatches = 0;
    for (let i = 0; i < 10_000; i++) {
      const hash = new Uint8Array(randomBytes(32));
      const nonce = i < EDGE_NONCES.length ? EDGE_NONCES[i]! : randomNonce();
      k.setHash(i % 2 === 0 ? hash : bytesToHex(hash));
      if (k.work(nonce) !== referenceWork(hash, nonce)) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('search returns the first nonce meeting the difficulty, carrying into the high word', () => {
    const k = new PowEngine({ wasm });
    const hash = new Uint8Array(randomBytes(32));
    k.setHash(hash);
    const start = 0xffff_fff0n;
    const works = Array.from({ length: 40 }, (_, i) => referenceWork(hash, start + BigInt(i)));
    // pick a difficulty met first at an index past the 2^32 boundary
    const idx = works.findIndex((w, i) => i >= 20 && works.slice(0, i).every((x) => x < w));
    const target = Math.max(idx, 0);
    const difficulty = works[target]!;
    const [found, lo, hi] = k.search(0xffff_fff0, 0, 1, 40, Number(difficulty >> 32n), Number(difficulty & 0xffff_ffffn));
    expect(found).toBe(true);
    const nonce = (BigInt(hi) << 32n) | BigInt(lo);
    expect(nonce).toBe(start + BigInt(works.findIndex((w) => w >= difficulty)));
    // an impossible difficulty walks the whole count and reports where it stopped, across the carry
    expect(k.search(0xffff_fffe, 7, 3, 4, 0xffff_ffff, 0xffff_ffff)).toEqual([false, 10, 8]);
  });

  it('search agrees with the reference on every nonce it passes over (random strides and difficulties)', () => {
    const k = new PowEngine({ wasm });
    for (let round = 0; round < 200; round++) {
      const hash = new Uint8Array(randomBytes(32));
      k.setHash(hash);
      const r = randomBytes(12);
      const lo = round % 4 === 0 ? 0xffff_ffff - (r[0]! % 8) : r.readUInt32LE(0);
      const hi = round % 8 === 1 ? 0xffff_ffff : r.readUInt32LE(4);
      const stride = [1, 2, 3, 7, 0x8000_0001, 0xffff_ffff][round % 6]!;
      const count = 1 + (r[8]! % 64);
      // about one nonce in 16 meets this difficulty
      const difficulty = (0xf0n << 56n) | BigInt(r.readUInt32LE(8));
      let expected: [boolean, number, number] | undefined;
      let n = (BigInt(hi) << 32n) | BigInt(lo);
      for (let i = 0; i < count && !expected; i++) {
        if (referenceWork(hash, n) >= difficulty) expected = [true, Number(n & 0xffff_ffffn), Number(n >> 32n)];
        const nextLo = (Number(n & 0xffff_ffffn) + stride) >>> 0;
        const nextHi = nextLo < stride ? (Number(n >> 32n) + 1) >>> 0 : Number(n >> 32n);
        n = (BigInt(nextHi) << 32n) | BigInt(nextLo);
      }
      expected ??= [false, Number(n & 0xffff_ffffn), Number(n >> 32n)];
      expect(k.search(lo, hi, stride, count, Number(difficulty >> 32n), Number(difficulty & 0xffff_ffffn))).toEqual(expected);
    }
    // difficulty 0 is met by the first try; a count of 0 tries nothing
    expect(k.search(5, 6, 1, 10, 0, 0)).toEqual([true, 5, 6]);
    expect(k.search(5, 6, 1, 0, 0, 0)).toEqual([false, 5, 6]);
  });
});

describe('proof-of-work functions', () => {
  it('powWork matches blake3-wasm on 2,000 random (hash, nonce) pairs', () => {
    let mismatches = 0;
    for (let i = 0; i < 2_000; i++) {
      const hash = new Uint8Array(randomBytes(32));
      const nonce = i < EDGE_NONCES.length ? EDGE_NONCES[i]! : randomNonce();
      if (powWork(bytesToHex(hash), nonce) !== referenceWork(hash, nonce)) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('falls back to the JS kernel where WebAssembly is missing', async () => {
    const dist = new URL('../../dist/index.js', import.meta.url).href;
    const script = `
      delete globalThis.WebAssembly;
      const { PowEngine, powWork, solvePow } = await import(${JSON.stringify(dist)});
      const hash = '${'ab'.repeat(32)}';
      const s = await solvePow(hash, 0xffe0000000000000n, { workers: 2 });
      console.log(JSON.stringify({ engine: new PowEngine().engine, work: powWork(hash, 12345n).toString(), ok: s.work === powWork(hash, s.nonce) }));
    `;
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 15_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      );
    });
    const hash = new Uint8Array(32).fill(0xab);
    expect(JSON.parse(out.trim())).toEqual({ engine: 'js', work: referenceWork(hash, 12345n).toString(), ok: true });
  });

  it('powWork / verifyPow reject bad input with coded errors or false', () => {
    for (const [h, n] of [
      ['ab', 1n],
      ['AB'.repeat(32), 1n],
      ['ab'.repeat(33), 1n],
      ['ab'.repeat(32), -1n],
      ['ab'.repeat(32), 1n << 64n],
    ] as const) {
      expect(() => powWork(h, n)).toThrow(XeError);
    }
    expect(verifyPow({ hash: 'ab'.repeat(32) }, 0n)).toBe(false);
    expect(verifyPow({ hash: 'ab', pow_nonce: 1n }, 0n)).toBe(false);
    expect(verifyPow({ hash: 'ab'.repeat(32), pow_nonce: 5 as unknown as bigint }, 0n)).toBe(false);
    expect(verifyPow({ hash: 'ab'.repeat(32), pow_nonce: 5n }, 0n)).toBe(true);
  });
});

describe('solvePow', () => {
  it('finds a valid nonce with 2 workers at a moderate difficulty', async () => {
    const difficulty = 0xffff_e000_0000_0000n; // ~2^19 tries
    for (let i = 0; i < 2; i++) {
      const hash = bytesToHex(randomBytes(32));
      const s = await solvePow(hash, difficulty, { workers: 2 });
      expect(s.work).toBe(powWork(hash, s.nonce));
      expect(s.work >= difficulty).toBe(true);
      expect(verifyPow({ hash, pow_nonce: s.nonce }, difficulty)).toBe(true);
      expect(s.hashes).toBeGreaterThan(0);
    }
  });

  it('reports progress from the workers and rejects with POW_ABORTED when aborted', async () => {
    const solver = new PowSolver({ workers: 2 });
    expect(solver.workers).toBe(2);
    const progress: PowProgress[] = [];
    const ac = new AbortController();
    const started = Date.now();
    const p = solver.solve(bytesToHex(randomBytes(32)), 0xffff_ffff_ffff_0000n, {
      signal: ac.signal,
      progressIntervalMs: 40,
      onProgress: (x) => {
        progress.push(x);
        // abort once the workers have reported beyond the inline range (on a loaded machine
        // their start-up can take longer than any fixed delay); the deadline below bounds it
        if (x.hashes > 32_768 && progress.length >= 2) ac.abort();
      },
    });
    const deadline = setTimeout(() => ac.abort(), 4000);
    const err = await p.then(
      () => {
        throw new Error('expected a rejection');
      },
      (e: unknown) => e as XeError,
    );
    clearTimeout(deadline);
    expect(err).toBeInstanceOf(XeError);
    expect(err.code).toBe('POW_ABORTED');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    const last = progress[progress.length - 1]!;
    expect(last.hashes).toBeGreaterThan(32_768); // the workers counted beyond the inline range
    expect(last.hashesPerSecond).toBeGreaterThan(0);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.hashes).toBeGreaterThanOrEqual(progress[i - 1]!.hashes);
    // the pool is reusable after an abort
    const hash = bytesToHex(randomBytes(32));
    const s = await solver.solve(hash, 0xfff0_0000_0000_0000n);
    expect(powWork(hash, s.nonce) >= 0xfff0_0000_0000_0000n).toBe(true);
    await solver.close();
  });

  it('rejects an already-aborted signal, a bad hash and a bad difficulty with coded errors', async () => {
    const hash = bytesToHex(randomBytes(32));
    await expect(solvePow(hash, 1n, { signal: AbortSignal.abort(), workers: 1 })).rejects.toMatchObject({ code: 'POW_ABORTED' });
    await expect(solvePow('xyz', 1n, { workers: 1 })).rejects.toMatchObject({ code: 'POW_INVALID' });
    await expect(solvePow(hash, 1n << 64n, { workers: 1 })).rejects.toMatchObject({ code: 'POW_INVALID' });
    await expect(solvePow(hash, -1n, { workers: 1 })).rejects.toMatchObject({ code: 'POW_INVALID' });
  });

  it('leaves no worker holding the process open (solve, abort, then exit on its own)', async () => {
    const dist = new URL('../../dist/index.js', import.meta.url).href;
    const script = `
      import { solvePow } from ${JSON.stringify(dist)};
      import { randomBytes } from 'node:crypto';
      const s = await solvePow(randomBytes(32).toString('hex'), 0xfffe000000000000n, { workers: 2 });
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 100);
      const e = await solvePow(randomBytes(32).toString('hex'), 0xffffffffffff0000n, { workers: 2, signal: ac.signal }).catch((err) => err);
      console.log(JSON.stringify({ ok: s.work >= 0xfffe000000000000n, aborted: e.code }));
    `;
    const started = Date.now();
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 15_000, cwd: fileURLToPath(new URL('../../', import.meta.url)) }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      );
    });
    expect(JSON.parse(out.trim())).toEqual({ ok: true, aborted: 'POW_ABORTED' });
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
