import { afterEach, describe, expect, it } from '@jest/globals';
import { type JsonValue, leaseCost, silentLogger, waitUntil } from '@xe/core-types';
import { type KeyPair, keyPairFromSeed } from '@xe/crypto';
import { ConsumerService } from '../../src/services/consumer.js';
import { expectedProviders, MAX_EXPECTED_OFFERS } from '../../src/services/consumer/offer-round.js';
import { Housekeeping } from '../../src/services/housekeeping.js';
import { ADVERT_MAX_TTL_MS, type Advertisement, type LeaseRequestMsg, MarketplaceBook } from '../../src/services/marketplace.js';
import { ProviderService } from '../../src/services/provider.js';
import { KEYS, type LeaseWorld, leaseWorld, writerFor } from '../support/lease-world.js';

const REQ = { vcpus: 1, memory_mb: 1024, disk_gb: 1, duration: 60, access_pub_key: KEYS.consumer.pubKeyHex };
const OFFER_WINDOW_MS = 2000;
const WAIT = { timeoutMs: 10_000 };
/** A second provider, cheaper than the world's own (multiplier 800 against 1000). */
const CHEAP = keyPairFromSeed(new Uint8Array(32).fill(0x72));

let stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops) await s();
  stops = [];
});

/** Sends `KEYS.consumer`'s XUSD to `k` and has `k` receive it, so `k` can stake leases. */
async function fund(w: LeaseWorld, k: KeyPair, amount: bigint) {
  await w.writers.consumer.write((s) => ({ type: 'send' as const, asset: 'XUSD' as const, balance: s.balances.XUSD - amount, destination: k.address, amount }));
  const writer = writerFor(w, k);
  await new Housekeeping({ address: k.address }, { ledger: w.ledger, writer, clock: w.time.clock, timers: w.time.timers, logger: silentLogger }).receivePending();
  return writer;
}

/**
 * The consumer and two providers on one ledger: adverts reach the consumer's book, requests
 * reach each provider unless `hold` holds them (released by the test), offers reach the consumer.
 */
async function market(w: LeaseWorld) {
  const common = { ledger: w.ledger, net: w.net, attest: w.attest, clock: w.time.clock, timers: w.time.timers, logger: w.logger, metrics: w.metrics };
  const cheapWriter = await fund(w, CHEAP, 100_000_000n);
  const provider = (key: KeyPair, price: number, writer = w.writers.provider, book = w.books.provider) =>
    new ProviderService(
      { key, network: w.bundle, capacity: { vcpus: 4, memory_mb: 8192, disk_gb: 40 }, priceMultiplierMilli: price },
      { ...common, writer, book, vms: w.vms, tunnels: w.tunnels },
    );
  const providers = new Map([
    [KEYS.provider.address, provider(KEYS.provider, 1000)],
    [CHEAP.address, provider(CHEAP, 800, cheapWriter, new MarketplaceBook(w.time.clock))],
  ]);
  const held = new Map<string, LeaseRequestMsg[]>();
  const hold = new Set<string>();
  w.net.onMarketplace((m) => {
    if (m.type === 'advertisement') w.books.consumer.putAdvert(m);
    else if (m.type === 'offer') w.books.consumer.deliverOffer(m);
    else if (m.type === 'request') {
      for (const [address, p] of providers) {
        if (hold.has(address)) held.set(address, [...(held.get(address) ?? []), m]);
        else void p.onRequest(m);
      }
    }
  });
  w.net.handle('/xe/vminfo/1.0.0', async () => ({}) as JsonValue);
  const consumer = new ConsumerService(
    { key: KEYS.consumer, network: w.bundle, offerWindowMs: OFFER_WINDOW_MS, acceptTimeoutMs: 30_000 },
    { ...common, writer: w.writers.consumer, book: w.books.consumer },
  );
  for (const p of providers.values()) await p.start();
  await consumer.start();
  stops.push(
    () => consumer.stop(),
    ...[...providers.values()].map((p) => () => p.stop()),
  );
  return {
    consumer,
    hold: (address: string) => hold.add(address),
    release: (address: string) => {
      hold.delete(address);
      for (const m of held.get(address) ?? []) void providers.get(address)!.onRequest(m);
      held.delete(address);
    },
  };
}

