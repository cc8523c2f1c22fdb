import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { type Block, fields, isHex, U64_MAX } from '@xe/core-types';
import { CryptoError, CryptoErrorCodes } from './errors.js';
import { sharedPowEngine } from './pow-engine.js';
import { startWorker } from './worker-start.js';

/** `work = first 8 bytes of BLAKE3(u64le(nonce) || hash)` as a big-endian u64 (SPEC §3.3). */
export function powWork(hashHex: string, nonce: bigint): bigint {
  fields.hash(hashHex, 'hash');
  fields.u64(nonce, 'pow_nonce');
  const k = sharedPowEngine();
  k.setHash(hashHex);
  return k.work(nonce);
}

/** True when the block carries a nonce whose work reaches the difficulty. */
export function verifyPow(block: Pick<Block, 'hash' | 'pow_nonce'>, difficulty: bigint): boolean {
  const nonce = block.pow_nonce;
  if (typeof nonce !== 'bigint' || nonce < 0n || nonce > U64_MAX || !isHex(block.hash, 64)) return false;
  return powWork(block.hash, nonce) >= difficulty;
}

export interface PowProgress {
  hashes: number;
  elapsedMs: number;
  hashesPerSecond: number;
}

export interface SolveOptions {
  signal?: AbortSignal;
  /** worker threads; default: the machine's available parallelism */
  workers?: number;
  onProgress?: (p: PowProgress) => void;
  /** progress interval in ms (default 500) */
  progressIntervalMs?: number;
}

export interface PowSolution {
  nonce: bigint;
  work: bigint;
  hashes: number;
  elapsedMs: number;
}

