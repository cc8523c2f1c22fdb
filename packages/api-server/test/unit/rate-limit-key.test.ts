import { describe, expect, it } from '@jest/globals';
import { ipLimiter, rateLimitKey } from '../../src/rate-limit.js';

describe('the rate limiter client key', () => {
  it('groups IPv6 addresses by /64 (each address used to be its own client, so one subscriber had 2^64 buckets)', () => {
    expect(rateLimitKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(rateLimitKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(rateLimitKey('2001:db8:1:2:aaaa::7')).toBe('2001:db8:1:2::/64');
    expect(rateLimitKey('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(rateLimitKey('::1')).toBe('0:0:0:0::/64');
    expect(rateLimitKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(rateLimitKey('[2001:db8::5]')).toBe('2001:db8:0:0::/64');
    expect(rateLimitKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
  });

  it('keeps IPv4 (also IPv4-mapped IPv6) and other keys as they are', () => {
    expect(rateLimitKey('192.0.2.7')).toBe('192.0.2.7');
    expect(rateLimitKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(rateLimitKey('local')).toBe('local');
  });

  it('a /64 shares one bucket: a burst spread over many of its addresses is limited like one client', () => {
    const limiter = ipLimiter({ ratePerSec: 1, burst: 5 }, { reads: { ratePerSec: 1, burst: 5 }, writes: { ratePerSec: 1, burst: 5 } }, () => 1_000_000_000n);
    const answers = Array.from({ length: 10 }, (_, i) => limiter.take(`2001:db8:1:2::${(i + 1).toString(16)}`));
    expect(answers.filter((w) => w === 0)).toHaveLength(5);
    expect(limiter.take('2001:db8:1:3::1')).toBe(0);
  });
});
