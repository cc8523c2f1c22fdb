import { fields, hexToBytes } from '@xe/core-types';
import { type PowWasmExports, powWasm } from './pow-wasm.js';

/**
 * The proof-of-work search kernel: BLAKE3 of the 40-byte input `u64le(nonce) || hash`,
 * first 8 bytes of the output read big-endian (SPEC §3.3).
 *
 * The input is always one 40-byte block of one chunk that is also the root, so a try is
 * exactly one BLAKE3 compression with fixed flags (CHUNK_START | CHUNK_END | ROOT),
 * counter 0 and block length 40. This kernel is that single compression written out in
 * plain 32-bit JavaScript: the 7 rounds are unrolled with the message schedule resolved
 * in advance, the six zero message words (bytes 40..63) are folded away, the 32-byte
 * block hash sits in locals for the whole search, and only the two output words that
 * make up the work value are computed. No allocation, no wasm boundary, no bigint in
 * the loop. It is checked against blake3-wasm's public `hash()` on random inputs in
 * the tests.
 *
 * `PowKernel` runs the same compression, and the whole nonce loop, in a small
 * WebAssembly module generated at import time (`pow-wasm.ts`), which is faster (native
 * 32-bit rotates, no JS overflow handling); this JS kernel is the fallback when
 * WebAssembly is not available and the reference the wasm one is tested against.
 */

let outLo = 0;

