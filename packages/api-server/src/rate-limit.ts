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

/** One limiter per bucket kind; `take(ip)` is 0 or the whole seconds to wait (for `Retry-After`). */
export function ipLimiter(bucket: BucketOptions, limits: RateLimitOptions, clock: Clock): { take(ip: string): number } {
  const limiter = new RateLimiter(bucket, { clock }, limits.maxClients === undefined ? {} : { maxKeys: limits.maxClients });
  return { take: (ip) => Math.ceil(limiter.take(ip) / 1000) };
}
