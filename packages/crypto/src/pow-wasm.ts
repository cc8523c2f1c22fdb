/**
 * The proof-of-work search loop as a WebAssembly module, assembled byte by byte when
 * this file is imported (no toolchain, no binary in the repository).
 *
 * A try is one BLAKE3 compression of the 40-byte block `u64le(nonce) || hash` with
 * counter 0, block length 40 and flags CHUNK_START | CHUNK_END | ROOT (SPEC §3.3), the
 * same computation as the JavaScript kernel in `pow-kernel-js.ts`, both generated from the
 * round schedule in `blake3-schedule.ts`. Message words 0–1 are the nonce, 2–9 the block
 * hash, 10–15 zero. The generator below writes the 7 rounds out as straight-line i32 code
 * over locals (native `i32.rotr`), drops the additions of the zero words, and keeps only
 * the two output words that make the work value. The three round-1 columns that do not
 * read the nonce are computed once per call, before the loop.
 *
 * Exports (all plain i32 parameters and results, no memory):
 * - `work(m2..m9, lo, hi) -> (workHi, workLo)`
 * - `search(m2..m9, lo, hi, stride, count, diffHi, diffLo) -> (found, lo, hi)`: tries
 *   up to `count` (unsigned) nonces `lo + i·stride` with the carry into `hi`; returns the
 *   first whose work ≥ difficulty, or 0 and the next nonce.
 */

import { G_ROTATIONS, powInitialState, powRoundSchedule } from './blake3-schedule.js';

// opcodes
const BLOCK = 0x02;
const LOOP = 0x03;
const IF = 0x04;
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;
const RETURN = 0x0f;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const LOCAL_TEE = 0x22;
const I32_CONST = 0x41;
const I32_EQZ = 0x45;
const I32_EQ = 0x46;
const I32_LT_U = 0x49;
const I32_GT_U = 0x4b;
const I32_GE_U = 0x4f;
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I32_AND = 0x71;
const I32_OR = 0x72;
const I32_XOR = 0x73;
const I32_ROTL = 0x77;
const I32_ROTR = 0x78;
const I32 = 0x7f;
const VOID = 0x40;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  n |= 0;
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

/**
 * Emits code for one function. A message word is a local index, or -1 for a zero word.
 * `state[i]` is the local holding v_i.
 */
class Emitter {
  readonly code: number[] = [];
  get(l: number): void {
    this.code.push(LOCAL_GET, ...uleb(l));
  }
  set(l: number): void {
    this.code.push(LOCAL_SET, ...uleb(l));
  }
  tee(l: number): void {
    this.code.push(LOCAL_TEE, ...uleb(l));
  }
  i32(n: number): void {
    this.code.push(I32_CONST, ...sleb(n));
  }
  op(...ops: number[]): void {
    this.code.push(...ops);
  }

  /** `x = rotr(x ^ y, r)` */
  private xorRot(x: number, y: number, r: number): void {
    this.get(x);
    this.get(y);
    this.op(I32_XOR);
    this.i32(r);
    this.op(I32_ROTR);
    this.set(x);
  }

  /** `a = a + b (+ m)` */
  private addInto(a: number, b: number, m: number): void {
    this.get(a);
    this.get(b);
    this.op(I32_ADD);
    if (m >= 0) {
      this.get(m);
      this.op(I32_ADD);
    }
    this.set(a);
  }

  /** The BLAKE3 G function on state locals a, b, c, d with message words mx, my. */
  g(a: number, b: number, c: number, d: number, mx: number, my: number): void {
    const [r1, r2, r3, r4] = G_ROTATIONS;
    this.addInto(a, b, mx);
    this.xorRot(d, a, r1);
    this.addInto(c, d, -1);
    this.xorRot(b, c, r2);
    this.addInto(a, b, my);
    this.xorRot(d, a, r3);
    this.addInto(c, d, -1);
    this.xorRot(b, c, r4);
  }

