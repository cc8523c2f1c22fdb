import { isIP } from 'node:net';
import { type Clock, type RateLimit, RateLimiter } from '@xe/core-types';

/** Per-IP token buckets (core-types' `RateLimiter`): `ratePerSec` sustained, `burst` at once. */
export type BucketOptions = RateLimit;

export interface RateLimitOptions {
  /** GET, HEAD, OPTIONS */
  reads: BucketOptions;
  /** every other method, and tunnel upgrades */
  writes: BucketOptions;
  /** how many IPs are tracked at most (full buckets, then the oldest, forgotten first) */
  maxClients?: number;
}

export const DEFAULT_RATE_LIMITS: Readonly<RateLimitOptions> = Object.freeze({
  reads: { ratePerSec: 50, burst: 200 },
  writes: { ratePerSec: 5, burst: 20 },
  maxClients: 10_000,
});

/**
 * The client a request is counted against: an IPv4 address (also when written IPv4-mapped,
 * `::ffff:a.b.c.d`) is its own client; an IPv6 address counts as its /64 (one subscriber's
 * usual allocation, which hands it 2^64 addresses), printed `xxxx:xxxx:xxxx:xxxx::/64`.
 * Anything else (`local`, a name) is its own key.
 */
export function rateLimitKey(ip: string): string {
  const addr = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  const kind = isIP(addr.split('%')[0] ?? '');
  if (kind !== 6) return ip;
  const plain = (addr.split('%')[0] ?? '').toLowerCase();
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(plain);
  if (mapped && isIP(mapped[1]!) === 4) return mapped[1]!;
  // expand `::` and an embedded IPv4 tail into eight 16-bit groups
  let text = plain;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -v4[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g || '0', 16).toString(16))
    .join(':')}::/64`;
}

/** One limiter per bucket kind; `take(ip)` is 0 or the whole seconds to wait (for `Retry-After`); IPv6 clients count by /64. */
export function ipLimiter(bucket: BucketOptions, limits: RateLimitOptions, clock: Clock): { take(ip: string): number } {
  const limiter = new RateLimiter(bucket, { clock }, limits.maxClients === undefined ? {} : { maxKeys: limits.maxClients });
  return { take: (ip) => Math.ceil(limiter.take(rateLimitKey(ip)) / 1000) };
}