/** One compression; returns the high 32 bits of the work value, the low ones in `outLo`. */
function compress40(m0: number, m1: number, m2: number, m3: number, m4: number, m5: number, m6: number, m7: number, m8: number, m9: number): number {
    let v0 = 0x6a09e667 | 0;
    let v1 = 0xbb67ae85 | 0;
    let v2 = 0x3c6ef372 | 0;
    let v3 = 0xa54ff53a | 0;
    let v4 = 0x510e527f | 0;
    let v5 = 0x9b05688c | 0;
    let v6 = 0x1f83d9ab | 0;
    let v7 = 0x5be0cd19 | 0;
    let v8 = 0x6a09e667 | 0;
    let v9 = 0xbb67ae85 | 0;
    let v10 = 0x3c6ef372 | 0;
    let v11 = 0xa54ff53a | 0;
    let v12 = 0;
    let v13 = 0;
    let v14 = 40;
    let v15 = 11;
    // round 1
    v0 = (v0 + v4 + m0) | 0;
    v12 ^= v0; v12 = ((v12 >>> 16) | (v12 << 16));
    v8 = (v8 + v12) | 0;
    v4 ^= v8; v4 = ((v4 >>> 12) | (v4 << 20));
    v0 = (v0 + v4 + m1) | 0;
    v12 ^= v0; v12 = ((v12 >>> 8) | (v12 << 24));
    v8 = (v8 + v12) | 0;
    v4 ^= v8; v4 = ((v4 >>> 7) | (v4 << 25));
    v1 = (v1 + v5 + m2) | 0;
    v13 ^= v1; v13 = ((v13 >>> 16) | (v13 << 16));
    v9 = (v9 + v13) | 0;
    v5 ^= v9; v5 = ((v5 >>> 12) | (v5 << 20));
    v1 = (v1 + v5 + m3) | 0;
    v13 ^= v1; v13 = ((v13 >>> 8) | (v13 << 24));
    v9 = (v9 + v13) | 0;
    v5 ^= v9; v5 = ((v5 >>> 7) | (v5 << 25));
    v2 = (v2 + v6 + m4) | 0;
    v14 ^= v2; v14 = ((v14 >>> 16) | (v14 << 16));
    v10 = (v10 + v14) | 0;
    v6 ^= v10; v6 = ((v6 >>> 12) | (v6 << 20));
    v2 = (v2 + v6 + m5) | 0;
    v14 ^= v2; v14 = ((v14 >>> 8) | (v14 << 24));
    v10 = (v10 + v14) | 0;
    v6 ^= v10; v6 = ((v6 >>> 7) | (v6 << 25));
    v3 = (v3 + v7 + m6) | 0;
    v15 ^= v3; v15 = ((v15 >>> 16) | (v15 << 16));
    v11 = (v11 + v15) | 0;
    v7 ^= v11; v7 = ((v7 >>> 12) | (v7 << 20));
    v3 = (v3 + v7 + m7) | 0;
    v15 ^= v3; v15 = ((v15 >>> 8) | (v15 << 24));
    v11 = (v11 + v15) | 0;
    v7 ^= v11; v7 = ((v7 >>> 7) | (v7 << 25));
    v0 = (v0 + v5 + m8) | 0;
    v15 ^= v0; v15 = ((v15 >>> 16) | (v15 << 16));
    v10 = (v10 + v15) | 0;
    v5 ^= v10; v5 = ((v5 >>> 12) | (v5 << 20));
    v0 = (v0 + v5 + m9) | 0;
    v15 ^= v0; v15 = ((v15 >>> 8) | (v15 << 24));
    v10 = (v10 + v15) | 0;
    v5 ^= v10; v5 = ((v5 >>> 7) | (v5 << 25));
    v1 = (v1 + v6) | 0;
    v12 ^= v1; v12 = ((v12 >>> 16) | (v12 << 16));
    v11 = (v11 + v12) | 0;
    v6 ^= v11; v6 = ((v6 >>> 12) | (v6 << 20));
    v1 = (v1 + v6) | 0;
    v12 ^= v1; v12 = ((v12 >>> 8) | (v12 << 24));
    v11 = (v11 + v12) | 0;
    v6 ^= v11; v6 = ((v6 >>> 7) | (v6 << 25));
    v2 = (v2 + v7) | 0;
    v13 ^= v2; v13 = ((v13 >>> 16) | (v13 << 16));
    v8 = (v8 + v13) | 0;
    v7 ^= v8; v7 = ((v7 >>> 12) | (v7 << 20));
    v2 = (v2 + v7) | 0;
    v13 ^= v2; v13 = ((v13 >>> 8) | (v13 << 24));
    v8 = (v8 + v13) | 0;
    v7 ^= v8; v7 = ((v7 >>> 7) | (v7 << 25));
    v3 = (v3 + v4) | 0;
    v14 ^= v3; v14 = ((v14 >>> 16) | (v14 << 16));
    v9 = (v9 + v14) | 0;
    v4 ^= v9; v4 = ((v4 >>> 12) | (v4 << 20));
    v3 = (v3 + v4) | 0;
    v14 ^= v3; v14 = ((v14 >>> 8) | (v14 << 24));
    v9 = (v9 + v14) | 0;
    v4 ^= v9; v4 = ((v4 >>> 7) | (v4 << 25));
    // round 2
    v0 = (v0 + v4 + m2) | 0;
    v12 ^= v0; v12 = ((v12 >>> 16) | (v12 << 16));
    v8 = (v8 + v12) | 0;
    v4 ^= v8; v4 = ((v4 >>> 12) | (v4 << 20));
    v0 = (v0 + v4 + m6) | 0;
    v12 ^= v0; v12 = ((v12 >>> 8) | (v12 << 24));
    v8 = (v8 + v12) | 0;
    v4 ^= v8; v4 = ((v4 >>> 7) | (v4 << 25));
    v1 = (v1 + v5 + m3) | 0;
    v13 ^= v1; v13 = ((v13 >>> 16) | (v13 << 16));
    v9 = (v9 + v13) | 0;
    v5 ^= v9; v5 = ((v5 >>> 12) | (v5 << 20));
    v1 = (v1 + v5) | 0;
    v13 ^= v1; v13 = ((v13 >>> 8) | (v13 << 24));
    v9 = (v9 + v13) | 0;
    v5 ^= v9; v5 = ((v5 >>> 7) | (v5 << 25));
    v2 = (v2 + v6 + m7) | 0;
    v14 ^= v2; v14 = ((v14 >>> 16) | (v14 << 16));
    v10 = (v10 + v14) | 0;
    v6 ^= v10; v6 = ((v6 >>> 12) | (v6 << 20));
    v2 = (v2 + v6 + m0) | 0;
    v14 ^= v2; v14 = ((v14 >>> 8) | (v14 << 24));
    v10 = (v10 + v14) | 0;
    v6 ^= v10; v6 = ((v6 >>> 7) | (v6 << 25));
    v3 = (v3 + v7 + m4) | 0;
    v15 ^= v3; v15 = ((v15 >>> 16) | (v15 << 16));
    v11 = (v11 + v15) | 0;
    v7 ^= v11; v7 = ((v7 >>> 12) | (v7 << 20));
    v3 = (v3 + v7) | 0;
    v15 ^= v3; v15 = ((v15 >>> 8) | (v15 << 24));
    v11 = (v11 + v15) | 0;
    v7 ^= v11; v7 = ((v7 >>> 7) | (v7 << 25));
    v0 = (v0 + v5 + m1) | 0;
    v15 ^= v0; v15 = ((v15 >>> 16) | (v15 << 16));
    v10 = (v10 + v15) | 0;
    v5 ^= v10; v5 = ((v5 >>> 12) | (v5 << 20));
    v0 = (v0 + v5) | 0;
    v15 ^= v0; v15 = ((v15 >>> 8) | (v15 << 24));
    v10 = (v10 + v15) | 0;
    v5 ^= v10; v5 = ((v5 >>> 7) | (v5 << 25));
    v1 = (v1 + v6) | 0;
    v12 ^= v1; v12 = ((v12 >>> 16) | (v12 << 16));
    v11 = (v11 + v12) | 0;
    v6 ^= v11; v6 = ((v6 >>> 12) | (v6 << 20));
    v1 = (v1 + v6 + m5) | 0;
    v12 ^= v1; v12 = ((v12 >>> 8) | (v12 << 24));
    v11 = (v11 + v12) | 0;
    v6 ^= v11; v6 = ((v6 >>> 7) | (v6 << 25));
    v2 = (v2 + v7 + m9) | 0;
    v13 ^= v2; v13 = ((v13 >>> 16) | (v13 << 16));
    v8 = (v8 + v13) | 0;
    v7 ^= v8; v7 = ((v7 >>> 12) | (v7 << 20));
    v2 = (v2 + v7) | 0;
    v13 ^= v2; v13 = ((v13 >>> 8) | (v13 << 24));
    v8 = (v8 + v13) | 0;
    v7 ^= v8; v7 = ((v7 >>> 7) | (v7 << 25));
    v3 = (v3 + v4) | 0;
    v14 ^= v3; v14 = ((v14 >>> 16) | (v14 << 16));
    v9 = (v9 + v14) | 0;
    v4 ^= v9; v4 = ((v4 >>> 12) | (v4 << 20));
    v3 = (v3 + v4 + m8) | 0;
    v14 ^= v3; v14 = ((v14 >>> 8) | (v14 << 24));
    v9 = (v9 + v14) | 0;
    v4 ^= v9; v4 = ((v4 >>> 7) | (v4 << 25));
    // round 3
    v0 = (v0 + v4 + m3) | 0;
    v12 ^= v0; v12 = ((v12 >>> 16) | (v12 << 16));
    v8 = (v8 + v12) | 0;
    v4 ^= v8; v4 = ((v4 >>> 12) | (v4 << 20));
    v0 = (v0 + v4 + m4) | 0;
    v12 ^= v0; v12 = ((v12 >>> 8) | (v12 << 24));
    v8 = (v8 + v12) | 0;
    v4 ^= v8; v4 = ((v4 >>> 7) | (v4 << 25));
    v1 = (v1 + v5) | 0;
    v13 ^= v1; v13 = ((v13 >>> 16) | (v13 << 16));
    v9 = (v9 + v13) | 0;
    v5 ^= v9; v5 = ((v5 >>> 12) | (v5 << 20));
    v1 = (v1 + v5) | 0;
    v13 ^= v1; v13 = ((v13 >>> 8) | (v13 << 24));
    v9 = (v9 + v13) | 0;
    v5 ^= v9; v5 = ((v5 >>> 7) | (v5 << 25));
    v2 = (v2 + v6) | 0;
    v14 ^= v2; v14 = ((v14 >>> 16) | (v14 << 16));
    v10 = (v10 + v14) | 0;
    v6 ^= v10; v6 = ((v6 >>> 12) | (v6 << 20));
    v2 = (v2 + v6 + m2) | 0;
    v14 ^= v2; v14 = ((v14 >>> 8) | (v14 << 24));
    v10 = (v10 + v14) | 0;
    v6 ^= v10; v6 = ((v6 >>> 7) | (v6 << 25));
    v3 = (v3 + v7 + m7) | 0;
    v15 ^= v3; v15 = ((v15 >>> 16) | (v15 << 16));
    v11 = (v11 + v15) | 0;
    v7 ^= v11; v7 = ((v7 >>> 12) | (v7 << 20));
    v3 = (v3 + v7) | 0;
    v15 ^= v3; v15 = ((v15 >>> 8) | (v15 << 24));
    v11 = (v11 + v15) | 0;
    v7 ^= v11; v7 = ((v7 >>> 7) | (v7 << 25));
    v0 = (v0 + v5 + m6) | 0;
    v15 ^= v0; v15 = ((v15 >>> 16) | (v15 << 16));
    v10 = (v10 + v15) | 0;
    v5 ^= v10; v5 = ((v5 >>> 12) | (v5 << 20));
    v0 = (v0 + v5 + m5) | 0;
    v15 ^= v0; v15 = ((v15 >>> 8) | (v15 << 24));
    v10 = (v10 + v15) | 0;
    v5 ^= v10; v5 = ((v5 >>> 7) | (v5 << 25));
    v1 = (v1 + v6 + m9) | 0;
    v12 ^= v1; v12 = ((v12 >>> 16) | (v12 << 16));
    v11 = (v11 + v12) | 0;
    v6 ^= v11; v6 = ((v6 >>> 12) | (v6 << 20));
    v1 = (v1 + v6 + m0) | 0;
    v12 ^= v1; v12 = ((v12 >>> 8) | (v12 << 24));
    v11 = (v11 + v12) | 0;
    v6 ^= v11; v6 = ((v6 >>> 7) | (v6 << 25));
    v2 = (v2 + v7) | 0;
    v13 ^= v2; v13 = ((v13 >>> 16) | (v13 << 16));
    v8 = (v8 + v13) | 0;
    v7 ^= v8; v7 = ((v7 >>> 12) | (v7 << 20));
    v2 = (v2 + v7) | 0;
    v13 ^= v2; v13 = ((v13 >>> 8) | (v13 << 24));
    v8 = (v8 + v13) | 0;
    v7 ^= v8; v7 = ((v7 >>> 7) | (v7 << 25));
    v3 = (v3 + v4 + m8) | 0;
    v14 ^= v3; v14 = ((v14 >>> 16) | (v14 << 16));
    v9 = (v9 + v14) | 0;
    v4 ^= v9; v4 = ((v4 >>> 12) | (v4 << 20));
    v3 = (v3 + v4 + m1) | 0;
    v14 ^= v3; v14 = ((v14 >>> 8) | (v14 << 24));
    v9 = (v9 + v14) | 0;
    v4 ^= v9; v4 = ((v4 >>> 7) | (v4 << 25));
    // round 4
    v0 = (v0 + v4) | 0;
    v12 ^= v0; v12 = ((v12 >>> 16) | (v12 << 16));
    v8 = (v8 + v12) | 0;
    v4 ^= v8; v4 = ((v4 >>> 12) | (v4 << 20));
    v0 = (v0 + v4 + m7) | 0;
    v12 ^= v0; v12 = ((v12 >>> 8) | (v12 << 24));
    v8 = (v8 + v12) | 0;
    v4 ^= v8; v4 = ((v4 >>> 7) | (v4 << 25));
    v1 = (v1 + v5) | 0;
    v13 ^= v1; v13 = ((v13 >>> 16) | (v13 << 16));
    v9 = (v9 + v13) | 0;
    v5 ^= v9; v5 = ((v5 >>> 12) | (v5 << 20));
    v1 = (v1 + v5 + m9) | 0;
    v13 ^= v1; v13 = ((v13 >>> 8) | (v13 << 24));
    v9 = (v9 + v13) | 0;
    v5 ^= v9; v5 = ((v5 >>> 7) | (v5 << 25));
    v2 = (v2 + v6) | 0;
    v14 ^= v2; v14 = ((v14 >>> 16) | (v14 << 16));
    v10 = (v10 + v14) | 0;
    v6 ^= v10; v6 = ((v6 >>> 12) | (v6 << 20));
    v2 = (v2 + v6 + m3) | 0;
    v14 ^= v2; v14 = ((v14 >>> 8) | (v14 << 24));
    v10 = (v10 + v14) | 0;
    v6 ^= v10; v6 = ((v6 >>> 7) | (v6 << 25));
    v3 = (v3 + v7) | 0;
    v15 ^= v3; v15 = ((v15 >>> 16) | (v15 << 16));
    v11 = (v11 + v15) | 0;
    v7 ^= v11; v7 = ((v7 >>> 12) | (v7 << 20));
    v3 = (v3 + v7) | 0;
    v15 ^= v3; v15 = ((v15 >>> 8) | (v15 << 24));
    v11 = (v11 + v15) | 0;
    v7 ^= v11; v7 = ((v7 >>> 7) | (v7 << 25));
    v0 = (v0 + v5 + m4) | 0;
    v15 ^= v0; v15 = ((v15 >>> 16) | (v15 << 16));
    v10 = (v10 + v15) | 0;
    v5 ^= v10; v5 = ((v5 >>> 12) | (v5 << 20));
    v0 = (v0 + v5 + m0) | 0;
    v15 ^= v0; v15 = ((v15 >>> 8) | (v15 << 24));
    v10 = (v10 + v15) | 0;
    v5 ^= v10; v5 = ((v5 >>> 7) | (v5 << 25));
    v1 = (v1 + v6) | 0;
    v12 ^= v1; v12 = ((v12 >>> 16) | (v12 << 16));
    v11 = (v11 + v12) | 0;
    v6 ^= v11; v6 = ((v6 >>> 12) | (v6 << 20));
    v1 = (v1 + v6 + m2) | 0;
    v12 ^= v1; v12 = ((v12 >>> 8) | (v12 << 24));
    v11 = (v11 + v12) | 0;
    v6 ^= v11; v6 = ((v6 >>> 7) | (v6 << 25));
    v2 = (v2 + v7 + m5) | 0;
    v13 ^= v2; v13 = ((v13 >>> 16) | (v13 << 16));
    v8 = (v8 + v13) | 0;
    v7 ^= v8; v7 = ((v7 >>> 12) | (v7 << 20));
    v2 = (v2 + v7 + m8) | 0;
    v13 ^= v2; v13 = ((v13 >>> 8) | (v13 << 24));
    v8 = (v8 + v13) | 0;
    v7 ^= v8; v7 = ((v7 >>> 7) | (v7 << 25));
    v3 = (v3 + v4 + m1) | 0;
    v14 ^= v3; v14 = ((v14 >>> 16) | (v14 << 16));
    v9 = (v9 + v14) | 0;
    v4 ^= v9; v4 = ((v4 >>> 12) | (v4 << 20));
    v3 = (v3 + v4 + m6) | 0;
    v14 ^= v3; v14 = ((v14 >>> 8) | (v14 << 24));
    v9 = (v9 + v14) | 0;
    v4 ^= v9; v4 = ((v4 >>> 7) | (v4 << 25));
    // round 5
    v0 = (v0 + v4) | 0;
    v12 ^= v0; v12 = ((v12 >>> 16) | (v12 << 16));
    v8 = (v8 + v12) | 0;
    v4 ^= v8; v4 = ((v4 >>> 12) | (v4 << 20));
    v0 = (v0 + v4) | 0;
    v12 ^= v0; v12 = ((v12 >>> 8) | (v12 << 24));
    v8 = (v8 + v12) | 0;
    v4 ^= v8; v4 = ((v4 >>> 7) | (v4 << 25));
    v1 = (v1 + v5 + m9) | 0;
    v13 ^= v1; v13 = ((v13 >>> 16) | (v13 << 16));
    v9 = (v9 + v13) | 0;
    v5 ^= v9; v5 = ((v5 >>> 12) | (v5 << 20));
    v1 = (v1 + v5) | 0;
    v13 ^= v1; v13 = ((v13 >>> 8) | (v13 << 24));
    v9 = (v9 + v13) | 0;
    v5 ^= v9; v5 = ((v5 >>> 7) | (v5 << 25));
    v2 = (v2 + v6) | 0;
    v14 ^= v2; v14 = ((v14 >>> 16) | (v14 << 16));
    v10 = (v10 + v14) | 0;
    v6 ^= v10; v6 = ((v6 >>> 12) | (v6 << 20));
    v2 = (v2 + v6) | 0;
    v14 ^= v2; v14 = ((v14 >>> 8) | (v14 << 24));
    v10 = (v10 + v14) | 0;
    v6 ^= v10; v6 = ((v6 >>> 7) | (v6 << 25));
    v3 = (v3 + v7) | 0;
    v15 ^= v3; v15 = ((v15 >>> 16) | (v15 << 16));
    v11 = (v11 + v15) | 0;
    v7 ^= v11; v7 = ((v7 >>> 12) | (v7 << 20));
    v3 = (v3 + v7 + m8) | 0;
    v15 ^= v3; v15 = ((v15 >>> 8) | (v15 << 24));
    v11 = (v11 + v15) | 0;
    v7 ^= v11; v7 = ((v7 >>> 7) | (v7 << 25));
    v0 = (v0 + v5 + m7) | 0;
    v15 ^= v0; v15 = ((v15 >>> 16) | (v15 << 16));
    v10 = (v10 + v15) | 0;
    v5 ^= v10; v5 = ((v5 >>> 12) | (v5 << 20));
    v0 = (v0 + v5 + m2) | 0;
    v15 ^= v0; v15 = ((v15 >>> 8) | (v15 << 24));
    v10 = (v10 + v15) | 0;
    v5 ^= v10; v5 = ((v5 >>> 7) | (v5 << 25));
    v1 = (v1 + v6 + m5) | 0;
    v12 ^= v1; v12 = ((v12 >>> 16) | (v12 << 16));
    v11 = (v11 + v12) | 0;
    v6 ^= v11; v6 = ((v6 >>> 12) | (v6 << 20));
    v1 = (v1 + v6 + m3) | 0;
    v12 ^= v1; v12 = ((v12 >>> 8) | (v12 << 24));
    v11 = (v11 + v12) | 0;
    v6 ^= v11; v6 = ((v6 >>> 7) | (v6 << 25));
    v2 = (v2 + v7 + m0) | 0;
    v13 ^= v2; v13 = ((v13 >>> 16) | (v13 << 16));
    v8 = (v8 + v13) | 0;
    v7 ^= v8; v7 = ((v7 >>> 12) | (v7 << 20));
    v2 = (v2 + v7 + m1) | 0;
    v13 ^= v2; v13 = ((v13 >>> 8) | (v13 << 24));
    v8 = (v8 + v13) | 0;
    v7 ^= v8; v7 = ((v7 >>> 7) | (v7 << 25));
    v3 = (v3 + v4 + m6) | 0;
    v14 ^= v3; v14 = ((v14 >>> 16) | (v14 << 16));
    v9 = (v9 + v14) | 0;
    v4 ^= v9; v4 = ((v4 >>> 12) | (v4 << 20));
    v3 = (v3 + v4 + m4) | 0;
    v14 ^= v3; v14 = ((v14 >>> 8) | (v14 << 24));
    v9 = (v9 + v14) | 0;
    v4 ^= v9; v4 = ((v4 >>> 7) | (v4 << 25));
    // round 6
    v0 = (v0 + v4 + m9) | 0;
    v12 ^= v0; v12 = ((v12 >>> 16) | (v12 << 16));
    v8 = (v8 + v12) | 0;
    v4 ^= v8; v4 = ((v4 >>> 12) | (v4 << 20));
    v0 = (v0 + v4) | 0;
    v12 ^= v0; v12 = ((v12 >>> 8) | (v12 << 24));
    v8 = (v8 + v12) | 0;
    v4 ^= v8; v4 = ((v4 >>> 7) | (v4 << 25));
    v1 = (v1 + v5) | 0;
    v13 ^= v1; v13 = ((v13 >>> 16) | (v13 << 16));
    v9 = (v9 + v13) | 0;
    v5 ^= v9; v5 = ((v5 >>> 12) | (v5 << 20));
    v1 = (v1 + v5 + m5) | 0;
    v13 ^= v1; v13 = ((v13 >>> 8) | (v13 << 24));
    v9 = (v9 + v13) | 0;
    v5 ^= v9; v5 = ((v5 >>> 7) | (v5 << 25));
    v2 = (v2 + v6 + m8) | 0;
    v14 ^= v2; v14 = ((v14 >>> 16) | (v14 << 16));
    v10 = (v10 + v14) | 0;
    v6 ^= v10; v6 = ((v6 >>> 12) | (v6 << 20));
    v2 = (v2 + v6) | 0;
    v14 ^= v2; v14 = ((v14 >>> 8) | (v14 << 24));
    v10 = (v10 + v14) | 0;
    v6 ^= v10; v6 = ((v6 >>> 7) | (v6 << 25));
    v3 = (v3 + v7) | 0;
    v15 ^= v3; v15 = ((v15 >>> 16) | (v15 << 16));
    v11 = (v11 + v15) | 0;
    v7 ^= v11; v7 = ((v7 >>> 12) | (v7 << 20));
    v3 = (v3 + v7 + m1) | 0;
    v15 ^= v3; v15 = ((v15 >>> 8) | (v15 << 24));
    v11 = (v11 + v15) | 0;
    v7 ^= v11; v7 = ((v7 >>> 7) | (v7 << 25));
    v0 = (v0 + v5) | 0;
    v15 ^= v0; v15 = ((v15 >>> 16) | (v15 << 16));
    v10 = (v10 + v15) | 0;
    v5 ^= v10; v5 = ((v5 >>> 12) | (v5 << 20));
    v0 = (v0 + v5 + m3) | 0;
    v15 ^= v0; v15 = ((v15 >>> 8) | (v15 << 24));
    v10 = (v10 + v15) | 0;
    v5 ^= v10; v5 = ((v5 >>> 7) | (v5 << 25));
    v1 = (v1 + v6 + m0) | 0;
    v12 ^= v1; v12 = ((v12 >>> 16) | (v12 << 16));
    v11 = (v11 + v12) | 0;
    v6 ^= v11; v6 = ((v6 >>> 12) | (v6 << 20));
    v1 = (v1 + v6) | 0;
    v12 ^= v1; v12 = ((v12 >>> 8) | (v12 << 24));
    v11 = (v11 + v12) | 0;
    v6 ^= v11; v6 = ((v6 >>> 7) | (v6 << 25));
    v2 = (v2 + v7 + m2) | 0;
    v13 ^= v2; v13 = ((v13 >>> 16) | (v13 << 16));
    v8 = (v8 + v13) | 0;
    v7 ^= v8; v7 = ((v7 >>> 12) | (v7 << 20));
    v2 = (v2 + v7 + m6) | 0;
    v13 ^= v2; v13 = ((v13 >>> 8) | (v13 << 24));
    v8 = (v8 + v13) | 0;
    v7 ^= v8; v7 = ((v7 >>> 7) | (v7 << 25));
    v3 = (v3 + v4 + m4) | 0;
    v14 ^= v3; v14 = ((v14 >>> 16) | (v14 << 16));
    v9 = (v9 + v14) | 0;
    v4 ^= v9; v4 = ((v4 >>> 12) | (v4 << 20));
    v3 = (v3 + v4 + m7) | 0;
    v14 ^= v3; v14 = ((v14 >>> 8) | (v14 << 24));
    v9 = (v9 + v14) | 0;
    v4 ^= v9; v4 = ((v4 >>> 7) | (v4 << 25));
    // round 7
    v0 = (v0 + v4) | 0;
    v12 ^= v0; v12 = ((v12 >>> 16) | (v12 << 16));
    v8 = (v8 + v12) | 0;
    v4 ^= v8; v4 = ((v4 >>> 12) | (v4 << 20));
    v0 = (v0 + v4) | 0;
    v12 ^= v0; v12 = ((v12 >>> 8) | (v12 << 24));
    v8 = (v8 + v12) | 0;
    v4 ^= v8; v4 = ((v4 >>> 7) | (v4 << 25));
    v1 = (v1 + v5 + m5) | 0;
    v13 ^= v1; v13 = ((v13 >>> 16) | (v13 << 16));
    v9 = (v9 + v13) | 0;
    v5 ^= v9; v5 = ((v5 >>> 12) | (v5 << 20));
    v1 = (v1 + v5 + m0) | 0;
    v13 ^= v1; v13 = ((v13 >>> 8) | (v13 << 24));
    v9 = (v9 + v13) | 0;
    v5 ^= v9; v5 = ((v5 >>> 7) | (v5 << 25));
    v2 = (v2 + v6 + m1) | 0;
    v14 ^= v2; v14 = ((v14 >>> 16) | (v14 << 16));
    v10 = (v10 + v14) | 0;
    v6 ^= v10; v6 = ((v6 >>> 12) | (v6 << 20));
    v2 = (v2 + v6 + m9) | 0;
    v14 ^= v2; v14 = ((v14 >>> 8) | (v14 << 24));
    v10 = (v10 + v14) | 0;
    v6 ^= v10; v6 = ((v6 >>> 7) | (v6 << 25));
    v3 = (v3 + v7 + m8) | 0;
    v15 ^= v3; v15 = ((v15 >>> 16) | (v15 << 16));
    v11 = (v11 + v15) | 0;
    v7 ^= v11; v7 = ((v7 >>> 12) | (v7 << 20));
    v3 = (v3 + v7 + m6) | 0;
    v15 ^= v3; v15 = ((v15 >>> 8) | (v15 << 24));
    v11 = (v11 + v15) | 0;
    v7 ^= v11; v7 = ((v7 >>> 7) | (v7 << 25));
    v0 = (v0 + v5) | 0;
    v15 ^= v0; v15 = ((v15 >>> 16) | (v15 << 16));
    v10 = (v10 + v15) | 0;
    v5 ^= v10; v5 = ((v5 >>> 12) | (v5 << 20));
    v0 = (v0 + v5) | 0;
    v15 ^= v0; v15 = ((v15 >>> 8) | (v15 << 24));
    v10 = (v10 + v15) | 0;
    v5 ^= v10; v5 = ((v5 >>> 7) | (v5 << 25));
    v1 = (v1 + v6 + m2) | 0;
    v12 ^= v1; v12 = ((v12 >>> 16) | (v12 << 16));
    v11 = (v11 + v12) | 0;
    v6 ^= v11; v6 = ((v6 >>> 12) | (v6 << 20));
    v1 = (v1 + v6) | 0;
    v12 ^= v1; v12 = ((v12 >>> 8) | (v12 << 24));
    v11 = (v11 + v12) | 0;
    v6 ^= v11; v6 = ((v6 >>> 7) | (v6 << 25));
    v2 = (v2 + v7 + m3) | 0;
    v13 ^= v2; v13 = ((v13 >>> 16) | (v13 << 16));
    v8 = (v8 + v13) | 0;
    v7 ^= v8; v7 = ((v7 >>> 12) | (v7 << 20));
    v2 = (v2 + v7 + m4) | 0;
    v13 ^= v2; v13 = ((v13 >>> 8) | (v13 << 24));
    v8 = (v8 + v13) | 0;
    v7 ^= v8; v7 = ((v7 >>> 7) | (v7 << 25));
    v3 = (v3 + v4 + m7) | 0;
    v14 ^= v3; v14 = ((v14 >>> 16) | (v14 << 16));
    v9 = (v9 + v14) | 0;
    v4 ^= v9; v4 = ((v4 >>> 12) | (v4 << 20));
    v3 = (v3 + v4) | 0;
    v14 ^= v3; v14 = ((v14 >>> 8) | (v14 << 24));
    v9 = (v9 + v14) | 0;
    v4 ^= v9; v4 = ((v4 >>> 7) | (v4 << 25));

  outLo = bswap(v1 ^ v9);
  return bswap(v0 ^ v8);
}

function bswap(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

export interface PowKernelOptions {
  /** Use the WebAssembly search loop when available (default true); false forces the JS one. */
  wasm?: boolean;
}

export class PowKernel {
  private readonly words = new Uint32Array(8);
  private readonly wasm: PowWasmExports | null;

  constructor(options: PowKernelOptions = {}) {
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

let shared: PowKernel | undefined;

export function sharedKernel(): PowKernel {
  if (!shared) shared = new PowKernel();
  return shared;
}
