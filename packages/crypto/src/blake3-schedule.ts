/**
 * The BLAKE3 compression as the proof-of-work input uses it (SPEC §3.3), written down once:
 * the initial state of the one 40-byte block (counter 0, block length 40, flags
 * CHUNK_START | CHUNK_END | ROOT) and the order of the 56 G steps of the 7 rounds with the
 * message schedule resolved. Both kernels are generated from it: the WebAssembly one at
 * import time (`pow-wasm.ts`), the JavaScript one by `scripts/gen-pow-kernel.mjs`
 * (`pow-kernel-gen.ts` → `pow-kernel-js.ts`, checked in and checked for staleness).
 */

export const BLAKE3_IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19] as const;
export const BLAKE3_MSG_PERMUTATION = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8] as const;

/** The PoW input: `u64le(nonce) || hash`, one 40-byte block. */
export const POW_BLOCK_LEN = 40;
/** CHUNK_START | CHUNK_END | ROOT */
export const POW_FLAGS = 1 | 2 | 8;
/** Message words 0–1 are the nonce, 2–9 the block hash; 10–15 are zero. */
export const POW_NONZERO_WORDS = 10;

/** v0..v15 before the first round. */
export function powInitialState(): number[] {
  return [...BLAKE3_IV, BLAKE3_IV[0], BLAKE3_IV[1], BLAKE3_IV[2], BLAKE3_IV[3], 0, 0, POW_BLOCK_LEN, POW_FLAGS];
}

/** One G step: state words a, b, c, d mixed with message words mx, my (indices 0–15 of the original block). */
export interface GStep {
  round: number;
  /** 0–3 the columns, 4–7 the diagonals */
  index: number;
  a: number;
  b: number;
  c: number;
  d: number;
  mx: number;
  my: number;
}

const LANES = [
  [0, 4, 8, 12],
  [1, 5, 9, 13],
  [2, 6, 10, 14],
  [3, 7, 11, 15],
  [0, 5, 10, 15],
  [1, 6, 11, 12],
  [2, 7, 8, 13],
  [3, 4, 9, 14],
] as const;

/** The 7 rounds as 56 G steps, in order, the message permutation applied between rounds. */
export function powRoundSchedule(): GStep[] {
  const steps: GStep[] = [];
  let m = Array.from({ length: 16 }, (_, i) => i);
  for (let round = 0; round < 7; round++) {
    LANES.forEach(([a, b, c, d], index) => {
      steps.push({ round, index, a, b, c, d, mx: m[2 * index]!, my: m[2 * index + 1]! });
    });
    m = BLAKE3_MSG_PERMUTATION.map((i) => m[i]!);
  }
  return steps;
}

/** The G rotations: d by 16, b by 12, d by 8, b by 7. */
export const G_ROTATIONS = [16, 12, 8, 7] as const;