  /** Pushes the byte-swapped value of local `l` (big-endian read of a little-endian word). */
  bswap(l: number): void {
    this.get(l);
    this.i32(8);
    this.op(I32_ROTL);
    this.i32(0x00ff00ff);
    this.op(I32_AND);
    this.get(l);
    this.i32(8);
    this.op(I32_ROTR);
    this.i32(0xff00ff00 | 0);
    this.op(I32_AND);
    this.op(I32_OR);
  }
}

/** Sets v0..v15 (locals `v`) to the initial compression state. */
function initState(e: Emitter, v: number[], which: number[]): void {
  const init = powInitialState();
  for (const i of which) {
    e.i32(init[i]!);
    e.set(v[i]!);
  }
}

const SCHEDULE = powRoundSchedule();

/**
 * The seven rounds. `m` maps message word index → local (or -1 for zero). When
 * `skipFirstColumns` is set, the round-1 columns 1–3 are assumed already done.
 */
function rounds(e: Emitter, v: number[], m: number[], skipFirstColumns: boolean): void {
  for (const s of SCHEDULE) {
    if (skipFirstColumns && s.round === 0 && s.index >= 1 && s.index <= 3) continue;
    e.g(v[s.a]!, v[s.b]!, v[s.c]!, v[s.d]!, m[s.mx]!, m[s.my]!);
  }
}

/** Local layout shared by both functions: params m2..m9 at 0..7, lo 8, hi 9. */
const P_M = [0, 1, 2, 3, 4, 5, 6, 7];
const P_LO = 8;
const P_HI = 9;

function messageLocals(): number[] {
  return [P_LO, P_HI, ...P_M, -1, -1, -1, -1, -1, -1];
}

function workBody(): number[] {
  // params 0..9, locals v0..v15 at 10..25
  const v = Array.from({ length: 16 }, (_, i) => 10 + i);
  const e = new Emitter();
  initState(
    e,
    v,
    Array.from({ length: 16 }, (_, i) => i),
  );
  rounds(e, v, messageLocals(), false);
  // t = v0 ^ v8 into v0, v1 ^ v9 into v1
  for (const [a, b] of [
    [0, 8],
    [1, 9],
  ] as const) {
    e.get(v[a]!);
    e.get(v[b]!);
    e.op(I32_XOR);
    e.set(v[a]!);
  }
  e.bswap(v[0]!);
  e.bswap(v[1]!);
  e.op(END);
  return [...vec([[...uleb(16), I32]]), ...e.code];
}

