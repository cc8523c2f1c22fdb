import { ErrorCodes, ValidationError } from './errors.js';

const LOWER_HEX = /^[0-9a-f]*$/;

/** True for lowercase hex of exactly `chars` characters (any even length when omitted). */
export function isHex(value: unknown, chars?: number): value is string {
  if (typeof value !== 'string') return false;
  if (chars !== undefined ? value.length !== chars : value.length % 2 !== 0) return false;
  return LOWER_HEX.test(value);
}

export function isHash(value: unknown): value is string {
  return isHex(value, 64);
}

const HEX_CHARS = '0123456789abcdef';
const HEX_TABLE: string[] = [];
for (let i = 0; i < 256; i++) HEX_TABLE.push(HEX_CHARS[i >> 4]! + HEX_CHARS[i & 15]!);

export function bytesToHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += HEX_TABLE[bytes[i]!]!;
  return out;
}

function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Decodes lowercase hex; anything else is a coded error naming `field`. */
export function hexToBytes(hex: string, field = 'hex'): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0) {
    throw new ValidationError(ErrorCodes.INVALID_FIELD, `${field}: expected lowercase hex of even length`, { field });
  }
  const out = new Uint8Array(hex.length / 2);
  if (!decodeHexInto(hex, out, 0, out.length)) {
    throw new ValidationError(ErrorCodes.INVALID_FIELD, `${field}: expected lowercase hex`, { field });
  }
  return out;
}

/**
 * Decodes `hex`, which must be lowercase hex of exactly `bytes` bytes, into `out` at
 * `offset`. False (and `out` partly written) for anything else: nothing thrown, nothing allocated.
 */
export function decodeHexInto(hex: unknown, out: Uint8Array, offset: number, bytes: number): boolean {
  if (typeof hex !== 'string' || hex.length !== 2 * bytes) return false;
  for (let i = 0; i < bytes; i++) {
    const hi = nibble(hex.charCodeAt(2 * i));
    const lo = nibble(hex.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) return false;
    out[offset + i] = (hi << 4) | lo;
  }
  return true;
}

/** True when `hex` is the lowercase hex of exactly `bytes` (compared in place, nothing allocated). */
export function hexEqualsBytes(hex: string, bytes: Uint8Array): boolean {
  if (hex.length !== bytes.length * 2) return false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (hex.charCodeAt(2 * i) !== HEX_CHARS.charCodeAt(b >> 4) || hex.charCodeAt(2 * i + 1) !== HEX_CHARS.charCodeAt(b & 15)) return false;
  }
  return true;
}

const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }).latin1Slice;

/** Bytes `from`..`to` of `b` as a latin1 string (one char per byte), read straight from the bytes: no Buffer view made. */
export function latin1(b: Uint8Array, from = 0, to = b.byteLength): string {
  return latin1Slice.call(b, from, to);
}

/**
 * `s` in a string of its own. A string cut out of a longer text (a hash parsed from a sync
 * page) can keep that whole text alive in V8 for as long as it lives: a long-lived map
 * keyed by such strings stores copies.
 */
export function detachString(s: string): string {
  return Buffer.from(s, 'utf16le').toString('utf16le');
}

/** The slab `pooledBytes` carves from, and how much of it is handed out. */
const SLAB_BYTES = 8192;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

/**
 * `n` zeroed bytes carved from a shared 8 KiB slab, as a plain Uint8Array. V8 gives a typed
 * array of more than 64 bytes an ArrayBuffer of its own, which costs about 1–2.5 µs to
 * allocate and more to sweep; records encoded once per admitted block (keys, canonical
 * bytes, pending and undo records) take about 0.1 µs from the slab instead. A slab's bytes
 * are handed out once and never reused, so they are zero (a new ArrayBuffer is). Requests
 * over half a slab get an array of their own. Two rules follow: the view's `buffer` is the
 * shared slab, so read it through `byteOffset` and never transfer it; and a view kept alive
 * keeps its whole slab, so bytes meant to live long are copied with `slice`.
 */
export function pooledBytes(n: number): Uint8Array {
  if (n > SLAB_BYTES >>> 1) return new Uint8Array(n);
  if (n > SLAB_BYTES - slabUsed) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, n);
  // 8-byte aligned, as Node's own pool does
  slabUsed += (n + 7) & ~7;
  return out;
}
