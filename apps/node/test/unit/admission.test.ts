import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { type Certificate, CERTIFICATE_VALIDITY_NS, type JsonValue, leaseCost, silentLogger, waitUntil } from '@xe/core-types';
import { generateKeyPair, type KeyPair, signCertificate, signMarketplace, signVote } from '@xe/crypto';
import { buildReceive, buildSend, createGenesisBundle, emptyHead, Ledger, MemoryStore, positionsOf, sealBlock } from '@xe/ledger';
import { BlockIntake, RETRY_QUEUE_PER_SENDER } from '../../src/block-intake.js';
import { Metrics } from '../../src/metrics.js';
import { ConsumerService } from '../../src/services/consumer.js';
import { compareOffers, MAX_CERT_FETCHES, unreliable } from '../../src/services/consumer/offer-round.js';
import { allLeases } from '../../src/services/lease-pages.js';
import {
  ADVERT_MAX_TTL_MS,
  type Advertisement,
  MarketplaceAdmission,
  MarketplaceBook,
  type OfferMsg,
  parseMarketplace,
  REQUEST_RATE,
} from '../../src/services/marketplace.js';
import { ProviderService } from '../../src/services/provider.js';
import { Capacity, MAX_OFFER_HOLDS } from '../../src/services/provider/capacity.js';
import { KEYS, LEASE, leaseWorld, type LeaseWorld, serviceBundle, T0 } from '../support/lease-world.js';

const REQ = { vcpus: 1, memory_mb: 1024, disk_gb: 1, duration: 60 };
const WAIT = { timeoutMs: 10_000 };

function requestOf(k: KeyPair, id = randomBytes(16).toString('hex'), timestamp = T0) {
  return parseMarketplace(
    signMarketplace('request', 'services-unit', { type: 'request', consumer: k.address, consumer_pub_key: k.pubKeyHex, request_id: id, ...REQ, timestamp }, k) as unknown as JsonValue,
  );
}

function offerOf(k: KeyPair, requestId: string, certificateHash: string, totalCost: bigint, available = Number.MAX_SAFE_INTEGER): OfferMsg {
  return parseMarketplace(
    signMarketplace(
      'offer',
      'services-unit',
      {
        type: 'offer',
        provider: k.address,
        provider_pub_key: k.pubKeyHex,
        request_id: requestId,
        ...REQ,
        total_cost: totalCost,
        certificate_hash: certificateHash,
        available_vcpus: available,
        available_memory_mb: available,
        available_disk_gb: available,
        timestamp: T0,
      },
      k,
    ) as unknown as JsonValue,
  ) as OfferMsg;
}

function advert(k: KeyPair, expiresAt: bigint, timestamp = T0): Advertisement {
  return { type: 'advertisement', provider: k.address, provider_pub_key: k.pubKeyHex, vcpus: 4, memory_mb: 8192, disk_gb: 40, price_multiplier_milli: 1000, expires_at: expiresAt, timestamp, signature: '0'.repeat(128) };
}

