import { describe, expect, it } from '@jest/globals';
import { RateLimiter } from '../../src/index.js';

const MS = 1_000_000n;

describe('RateLimiter', () => {
  it('allows a burst, then refills at the rate (a minute of 3 per minute)', () => {
    let now = 0n;
    const rl = new RateLimiter({ ratePerSec: 3 / 60, burst: 3 }, { clock: () => now });
    expect([rl.allow('a'), rl.allow('a'), rl.allow('a'), rl.allow('a')]).toEqual([true, true, true, false]);
    expect(rl.allow('b')).toBe(true);
    now += 20_000n * MS;
    expect(rl.allow('a')).toBe(true);
    expect(rl.allow('a')).toBe(false);
  });

  it('says how long until the next token', () => {
    let now = 0n;
    const rl = new RateLimiter({ ratePerSec: 2, burst: 1 }, { clock: () => now });
    expect(rl.take('ip')).toBe(0);
    expect(rl.take('ip')).toBe(500);
    now += 400n * MS;
    expect(rl.take('ip')).toBe(100);
    now += 100n * MS;
    expect(rl.take('ip')).toBe(0);
  });

  it('is bounded: forgets full buckets first, then the oldest key', () => {
    let now = 0n;
    const rl = new RateLimiter({ ratePerSec: 1, burst: 2 }, { clock: () => now }, { maxKeys: 3 });
    rl.take('a');
    rl.take('b');
    rl.take('c');
    now += 5_000n * MS; // all three full again
    rl.take('d');
    expect(rl.size).toBe(1);
    rl.take('d');
    rl.take('e');
    rl.take('f');
    rl.take('g'); // none full: the oldest (d) goes
    expect(rl.size).toBe(3);
    expect(rl.take('d')).toBe(0); // a fresh bucket
  });

  it('does not refill when the clock steps back', () => {
    let now = 10_000n * MS;
    const rl = new RateLimiter({ ratePerSec: 1, burst: 1 }, { clock: () => now });
    expect(rl.allow('k')).toBe(true);
    now -= 5_000n * MS;
    expect(rl.allow('k')).toBe(false);
  });
});
