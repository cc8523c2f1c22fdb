/** Per-IP token buckets: `ratePerSec` sustained, `burst` at once. */
export interface BucketOptions {
  ratePerSec: number;
  burst: number;
}

export interface RateLimitOptions {
  /** GET, HEAD, OPTIONS */
  reads: BucketOptions;
  /** every other method, and tunnel upgrades */
  writes: BucketOptions;
  /** how many IPs are tracked at most (oldest forgotten first) */
  maxClients?: number;
}

export const DEFAULT_RATE_LIMITS: Readonly<RateLimitOptions> = Object.freeze({
  reads: { ratePerSec: 50, burst: 200 },
  writes: { ratePerSec: 5, burst: 20 },
  maxClients: 10_000,
});

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxClients: number;

  constructor(
    private readonly options: BucketOptions,
    maxClients = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.maxClients = maxClients;
  }

  /** Takes one token for `ip`; returns 0 when allowed, else the seconds until one is available. */
  take(ip: string): number {
    const t = this.now();
    let b = this.buckets.get(ip);
    if (b === undefined) {
      if (this.buckets.size >= this.maxClients) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      b = { tokens: this.options.burst, at: t };
      this.buckets.set(ip, b);
    } else {
      b.tokens = Math.min(this.options.burst, b.tokens + ((t - b.at) / 1000) * this.options.ratePerSec);
      b.at = t;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.options.ratePerSec));
  }
}