describe('marketplace admission', () => {
  it('a request counts only when its consumer can pay at the cheapest multiplier (fresh keys used to hold every provider), and within its rate', async () => {
    const w = await leaseWorld();
    const admission = new MarketplaceAdmission({ stakeDivisor: LEASE.stake_divisor }, { ledger: w.ledger, clock: w.time.clock });
    expect(await admission.admit(requestOf(generateKeyPair()))).toEqual({ ok: false, reason: 'unfunded' });
    for (let i = 0; i < REQUEST_RATE.burst; i++) expect(await admission.admit(requestOf(KEYS.consumer))).toEqual({ ok: true });
    expect(await admission.admit(requestOf(KEYS.consumer))).toEqual({ ok: false, reason: 'rate' });
    await w.time.advance(1000 / REQUEST_RATE.ratePerSec);
    expect(await admission.admit(requestOf(KEYS.consumer))).toEqual({ ok: true });
    expect(await admission.admit(requestOf(KEYS.consumer, undefined, T0 - 10n * 60n * 1_000_000_000n))).toEqual({ ok: false, reason: 'stale' });
  });

  it("a request counts only on the consumer's confirmed XUSD: an unconfirmed receive does not fund it (the current balance used to)", async () => {
    const bundle = await serviceBundle();
    const ledger = await Ledger.open(new MemoryStore(), bundle, {
      clock: () => T0,
      logger: silentLogger,
      finality: { params: { representatives: [{ address: KEYS.timekeeper.address, weight: 1n }], quorum_pct: 60 } },
    });
    const admission = new MarketplaceAdmission({ stakeDivisor: LEASE.stake_divisor }, { ledger, clock: () => T0 });
    const [allocation] = await ledger.pendingFor(KEYS.consumer.address);
    const receive = await sealBlock(buildReceive(emptyHead(KEYS.consumer.address, KEYS.consumer.pubKeyHex), allocation!, T0 - 1000n), KEYS.consumer, {
      networkId: bundle.network_id,
      difficulty: bundle.pow_difficulty,
    });
    expect(await ledger.addBlock(receive, { origin: 'live' })).toMatchObject({ status: 'accepted' });
    expect((await ledger.getAccount(KEYS.consumer.address))?.balances.XUSD).toBe(allocation!.amount);
    expect(await ledger.confirmedFrontier(KEYS.consumer.address)).toBeUndefined();
    expect(await admission.admit(requestOf(KEYS.consumer))).toEqual({ ok: false, reason: 'unfunded' });
    // the representative's final vote confirms the receive: now it counts
    for (const position of positionsOf(receive)) {
      const vote = signVote({ position, block_hash: receive.hash, round: 0, final: true, timestamp: T0 }, KEYS.timekeeper, bundle.network_id);
      expect((await ledger.addVote(vote)).status).toBe('counted');
    }
    expect((await ledger.confirmedFrontier(KEYS.consumer.address))?.frontier).toBe(receive.hash);
    expect(await admission.admit(requestOf(KEYS.consumer))).toEqual({ ok: true });
    await ledger.close();
  });

  it('an offer counts only from a provider holding the XUSD for the stake', async () => {
    const w = await leaseWorld();
    const admission = new MarketplaceAdmission({ stakeDivisor: LEASE.stake_divisor }, { ledger: w.ledger, clock: w.time.clock });
    const cost = leaseCost({ ...REQ, multiplier_milli: 1000n });
    expect(await admission.admit(offerOf(KEYS.provider, 'ab'.repeat(16), 'cd'.repeat(32), cost))).toEqual({ ok: true });
    expect(await admission.admit(offerOf(generateKeyPair(), 'ab'.repeat(16), 'cd'.repeat(32), cost))).toEqual({ ok: false, reason: 'no_stake' });
  });

  it('an advert whose expires_at is u64 max leaves the book after an hour (it used to stay for ever)', async () => {
    const w = await leaseWorld();
    const book = new MarketplaceBook(w.time.clock);
    const k = generateKeyPair();
    expect(book.putAdvert(advert(k, 2n ** 64n - 1n))).toBe(true);
    expect(book.liveAdverts()).toHaveLength(1);
    await w.time.advance(ADVERT_MAX_TTL_MS - 1);
    expect(book.advertOf(k.address)).toBeDefined();
    await w.time.advance(1);
    expect(book.liveAdverts()).toHaveLength(0);
  });

  it('the book holds a bounded number of providers', async () => {
    const w = await leaseWorld();
    const book = new MarketplaceBook(w.time.clock, { maxProviders: 100 });
    for (let i = 0; i < 300; i++) book.putAdvert(advert(generateKeyPair(), T0 + 60_000_000_000n + BigInt(i)));
    expect(book.size).toBe(100);
  });
});

describe('provider capacity under a flood of requests', () => {
  it(`holds at most ${MAX_OFFER_HOLDS} offers at once however many consumers ask (each request used to hold capacity)`, async () => {
    const w = await leaseWorld();
    const capacity = new Capacity({ address: KEYS.provider.address, total: { vcpus: 64, memory_mb: 65536, disk_gb: 640 } }, { ledger: w.ledger, clock: w.time.clock });
    let held = 0;
    for (let i = 0; i < 40; i++) if (await capacity.holdForOffer(`r${i}`, generateKeyPair().address, { vcpus: 1, memory_mb: 1024, disk_gb: 1 })) held++;
    expect(held).toBe(MAX_OFFER_HOLDS);
    capacity.close();
  });

  it('reads the ledger usage once, not per request (each request used to scan the lease history)', async () => {
    const w = await leaseWorld();
    let reads = 0;
    const ledger = {
      events: w.ledger.events,
      providerUsage: (a: string) => {
        reads++;
        return w.ledger.providerUsage(a);
      },
    };
    const capacity = new Capacity({ address: KEYS.provider.address, total: { vcpus: 4, memory_mb: 8192, disk_gb: 40 } }, { ledger, clock: w.time.clock });
    for (let i = 0; i < 50; i++) await capacity.free();
    expect(reads).toBe(1);
    capacity.close();
  });
});