const offersFrom = (w: LeaseWorld, address: string) => w.net.marketplace.filter((m) => m.type === 'offer' && m.provider === address).length;
const leaseBlocks = (w: LeaseWorld) => w.net.blocks.filter((b) => b.type === 'lease');
const costAt = (multiplier_milli: number) => leaseCost({ ...REQ, multiplier_milli });

describe('OfferRound: closing before the window', () => {
  it('closes when the last expected provider answers, not at the window; the cheapest wins', async () => {
    const w = await leaseWorld();
    const m = await market(w);
    expect(w.books.consumer.liveAdverts().map((a) => a.provider).sort()).toEqual([KEYS.provider.address, CHEAP.address].sort());
    m.hold(CHEAP.address);
    const result = m.consumer.requestLease(REQ);
    await waitUntil(() => offersFrom(w, KEYS.provider.address) === 1, { ...WAIT, what: "the dearer provider's offer" });
    // one expected provider has not answered: the round is still open, its window armed
    await waitUntil(() => w.time.dueInMs().includes(OFFER_WINDOW_MS), { ...WAIT, what: 'the offer window' });
    await new Promise((r) => setImmediate(r));
    expect(leaseBlocks(w)).toHaveLength(0);
    const before = w.time.nowNs;
    m.release(CHEAP.address);
    // the last offer closes the round at once: the lease is written and accepted without the clock moving
    const { lease_hash } = await result;
    expect(w.time.nowNs).toBe(before);
    const lease = await w.ledger.getLease(lease_hash);
    expect(lease).toMatchObject({ provider: CHEAP.address, cost: costAt(800), state: 'accepted' });
    expect(w.logs.find((r) => r.msg === 'offer chosen')).toMatchObject({ offers: 2, expected: 2, closed_early: true });
    expect(w.logs.find((r) => r.msg === 'lease request answered')).toMatchObject({ lease: lease_hash, offers_ms: expect.any(Number), accept_confirm_ms: expect.any(Number) });
  });

  it('waits the whole window when an expected provider never answers, then takes the best offer in', async () => {
    const w = await leaseWorld();
    const m = await market(w);
    m.hold(CHEAP.address);
    const result = m.consumer.requestLease(REQ);
    await waitUntil(() => offersFrom(w, KEYS.provider.address) === 1, { ...WAIT, what: 'the offer' });
    await waitUntil(() => w.time.dueInMs().includes(OFFER_WINDOW_MS), { ...WAIT, what: 'the offer window' });
    await w.time.advance(OFFER_WINDOW_MS - 1);
    expect(leaseBlocks(w)).toHaveLength(0);
    await w.time.advance(1);
    const { lease_hash } = await result;
    expect(await w.ledger.getLease(lease_hash)).toMatchObject({ provider: KEYS.provider.address, cost: costAt(1000) });
    expect(w.logs.find((r) => r.msg === 'offer chosen')).toMatchObject({ offers: 1, expected: 2, closed_early: false });
  });
});

