import { describe, expect, it } from '@jest/globals';
import { generateKeyPair, signMarketplace } from '@xe/crypto';
import { compareOffers } from '../../src/services/consumer.js';
import { MarketplaceBook, type OfferMsg, parseMarketplace, verifyMarketplaceMsg } from '../../src/services/marketplace.js';

function offer(p: Partial<OfferMsg>): OfferMsg {
  return {
    type: 'offer',
    provider: 'a'.repeat(64),
    provider_pub_key: 'b'.repeat(64),
    request_id: 'c'.repeat(32),
    vcpus: 1,
    memory_mb: 512,
    disk_gb: 1,
    duration: 60,
    total_cost: 100n,
    certificate_hash: 'd'.repeat(64),
    available_vcpus: 1,
    available_memory_mb: 1024,
    available_disk_gb: 10,
    timestamp: 1n,
    signature: 'e'.repeat(128),
    ...p,
  };
}

describe('offer selection', () => {
  it('takes the cheapest offer, ties to the most free capacity', () => {
    const cheap = offer({ provider: '1'.repeat(64), total_cost: 90n });
    const roomy = offer({ provider: '2'.repeat(64), available_vcpus: 8 });
    const small = offer({ provider: '3'.repeat(64) });
    expect([small, roomy, cheap].sort(compareOffers).map((o) => o.provider)).toEqual([cheap.provider, roomy.provider, small.provider]);
  });
});

describe('marketplace messages', () => {
  const key = generateKeyPair();
  const base = { type: 'advertisement', provider: key.address, provider_pub_key: key.pubKeyHex, vcpus: 4, memory_mb: 4096, disk_gb: 40, price_multiplier_milli: 1000, expires_at: 10n ** 19n, timestamp: 5n };

  it('parses and verifies a signed advertisement; a changed field or another key fails', () => {
    const signed = signMarketplace('advertisement', 'net-1', base, key);
    const m = parseMarketplace(signed as never);
    expect(verifyMarketplaceMsg(m, 'net-1')).toBe(true);
    expect(verifyMarketplaceMsg(m, 'net-2')).toBe(false);
    expect(verifyMarketplaceMsg({ ...m, vcpus: 5 } as never, 'net-1')).toBe(false);
    const other = generateKeyPair();
    expect(verifyMarketplaceMsg({ ...m, provider_pub_key: other.pubKeyHex } as never, 'net-1')).toBe(false);
  });

  it('rejects unknown types and fields with coded errors naming them', () => {
    expect(() => parseMarketplace({ ...base, type: 'bid' } as never)).toThrow(/type/);
    expect(() => parseMarketplace({ ...base, extra: 1n, signature: 'e'.repeat(128) } as never)).toThrow(/extra/);
    expect(() => parseMarketplace({ ...base, vcpus: -1n, signature: 'e'.repeat(128) } as never)).toThrow(/vcpus/);
  });

  it('keeps the newest unexpired advert per provider and routes offers to their request', () => {
    let now = 10n;
    const book = new MarketplaceBook(() => now);
    const ad = parseMarketplace({ ...base, expires_at: 100n, signature: 'e'.repeat(128) } as never);
    expect(book.putAdvert(ad as never)).toBe(true);
    expect(book.putAdvert({ ...(ad as object), timestamp: 1n } as never)).toBe(false);
    expect(book.liveAdverts()).toHaveLength(1);
    now = 100n;
    expect(book.liveAdverts()).toHaveLength(0);
    const got: OfferMsg[] = [];
    const stop = book.waitOffers('c'.repeat(32), (o) => got.push(o));
    expect(book.deliverOffer(offer({}))).toBe(true);
    stop();
    expect(book.deliverOffer(offer({}))).toBe(false);
    expect(got).toHaveLength(1);
  });
});