/** A consumer and the honest provider on one ledger (the provider's offers reach the consumer's book). */
async function market(w: LeaseWorld) {
  const common = { ledger: w.ledger, net: w.net, attest: w.attest, clock: w.time.clock, timers: w.time.timers, logger: w.logger, metrics: w.metrics };
  const consumer = new ConsumerService(
    { key: KEYS.consumer, network: w.bundle, offerWindowMs: 2000, acceptTimeoutMs: 30_000 },
    { ...common, writer: w.writers.consumer, book: w.books.consumer },
  );
  const provider = new ProviderService(
    { key: KEYS.provider, network: w.bundle, capacity: { vcpus: 4, memory_mb: 8192, disk_gb: 40 }, priceMultiplierMilli: 1000 },
    { ...common, writer: w.writers.provider, book: w.books.provider, vms: w.vms, tunnels: w.tunnels },
  );
  w.net.onMarketplace((m) => {
    if (m.type === 'request') void provider.onRequest(m);
    else if (m.type === 'offer') w.books.consumer.deliverOffer(m);
    else w.books.consumer.putAdvert(m);
  });
  await provider.start();
  await consumer.start();
  const stop = async () => {
    await consumer.stop();
    await provider.stop();
  };
  return { consumer, provider, stop };
}

describe('the consumer offer round against junk offers', () => {
  it(`20 offers naming unknown certificates do not stall the round: at most ${MAX_CERT_FETCHES} fetched, in parallel, inside the window (one at a time took ~3 s each)`, async () => {
    const w = await leaseWorld();
    // a certificate fetch that answers only after 3 s (the fetch timeout)
    w.net.handle('/xe/cert/1.0.0', () => new Promise((_, reject) => w.time.timers.after(3000, () => reject(new Error('timeout')))));
    const { consumer, stop } = await market(w);
    const result = consumer.requestLease({ ...REQ, access_pub_key: KEYS.consumer.pubKeyHex });
    await waitUntil(() => w.net.marketplace.some((m) => m.type === 'offer'), { ...WAIT, what: 'the honest offer' });
    const requestId = String(w.net.marketplace.find((m) => m.type === 'request')!.request_id);
    for (let i = 0; i < 20; i++) w.books.consumer.deliverOffer(offerOf(generateKeyPair(), requestId, randomBytes(32).toString('hex'), 1n));
    await w.time.advance(2000);
    await w.time.advance(1000);
    await waitUntil(() => w.net.blocks.some((b) => b.type === 'lease'), { ...WAIT, what: 'the lease written 1 s after the window' });
    expect(w.net.requests.filter((r) => r.protocol === '/xe/cert/1.0.0').length).toBeLessThanOrEqual(MAX_CERT_FETCHES);
    await result;
    await stop();
  });

  it('a self-certified provider at the lowest price with 2^53 free capacity but no XUSD for the stake does not win (it used to win every selection)', async () => {
    const w = await leaseWorld();
    const { consumer, stop } = await market(w);
    const rogue = generateKeyPair();
    const cert: Certificate = signCertificate(
      { provider: rogue.address, provider_pub_key: rogue.pubKeyHex, score: 1n, price_multiplier_milli: 500n, issued_at: T0, expires_at: T0 + CERTIFICATE_VALIDITY_NS },
      rogue,
      'services-unit',
    );
    await w.ledger.addCertificate(cert);
    const result = consumer.requestLease({ ...REQ, access_pub_key: KEYS.consumer.pubKeyHex });
    await waitUntil(() => w.net.marketplace.some((m) => m.type === 'offer'), { ...WAIT, what: 'the honest offer' });
    const requestId = String(w.net.marketplace.find((m) => m.type === 'request')!.request_id);
    w.books.consumer.deliverOffer(offerOf(rogue, requestId, cert.hash, leaseCost({ ...REQ, multiplier_milli: 500n })));
    await w.time.advance(2000);
    const lease = await waitUntil(() => w.net.blocks.find((b) => b.type === 'lease'), { ...WAIT, what: 'the lease' });
    expect((lease as { destination: string }).destination).toBe(KEYS.provider.address);
    await result;
    await stop();
  });

  it('ranks equal prices by the ledger record, and marks a provider with ≥ 3 cancelled and more cancelled than settled as unreliable', () => {
    const base = offerOf(KEYS.provider, 'ab'.repeat(16), 'cd'.repeat(32), 10n, 1);
    const good = { ...base, provider: 'a'.repeat(64), reputation: { settled: 5, cancelled: 1 } };
    const bad = { ...base, provider: '0'.repeat(64), reputation: { settled: 0, cancelled: 3 } };
    expect([bad, good].sort(compareOffers)[0]!.provider).toBe(good.provider);
    expect(unreliable(bad.reputation)).toBe(true);
    expect(unreliable({ settled: 3, cancelled: 3 })).toBe(false);
    expect(unreliable({ settled: 0, cancelled: 2 })).toBe(false);
  });
});