describe('expectedProviders', () => {
  const advert = (k: KeyPair, over: Partial<Advertisement> = {}, now = 0n): Advertisement => ({
    type: 'advertisement',
    provider: k.address,
    provider_pub_key: k.pubKeyHex,
    vcpus: 4,
    memory_mb: 8192,
    disk_gb: 40,
    price_multiplier_milli: 1000,
    expires_at: now + 60_000_000_000n,
    timestamp: now,
    signature: '00'.repeat(64),
    ...over,
  });
  const opts = (w: LeaseWorld) => ({ self: KEYS.consumer.address, stakeDivisor: w.bundle.lease.stake_divisor });

  it('counts funded providers other than this node whose advert less their accepted leases fits the request', async () => {
    const w = await leaseWorld();
    const book = new MarketplaceBook(w.time.clock);
    const unfunded = keyPairFromSeed(new Uint8Array(32).fill(0x73));
    book.putAdvert(advert(KEYS.provider, {}, w.time.nowNs));
    book.putAdvert(advert(KEYS.consumer, {}, w.time.nowNs)); // this node's own advert
    book.putAdvert(advert(unfunded, {}, w.time.nowNs)); // no XUSD for the stake
    expect(await expectedProviders({ book, ledger: w.ledger, clock: w.time.clock }, REQ, opts(w))).toEqual(new Set([KEYS.provider.address]));
    // too small an advert: nobody to wait for, the round runs its window
    const small = new MarketplaceBook(w.time.clock);
    small.putAdvert(advert(KEYS.provider, { memory_mb: 512 }, w.time.nowNs));
    expect(await expectedProviders({ book: small, ledger: w.ledger, clock: w.time.clock }, REQ, opts(w))).toBeUndefined();
    expect(await expectedProviders({ book: new MarketplaceBook(w.time.clock), ledger: w.ledger, clock: w.time.clock }, REQ, opts(w))).toBeUndefined();
  });

  it('leaves out a provider whose accepted leases fill its advert', async () => {
    const w = await leaseWorld();
    const m = await market(w);
    // a lease of all 4 vCPUs goes to the cheaper provider (the round closes once both answered)
    const { lease_hash } = await m.consumer.requestLease({ ...REQ, vcpus: 4 });
    expect(await w.ledger.getLease(lease_hash)).toMatchObject({ provider: CHEAP.address, state: 'accepted' });
    expect(await expectedProviders({ book: w.books.consumer, ledger: w.ledger, clock: w.time.clock }, REQ, opts(w))).toEqual(new Set([KEYS.provider.address]));
    // the next request closes once the provider with room answered, and goes to it
    const next = await m.consumer.requestLease(REQ);
    expect(await w.ledger.getLease(next.lease_hash)).toMatchObject({ provider: KEYS.provider.address, state: 'accepted' });
  });

  it('gives up closing early past MAX_EXPECTED_OFFERS adverts that fit (a flood of adverts only lengthens a round)', async () => {
    const w = await leaseWorld();
    const book = new MarketplaceBook(w.time.clock);
    book.putAdvert(advert(KEYS.provider, {}, w.time.nowNs));
    for (let i = 0; i < MAX_EXPECTED_OFFERS - 1; i++) book.putAdvert(advert(keyPairFromSeed(new Uint8Array(32).fill(0x80 + i)), {}, w.time.nowNs));
    // unfunded flood below the bound: only the funded provider is expected
    expect(await expectedProviders({ book, ledger: w.ledger, clock: w.time.clock }, REQ, opts(w))).toEqual(new Set([KEYS.provider.address]));
    book.putAdvert(advert(keyPairFromSeed(new Uint8Array(32).fill(0xa0)), {}, w.time.nowNs));
    expect(await expectedProviders({ book, ledger: w.ledger, clock: w.time.clock }, REQ, opts(w))).toBeUndefined();
  });
  it('trusts no list for an advert lifetime after a full book dropped an advert (a flood may have pushed out an honest one)', async () => {
    const w = await leaseWorld();
    const HOUR_NS = 3_600_000_000_000n;
    const book = new MarketplaceBook(w.time.clock, { maxProviders: 2 });
    book.putAdvert(advert(KEYS.provider, { expires_at: w.time.nowNs + HOUR_NS }, w.time.nowNs));
    book.putAdvert(advert(keyPairFromSeed(new Uint8Array(32).fill(0xb0)), {}, w.time.nowNs));
    expect(await expectedProviders({ book, ledger: w.ledger, clock: w.time.clock }, REQ, opts(w))).toEqual(new Set([KEYS.provider.address]));
    // a longer-lived advert takes the place of the one that ends first; the provider's stays
    book.putAdvert(advert(keyPairFromSeed(new Uint8Array(32).fill(0xb1)), { expires_at: w.time.nowNs + HOUR_NS }, w.time.nowNs));
    expect(book.evictedAt).toBe(w.time.nowNs);
    expect(book.advertOf(KEYS.provider.address)).toBeDefined();
    expect(await expectedProviders({ book, ledger: w.ledger, clock: w.time.clock }, REQ, opts(w))).toBeUndefined();
    await w.time.advance(ADVERT_MAX_TTL_MS - 1);
    expect(await expectedProviders({ book, ledger: w.ledger, clock: w.time.clock }, REQ, opts(w))).toBeUndefined();
    await w.time.advance(1);
    book.putAdvert(advert(KEYS.provider, { timestamp: w.time.nowNs }, w.time.nowNs));
    expect(await expectedProviders({ book, ledger: w.ledger, clock: w.time.clock }, REQ, opts(w))).toEqual(new Set([KEYS.provider.address]));
  });
});