function searchBody(): number[] {
  // params: m2..m9 0..7, lo 8, hi 9, stride 10, count 11, diffHi 12, diffLo 13
  const STRIDE = 10;
  const COUNT = 11;
  const DIFF_HI = 12;
  const DIFF_LO = 13;
  // locals: v0..v15 at 14..29, saved round-1 columns at 30..41, t at 42
  const v = Array.from({ length: 16 }, (_, i) => 14 + i);
  const saved = Array.from({ length: 12 }, (_, i) => 30 + i);
  const T = 42;
  const hoisted = [1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15];
  const e = new Emitter();

  // Round-1 columns 1..3 read only the block hash: compute them once.
  initState(e, v, hoisted);
  const m = messageLocals();
  for (const s of SCHEDULE.filter((s) => s.round === 0 && s.index >= 1 && s.index <= 3)) {
    e.g(v[s.a]!, v[s.b]!, v[s.c]!, v[s.d]!, m[s.mx]!, m[s.my]!);
  }
  hoisted.forEach((i, k) => {
    e.get(v[i]!);
    e.set(saved[k]!);
  });

  e.op(BLOCK, VOID); // $notFound
  e.op(BLOCK, VOID); // $found
  e.op(LOOP, VOID); // $next
  e.get(COUNT);
  e.op(I32_EQZ, BR_IF, 2);
  initState(e, v, [0, 4, 8, 12]);
  hoisted.forEach((i, k) => {
    e.get(saved[k]!);
    e.set(v[i]!);
  });
  rounds(e, v, messageLocals(), true);
  // work high word: bswap(v0 ^ v8)
  e.get(v[0]!);
  e.get(v[8]!);
  e.op(I32_XOR);
  e.set(v[0]!);
  e.bswap(v[0]!);
  e.tee(T);
  e.get(DIFF_HI);
  e.op(I32_GT_U, BR_IF, 1);
  e.get(T);
  e.get(DIFF_HI);
  e.op(I32_EQ, IF, VOID);
  e.get(v[1]!);
  e.get(v[9]!);
  e.op(I32_XOR);
  e.set(v[1]!);
  e.bswap(v[1]!);
  e.get(DIFF_LO);
  e.op(I32_GE_U, BR_IF, 2);
  e.op(END);
  // next nonce: lo += stride, carry into hi
  e.get(P_HI);
  e.get(P_LO);
  e.get(STRIDE);
  e.op(I32_ADD);
  e.tee(P_LO);
  e.get(STRIDE);
  e.op(I32_LT_U, I32_ADD);
  e.set(P_HI);
  e.get(COUNT);
  e.i32(1);
  e.op(I32_SUB);
  e.set(COUNT);
  e.op(BR, 0);
  e.op(END); // loop
  e.op(END); // $found
  e.i32(1);
  e.get(P_LO);
  e.get(P_HI);
  e.op(RETURN);
  e.op(END); // $notFound
  e.i32(0);
  e.get(P_LO);
  e.get(P_HI);
  e.op(END);
  return [...vec([[...uleb(29), I32]]), ...e.code];
}

/** The module's bytes. */
export function powWasmBytes(): Uint8Array {
  const i32s = (n: number) => Array<number>(n).fill(I32);
  const types = section(1, vec([
    [0x60, ...vec(i32s(10).map((t) => [t])), ...vec(i32s(2).map((t) => [t]))],
    [0x60, ...vec(i32s(14).map((t) => [t])), ...vec(i32s(3).map((t) => [t]))],
  ]));
  const funcs = section(3, vec([[0], [1]]));
  const exports = section(7, vec([
    [...name('work'), 0x00, 0],
    [...name('search'), 0x00, 1],
  ]));
  const code = section(10, vec([workBody(), searchBody()].map((b) => [...uleb(b.length), ...b])));
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...funcs, ...exports, ...code]);
}

export interface PowWasmExports {
  work(m2: number, m3: number, m4: number, m5: number, m6: number, m7: number, m8: number, m9: number, lo: number, hi: number): [number, number];
  search(
    m2: number, m3: number, m4: number, m5: number, m6: number, m7: number, m8: number, m9: number,
    lo: number, hi: number, stride: number, count: number, diffHi: number, diffLo: number,
  ): [number, number, number];
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports?: object) => { exports: unknown };
}

let cached: PowWasmExports | null | undefined;

/**
 * The compiled module's exports, or null when WebAssembly (or multi-value results) is not
 * available here. Compiled synchronously on first use; the module is small.
 */
export function powWasm(): PowWasmExports | null {
  if (cached !== undefined) return cached;
  cached = null;
  const wa = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!wa) return null;
  try {
    const instance = new wa.Instance(new wa.Module(powWasmBytes()));
    const ex = instance.exports as PowWasmExports;
    // Self-check against the BLAKE3 value of the all-zero input (nonce 0, zero hash).
    const [hi, lo] = ex.work(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    if (hi >>> 0 === ZERO_INPUT_WORK_HI && lo >>> 0 === ZERO_INPUT_WORK_LO) cached = ex;
  } catch {
    cached = null;
  }
  return cached;
}

// first 8 bytes of BLAKE3(40 zero bytes), big-endian
const ZERO_INPUT_WORK_HI = 0x352bd266;
const ZERO_INPUT_WORK_LO = 0xdae53c6e;
