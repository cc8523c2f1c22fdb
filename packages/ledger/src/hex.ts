import type { AbortOptions } from '@xe/core-types';

/** 64 lowercase hex chars: a hash or an address. Queries answer nothing for anything else. */
export function isHash(v: unknown): v is string {
  return typeof v === 'string' && v.length === 64 && /^[0-9a-f]{64}$/.test(v);
}

/** The `signal` of `options`, spread-ready (exactOptionalPropertyTypes). */
export function signalOf(options: AbortOptions): { signal?: AbortSignal } {
  return options.signal === undefined ? {} : { signal: options.signal };
}

const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }).latin1Slice;

/** Bytes `from`..`to` of `b` as a latin1 string (one char per byte), read straight from the bytes: no Buffer view made. */
export function latin1(b: Uint8Array, from = 0, to = b.byteLength): string {
  return latin1Slice.call(b, from, to);
}
