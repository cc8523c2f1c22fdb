import type { Clock } from './clock.js';

/** A token bucket: `ratePerSec` tokens refilled continuously, at most `burst` held. */
export interface RateLimit {
  ratePerSec: number;
  burst: number;
}

export interface RateLimiterOptions {
  /** Keys tracked at most (default 10,000); past it, full buckets and then the oldest are forgotten. */
  maxKeys?: number;
}

const NS_PER_MS = 1_000_000n;

/**
 * Per-key token buckets (a peer id, a client IP), timed by the injected clock. The one
 * rate limiter of the code base: the HTTP API's per-IP limits and gossip's per-peer
 * request limits both use it.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; atNs: bigint }>();
  private readonly maxKeys: number;

  constructor(
    readonly limit: RateLimit,
    private readonly components: { clock: Clock },
    options: RateLimiterOptions = {},
  ) {
    this.maxKeys = options.maxKeys ?? 10_000;
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Takes one token for `key`: 0 when allowed, else the milliseconds until a token is there. */
  take(key: string): number {
    const now = this.components.clock();
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= this.maxKeys) this.prune(now);
      b = { tokens: this.limit.burst, atNs: now };
      this.buckets.set(key, b);
    } else {
      b.tokens = this.refilled(b, now);
      b.atNs = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - b.tokens) / this.limit.ratePerSec) * 1000));
  }

  /** `take(key) === 0`. */
  allow(key: string): boolean {
    return this.take(key) === 0;
  }

  private refilled(b: { tokens: number; atNs: bigint }, now: bigint): number {
    const elapsedMs = now > b.atNs ? Number((now - b.atNs) / NS_PER_MS) : 0;
    return Math.min(this.limit.burst, b.tokens + (elapsedMs / 1000) * this.limit.ratePerSec);
  }

  /** Forgets full buckets (they hold no state), then the oldest keys, to make room. */
  private prune(now: bigint): void {
    for (const [k, b] of this.buckets) if (this.refilled(b, now) >= this.limit.burst) this.buckets.delete(k);
    while (this.buckets.size >= this.maxKeys) {
      const oldest = this.buckets.keys().next().value;
      if (oldest === undefined) break;
      this.buckets.delete(oldest);
    }
  }
}
