import type { AbortOptions } from '@xe/core-types';

/** 64 lowercase hex chars: a hash or an address. Queries answer nothing for anything else. */
export function isHash(v: unknown): v is string {
  return typeof v === 'string' && v.length === 64 && /^[0-9a-f]{64}$/.test(v);
}

/** The `signal` of `options`, spread-ready (exactOptionalPropertyTypes). */
export function signalOf(options: AbortOptions): { signal?: AbortSignal } {
  return options.signal === undefined ? {} : { signal: options.signal };
}
