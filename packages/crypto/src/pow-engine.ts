import { fields, hexToBytes } from '@xe/core-types';
import { compress40, outLo } from './pow-kernel-js.js';
import { type PowWasmExports, powWasm } from './pow-wasm.js';

export interface PowEngineOptions {
  /** Use the WebAssembly search loop when available (default true); false forces the JS one. */
  wasm?: boolean;
}

/**
 * Chooses and drives a PoW kernel: the WebAssembly search loop (`pow-wasm.ts`) when
 * WebAssembly is available, else the generated JavaScript kernel (`pow-kernel-js.ts`).
 * Both compute the same compression, generated from one round schedule.
 */
export class PowEngine {
  private readonly words = new Uint32Array(8);
  private readonly wasm: PowWasmExports | null;

  constructor(options: PowEngineOptions = {}) {
    this.wasm = options.wasm === false ? null : powWasm();
  }

  /** Which implementation runs the compression: `'wasm'` or the `'js'` fallback. */
  get engine(): 'wasm' | 'js' {
    return this.wasm ? 'wasm' : 'js';
  }

  /** Sets the 32-byte block hash the nonces are tried against. */
  setHash(hash: Uint8Array | string): void {
    const bytes = typeof hash === 'string' ? hexToBytes(fields.hash(hash, 'hash'), 'hash') : hash;
    if (!(bytes instanceof Uint8Array) || bytes.length !== 32) throw fields.invalid('hash', 'expected 32 bytes');
    const view = new DataView(bytes.buffer, bytes.byteOffset, 32);
    for (let i = 0; i < 8; i++) this.words[i] = view.getUint32(4 * i, true);
  }

  /** The work value of one nonce for the current hash. */
  work(nonce: bigint): bigint {
    const n = fields.u64(nonce, 'pow_nonce');
    const w = this.words;
    const lo = Number(n & 0xffffffffn);
    const hi = Number(n >> 32n);
    if (this.wasm) {
      const [wHi, wLo] = this.wasm.work(w[0]!, w[1]!, w[2]!, w[3]!, w[4]!, w[5]!, w[6]!, w[7]!, lo, hi);
      return (BigInt(wHi >>> 0) << 32n) | BigInt(wLo >>> 0);
    }
    const wHi = compress40(lo, hi, w[0]!, w[1]!, w[2]!, w[3]!, w[4]!, w[5]!, w[6]!, w[7]!);
    return (BigInt(wHi) << 32n) | BigInt(outLo);
  }

  /**
   * Tries `count` nonces `lo + i·stride` (mod 2^32 on the low word, carrying into `hi`)
   * and returns the first whose work ≥ difficulty, as [found, lo, hi], or
   * [false, nextLo, nextHi]. Work is compared on two 32-bit halves to stay out of bigint.
   */
  search(lo: number, hi: number, stride: number, count: number, diffHi: number, diffLo: number): [boolean, number, number] {
    const wasm = this.wasm;
    // The wasm loop takes the stride as an unsigned 32-bit word; anything else takes the JS path.
    if (wasm && Number.isInteger(stride) && stride >= 0 && stride <= 0xffffffff) {
      const w = this.words;
      lo >>>= 0;
      hi >>>= 0;
      let left = count > 0 ? Math.ceil(count) : 0;
      while (left > 0) {
        const n = Math.min(left, 0x40000000);
        const r = wasm.search(w[0]!, w[1]!, w[2]!, w[3]!, w[4]!, w[5]!, w[6]!, w[7]!, lo, hi, stride, n, diffHi, diffLo);
        lo = r[1] >>> 0;
        hi = r[2] >>> 0;
        if (r[0] !== 0) return [true, lo, hi];
        left -= n;
      }
      return [false, lo, hi];
    }
    return this.searchJs(lo, hi, stride, count, diffHi, diffLo);
  }

  private searchJs(lo: number, hi: number, stride: number, count: number, diffHi: number, diffLo: number): [boolean, number, number] {
    const w = this.words;
    const m2 = w[0]! | 0;
    const m3 = w[1]! | 0;
    const m4 = w[2]! | 0;
    const m5 = w[3]! | 0;
    const m6 = w[4]! | 0;
    const m7 = w[5]! | 0;
    const m8 = w[6]! | 0;
    const m9 = w[7]! | 0;
    lo >>>= 0;
    hi >>>= 0;
    diffHi >>>= 0;
    diffLo >>>= 0;
    for (let i = 0; i < count; i++) {
      const wHi = compress40(lo | 0, hi | 0, m2, m3, m4, m5, m6, m7, m8, m9);
      if (wHi > diffHi || (wHi === diffHi && outLo >= diffLo)) return [true, lo, hi];
      lo = (lo + stride) >>> 0;
      if (lo < stride) hi = (hi + 1) >>> 0;
    }
    return [false, lo, hi];
  }
}

let shared: PowEngine | undefined;

/** The process's one engine (for `powWork` and the inline part of `solvePow`). */
export function sharedPowEngine(): PowEngine {
  if (!shared) shared = new PowEngine();
  return shared;
}