describe('restarts page through every lease', () => {
  it('allLeases reads past the first page (restarts used to read 1,000 leases at most)', async () => {
    const w = await leaseWorld();
    const { consumer, stop } = await market(w);
    for (let i = 0; i < 3; i++) {
      const r = consumer.requestLease({ ...REQ, access_pub_key: KEYS.consumer.pubKeyHex });
      await waitUntil(() => w.net.marketplace.filter((m) => m.type === 'offer').length === i + 1, { ...WAIT, what: 'an offer' });
      await w.time.advance(2000);
      await r;
    }
    // pages of one lease each: three pages, the same three leases the ledger lists
    const paged = await allLeases(w.ledger, { consumer: KEYS.consumer.address }, 1);
    expect(paged.map((l) => l.hash)).toEqual((await w.ledger.listLeases({ consumer: KEYS.consumer.address })).map((l) => l.hash));
    expect(paged).toHaveLength(3);
    await stop();
  });
});

describe('the retry queue under one sender', () => {
  it(`one sender holds at most ${RETRY_QUEUE_PER_SENDER} blocks, so another sender's block still waits for its dependency (one sender used to fill the queue)`, async () => {
    const DIFFICULTY = 0xf000000000000000n;
    const treasury = { XE: generateKeyPair(), XUSD: generateKeyPair() };
    const bundle = await createGenesisBundle({
      networkId: 'intake-quota',
      difficulty: DIFFICULTY,
      timekeepers: { keys: [KEYS.timekeeper.pubKeyHex], threshold: 1 },
      representatives: [{ address: KEYS.timekeeper.address, weight: 1n }],
      treasuryKeys: treasury,
      allocations: [],
      timestamp: T0 - 3_600_000_000_000n,
    });
    const ledger = await Ledger.open(new MemoryStore(), bundle, { clock: () => T0, logger: silentLogger });
    const intake = new BlockIntake({ ledger, clock: () => T0, logger: silentLogger, metrics: new Metrics(), fetchCertificate: async () => Promise.reject(new Error('none')) });
    const opts = { networkId: bundle.network_id, difficulty: DIFFICULTY };
    /** A send whose previous block nobody has: retryable for ever. */
    const orphan = async () => {
      const k = generateKeyPair();
      const head = { address: k.address, pub_key: k.pubKeyHex, frontier: randomBytes(32).toString('hex'), height: 5n, balances: { XE: 0n, XUSD: 100n } };
      return sealBlock(buildSend(head, { destination: KEYS.consumer.address, asset: 'XUSD', amount: 1n, timestamp: T0 }), k, opts);
    };
    for (let i = 0; i < RETRY_QUEUE_PER_SENDER + 50; i++) {
      const r = await intake.ingest(await orphan(), 'live', 'attacker');
      expect(r).toMatchObject({ status: 'rejected', retryable: true });
    }
    expect(intake.heldFrom('attacker')).toBe(RETRY_QUEUE_PER_SENDER);
    await intake.ingest(await orphan(), 'live', 'honest');
    expect(intake.heldFrom('honest')).toBe(1);
  });
});
