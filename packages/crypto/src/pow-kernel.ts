import { createRequire } from 'node:module';
import { hexToBytes } from '@xe/core-types';

/**
 * The proof-of-work search kernel: BLAKE3 of the 40-byte input `u64le(nonce) || hash`,
 * first 8 bytes read big-endian. It drives blake3-wasm's compiled hash export directly
 * over buffers allocated once in wasm memory, so a try costs one wasm call and no
 * allocation (the package's public `hash()` allocates and copies on every call).
 */
interface Blake3Wasm {
  memory: { buffer: ArrayBuffer };
  hash(inPtr: number, inLen: number, outPtr: number, outLen: number): void;
  __wbindgen_malloc(size: number): number;
}

const require = createRequire(import.meta.url);
let wasm: Blake3Wasm | undefined;

function loadWasm(): Blake3Wasm {
  if (!wasm) wasm = (require('blake3-wasm/dist/wasm/nodejs/blake3_js.js') as { __wasm: Blake3Wasm }).__wasm;
  return wasm;
}

export class PowKernel {
  private readonly w: Blake3Wasm;
  private readonly inPtr: number;
  private readonly outPtr: number;
  private mem: Uint8Array;
  private view: DataView;

  constructor() {
    this.w = loadWasm();
    // Allocated once per kernel and kept for its lifetime (a few bytes).
    this.inPtr = this.w.__wbindgen_malloc(40);
    this.outPtr = this.w.__wbindgen_malloc(8);
    this.mem = new Uint8Array(this.w.memory.buffer);
    this.view = new DataView(this.w.memory.buffer);
  }

  private refresh(): void {
    if (this.mem.buffer !== this.w.memory.buffer) {
      this.mem = new Uint8Array(this.w.memory.buffer);
      this.view = new DataView(this.w.memory.buffer);
    }
  }

  /** Sets the 32-byte block hash the nonces are tried against. */
  setHash(hash: Uint8Array | string): void {
    const bytes = typeof hash === 'string' ? hexToBytes(hash, 'hash') : hash;
    this.refresh();
    this.mem.set(bytes, this.inPtr + 8);
  }

  /** The work value of one nonce for the current hash. */
  work(nonce: bigint): bigint {
    this.refresh();
    this.view.setBigUint64(this.inPtr, BigInt.asUintN(64, nonce), true);
    this.w.hash(this.inPtr, 40, this.outPtr, 8);
    this.refresh();
    return this.view.getBigUint64(this.outPtr, false);
  }

  /**
   * Tries `count` nonces `lo + i·stride` (mod 2^32 on the low word, `hi` fixed) and
   * returns the first whose work ≥ difficulty, as [found, lo, hi], or [false, nextLo, hi].
   * Work is compared on two 32-bit halves to stay out of bigint in the loop.
   */
  search(lo: number, hi: number, stride: number, count: number, diffHi: number, diffLo: number): [boolean, number, number] {
    this.refresh();
    const view = this.view;
    const inPtr = this.inPtr;
    const outPtr = this.outPtr;
    const hash = this.w.hash;
    view.setUint32(inPtr + 4, hi, true);
    for (let i = 0; i < count; i++) {
      view.setUint32(inPtr, lo, true);
      hash(inPtr, 40, outPtr, 8);
      const wHi = view.getUint32(outPtr, false);
      if (wHi > diffHi || (wHi === diffHi && view.getUint32(outPtr + 4, false) >= diffLo)) return [true, lo, hi];
      lo = (lo + stride) >>> 0;
      if (lo < stride) {
        hi = (hi + 1) >>> 0;
        view.setUint32(inPtr + 4, hi, true);
      }
    }
    return [false, lo, hi];
  }
}

let shared: PowKernel | undefined;

export function sharedKernel(): PowKernel {
  if (!shared) shared = new PowKernel();
  return shared;
}