function workerUrl(): URL {
  const beside = new URL('./pow-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  // Running from TypeScript sources (tests): use the compiled worker.
  const compiled = new URL('../dist/pow-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return compiled;
  throw new CryptoError(CryptoErrorCodes.POW_WORKER_UNAVAILABLE, 'pow worker not found: build @xe/crypto first (pnpm build)');
}

const INLINE_TRIES = 32768;

/**
 * A pool of proof-of-work threads, started on first use. Threads hold the process open
 * only while a search runs.
 */
export class PowSolver {
  private pool: Worker[] = [];
  private readonly control: SharedArrayBuffer;
  private readonly counters: Int32Array;
  private nextId = 1;
  private readonly size: number;
  private busy: Promise<unknown> = Promise.resolve();

  constructor(options: { workers?: number } = {}) {
    this.size = Math.max(1, options.workers ?? availableParallelism());
    this.control = new SharedArrayBuffer(4 * (1 + this.size));
    this.counters = new Int32Array(this.control);
  }

  get workers(): number {
    return this.size;
  }

  private ensurePool(): Worker[] {
    if (this.pool.length === 0) {
      const url = workerUrl();
      for (let index = 0; index < this.size; index++) {
        const w = startWorker(url, { workerData: { control: this.control, index } });
        // A thread that dies outside a search must not crash the process with an unhandled
        // 'error' event; the pool is rebuilt on the next search.
        w.on('error', () => {
          if (this.pool.includes(w)) this.pool = [];
        });
        w.unref();
        this.pool.push(w);
      }
    }
    return this.pool;
  }

  /** Finds a nonce for `hashHex` whose work is at least `difficulty`. Searches run one at a time. */
  solve(hashHex: string, difficulty: bigint, options: Omit<SolveOptions, 'workers'> = {}): Promise<PowSolution> {
    const run = this.busy.then(() => this.run(hashHex, difficulty, options));
    this.busy = run.catch(() => undefined);
    return run;
  }

  private async run(hashHex: string, difficulty: bigint, options: Omit<SolveOptions, 'workers'>): Promise<PowSolution> {
    if (!isHex(hashHex, 64)) {
      throw new CryptoError(CryptoErrorCodes.POW_INVALID, 'hash: expected 64 lowercase hex chars', { field: 'hash' });
    }
    if (typeof difficulty !== 'bigint' || difficulty < 0n || difficulty > U64_MAX) {
      throw new CryptoError(CryptoErrorCodes.POW_INVALID, 'difficulty: expected a u64', { field: 'difficulty' });
    }
    if (options.signal?.aborted) throw new CryptoError(CryptoErrorCodes.POW_ABORTED, 'proof of work aborted');
    const started = performance.now();
    const diffHi = Number(difficulty >> 32n) >>> 0;
    const diffLo = Number(difficulty & 0xffffffffn) >>> 0;
    const start = randomBytes(8);
    const lo0 = start.readUInt32LE(0);
    const hi0 = start.readUInt32LE(4);
    // Cheap difficulties (devnets) are solved inline without waking the threads.
    const kernel = sharedPowEngine();
    kernel.setHash(hashHex);
    const [found, lo, hi] = kernel.search(lo0, hi0, 1, INLINE_TRIES, diffHi, diffLo);
    if (found) {
      const nonce = (BigInt(hi) << 32n) | BigInt(lo);
      return { nonce, work: kernel.work(nonce), hashes: INLINE_TRIES, elapsedMs: performance.now() - started };
    }
    const pool = this.ensurePool();
    const id = this.nextId++;
    for (let i = 1; i < this.counters.length; i++) Atomics.store(this.counters, i, 0);
    const total = () => {
      let n = INLINE_TRIES;
      for (let i = 1; i < this.counters.length; i++) n += Atomics.load(this.counters, i);
      return n;
    };
    return new Promise<PowSolution>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        Atomics.store(this.counters, 0, id);
        if (timer) clearInterval(timer);
        options.signal?.removeEventListener('abort', onAbort);
        for (const w of pool) {
          w.off('message', onMessage);
          w.off('error', onError);
          w.unref();
        }
      };
      const onMessage = (m: { id: number; lo: number; hi: number }) => {
        if (m.id !== id) return;
        finish();
        const nonce = (BigInt(m.hi) << 32n) | BigInt(m.lo);
        resolve({ nonce, work: kernel.work(nonce), hashes: total(), elapsedMs: performance.now() - started });
      };
      const onError = (err: Error) => {
        finish();
        this.pool = [];
        reject(new CryptoError(CryptoErrorCodes.POW_WORKER_UNAVAILABLE, `pow worker failed: ${err.message}`, { cause: err }));
      };
      const onAbort = () => {
        finish();
        reject(new CryptoError(CryptoErrorCodes.POW_ABORTED, 'proof of work aborted', { cause: options.signal?.reason }));
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.onProgress) {
        const cb = options.onProgress;
        timer = setInterval(() => {
          const hashes = total();
          const elapsedMs = performance.now() - started;
          cb({ hashes, elapsedMs, hashesPerSecond: (hashes / elapsedMs) * 1000 });
        }, options.progressIntervalMs ?? 500);
        timer.unref();
      }
      // Each thread takes every size-th nonce after the inline range.
      pool.forEach((w, i) => {
        w.ref();
        w.on('message', onMessage);
        w.on('error', onError);
        const l = (lo + i) >>> 0;
        const h = l < lo ? (hi + 1) >>> 0 : hi;
        w.postMessage({ id, hash: hashHex, diffHi, diffLo, lo: l, hi: h, stride: pool.length });
      });
    });
  }

  /** Stops the threads. */
  async close(): Promise<void> {
    Atomics.store(this.counters, 0, -1);
    const pool = this.pool;
    this.pool = [];
    await Promise.all(pool.map((w) => w.terminate()));
  }
}

const solvers = new Map<number, PowSolver>();

/** Solves with a shared pool per worker count (see PowSolver). */
export function solvePow(hashHex: string, difficulty: bigint, options: SolveOptions = {}): Promise<PowSolution> {
  const n = Math.max(1, options.workers ?? availableParallelism());
  let s = solvers.get(n);
  if (!s) {
    s = new PowSolver({ workers: n });
    solvers.set(n, s);
  }
  const { workers: _w, ...rest } = options;
  return s.solve(hashHex, difficulty, rest);
}

/** Hashes `block.hash` to a nonce and returns the block with `pow_nonce` set. */
export async function attachPow<T extends Block>(block: T, difficulty: bigint, options: SolveOptions = {}): Promise<T> {
  const { nonce } = await solvePow(block.hash, difficulty, options);
  return { ...block, pow_nonce: nonce };
}
