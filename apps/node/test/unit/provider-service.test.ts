import { afterEach, describe, expect, it } from '@jest/globals';
import { type Certificate, leaseCost, waitUntil } from '@xe/core-types';
import { buildLease, type LeaseRecord, sealBlock } from '@xe/ledger';
import { ProviderService, TEARDOWN_DELAY_MS, TEARDOWN_MAX_DEFER_MS } from '../../src/services/provider.js';
import { ACCEPT_LEAD_NS } from '../../src/services/provider/accept.js';
import { OFFER_HOLD_MS } from '../../src/services/provider/capacity.js';
import { ATTEST_RATE_RETRY_MS, SETTLE_MARGIN_MS, SETTLE_RETRY_MS } from '../../src/services/provider/settle.js';
import { KEYS, LEASE, type LeaseWorld, leaseWorld, NS_PER_MS } from '../support/lease-world.js';

const RES = { vcpus: 1, memory_mb: 1024, disk_gb: 1 };
const DURATION = 60;
const WAIT = { timeoutMs: 10_000 };

let stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops) await s();
  stops = [];
});

async function providerIn(w: LeaseWorld, capacity = { vcpus: 4, memory_mb: 8192, disk_gb: 40 }): Promise<ProviderService> {
  const p = new ProviderService(
    { key: KEYS.provider, network: w.bundle, capacity, priceMultiplierMilli: 1000 },
    {
      ledger: w.ledger,
      vms: w.vms,
      writer: w.writers.provider,
      net: w.net,
      attest: w.attest,
      tunnels: w.tunnels,
      book: w.books.provider,
      clock: w.time.clock,
      timers: w.time.timers,
      logger: w.logger,
      metrics: w.metrics,
    },
  );
  await p.start();
  stops.push(() => p.stop());
  return p;
}

/** The consumer writes a lease block naming the provider's certificate (what its offer round ends with). */
async function writeLease(w: LeaseWorld, cert: Certificate): Promise<string> {
  const cost = leaseCost({ ...RES, duration: DURATION, multiplier_milli: cert.price_multiplier_milli });
  const block = await w.writers.consumer.write((s) => ({
    type: 'lease' as const,
    asset: 'XUSD' as const,
    balance: s.balances.XUSD - cost,
    destination: KEYS.provider.address,
    amount: cost,
    vcpus: BigInt(RES.vcpus),
    memory_mb: BigInt(RES.memory_mb),
    disk_gb: BigInt(RES.disk_gb),
    duration: BigInt(DURATION),
    access_pub_key: KEYS.consumer.pubKeyHex,
    certificate_hash: cert.hash,
  }));
  return block.hash;
}

/** A lease block the consumer signs with a timestamp of its choosing (the ledger takes live blocks within ±1 h). */
async function backDatedLease(w: LeaseWorld, cert: Certificate, timestamp: bigint): Promise<string> {
  const consumer = (await w.ledger.getAccount(KEYS.consumer.address))!;
  const unsigned = buildLease(consumer, { certificate: cert, vcpus: 1n, memory_mb: 1024n, disk_gb: 1n, duration: BigInt(DURATION), access_pub_key: KEYS.consumer.pubKeyHex, timestamp });
  const block = await sealBlock(unsigned, KEYS.consumer, { networkId: w.bundle.network_id, difficulty: w.bundle.pow_difficulty });
  const r = await w.ledger.addBlock(block, { origin: 'live' });
  expect(r.status).toBe('accepted');
  return block.hash;
}

function leaseIn(w: LeaseWorld, hash: string, state: LeaseRecord['state']): Promise<LeaseRecord> {
  return waitUntil(
    async () => {
      const lease = await w.ledger.getLease(hash);
      return lease?.state === state ? lease : undefined;
    },
    { ...WAIT, what: `lease ${state}` },
  );
}

function request(id: string, consumer = KEYS.consumer) {
  return { type: 'request' as const, consumer: consumer.address, consumer_pub_key: consumer.pubKeyHex, request_id: id.repeat(32), ...RES, duration: DURATION, timestamp: 0n, signature: '0'.repeat(128) };
}

describe('ProviderService: certificate and offers', () => {
  it('issues and gossips a certificate at start, renews it at half-life on the clock', async () => {
    const w = await leaseWorld();
    const p = await providerIn(w);
    const first = p.currentCertificate()!;
    expect(first.issued_at).toBe(w.time.nowNs);
    expect(w.net.certificates).toEqual([first.hash]);
    expect(await w.ledger.getCertificate(first.hash)).toBeDefined();
    const half = (first.expires_at - first.issued_at) / 2n;
    await w.time.advanceTo(first.issued_at + half - NS_PER_MS);
    expect(p.currentCertificate()!.hash).toBe(first.hash);
    await w.time.advance(1);
    await waitUntil(() => p.currentCertificate()!.hash !== first.hash, { ...WAIT, what: 'the renewed certificate' });
    expect(p.currentCertificate()!.issued_at).toBe(first.issued_at + half);
  });

  it('an offer holds its capacity until the hold expires, so the last slot is promised once', async () => {
    const w = await leaseWorld();
    const p = await providerIn(w, { vcpus: 1, memory_mb: 1024, disk_gb: 10 });
    const offers = () => w.net.marketplace.filter((m) => m.type === 'offer');
    await p.onRequest(request('a'));
    await p.onRequest(request('b', KEYS.provider));
    expect(offers().map((o) => o.request_id)).toEqual(['a'.repeat(32)]);
    await w.time.advance(OFFER_HOLD_MS - 1);
    await p.onRequest(request('c', KEYS.timekeeper));
    expect(offers()).toHaveLength(1);
    await w.time.advance(1);
    await p.onRequest(request('d'));
    expect(offers().map((o) => o.request_id)).toEqual(['a'.repeat(32), 'd'.repeat(32)]);
    expect(offers()[1]!.total_cost).toBe(leaseCost({ ...RES, duration: DURATION, multiplier_milli: 1000n }));
  });

  it('a consumer holds one offer at a time: its next request replaces the hold instead of adding one (requests used to stack holds)', async () => {
    const w = await leaseWorld();
    const p = await providerIn(w, { vcpus: 2, memory_mb: 2048, disk_gb: 10 });
    const offers = () => w.net.marketplace.filter((m) => m.type === 'offer');
    for (const id of ['a', 'b', 'c', 'd']) await p.onRequest(request(id));
    // four requests of one consumer, each answered: each replaced the hold of the one before
    expect(offers()).toHaveLength(4);
    // and another consumer still finds room for the second slot
    await p.onRequest(request('e', KEYS.timekeeper));
    expect(offers()).toHaveLength(5);
  });

  it('neither advertises nor offers on a network whose accept window is not longer than the 30 s lead (no lease could be accepted)', async () => {
    const w = await leaseWorld();
    const network = { ...w.bundle, lease: { ...w.bundle.lease, accept_window_ns: ACCEPT_LEAD_NS } };
    const p = new ProviderService(
      { key: KEYS.provider, network, capacity: { vcpus: 4, memory_mb: 8192, disk_gb: 40 }, priceMultiplierMilli: 1000 },
      { ledger: w.ledger, vms: w.vms, writer: w.writers.provider, net: w.net, attest: w.attest, tunnels: w.tunnels, book: w.books.provider, clock: w.time.clock, timers: w.time.timers, logger: w.logger, metrics: w.metrics },
    );
    await p.start();
    stops.push(() => p.stop());
    await p.onRequest(request('a'));
    await w.time.advance(120_000);
    expect(w.net.marketplace.filter((m) => m.type === 'offer' || m.type === 'advertisement')).toEqual([]);
    expect(w.logged('the network accept window leaves no time to accept a lease: this provider neither advertises nor offers')).toBe(true);
  });

  it('re-advertises every interval on the clock', async () => {
    const w = await leaseWorld();
    await providerIn(w);
    const adverts = () => w.net.marketplace.filter((m) => m.type === 'advertisement').length;
    expect(adverts()).toBe(1);
    await w.time.advance(59_999);
    expect(adverts()).toBe(1);
    await w.time.advance(1);
    await waitUntil(() => adverts() === 2, { ...WAIT, what: 'the second advert' });
  });
});

describe('ProviderService: accept', () => {
  it('provisions, attests and accepts a lease addressed to it; the lease starts at the attested time', async () => {
    const w = await leaseWorld();
    const p = await providerIn(w);
    const hash = await writeLease(w, p.currentCertificate()!);
    const lease = await leaseIn(w, hash, 'accepted');
    expect(w.vms.provisioned).toEqual([hash]);
    expect(w.attest.calls).toEqual([hash]);
    expect(lease.start_time).toBe(w.time.nowNs);
    expect(lease.expiry).toBe(w.time.nowNs + BigInt(DURATION) * 1_000_000_000n);
    expect((await p.vmInfoFor(hash))?.status).toBe('running');
  });

  it('does not accept once the accept window has passed (a lease found at start)', async () => {
    const w = await leaseWorld();
    const early = await providerIn(w);
    const cert = early.currentCertificate()!;
    await early.stop();
    const hash = await writeLease(w, cert);
    await w.time.advance(Number(LEASE.accept_window_ns / NS_PER_MS) + 1);
    await providerIn(w);
    await waitUntil(() => w.logged('lease not accepted: accept window passed'), { ...WAIT, what: 'the refusal' });
    expect(w.vms.provisioned).toEqual([]);
    expect((await w.ledger.getLease(hash))?.state).toBe('created');
  });

  it('does not provision a back-dated lease: acts only while now ≤ lease timestamp + accept window − 30 s (SPEC §10.5)', async () => {
    const w = await leaseWorld();
    const p = await providerIn(w);
    const cert = p.currentCertificate()!;
    await w.time.advance(Number(LEASE.accept_window_ns / NS_PER_MS));
    const lastStart = w.time.nowNs - LEASE.accept_window_ns + ACCEPT_LEAD_NS;
    // one millisecond too old: the window would still be open for 30 s − 1 ms, but that is too little to boot and attest
    const late = await backDatedLease(w, cert, lastStart - NS_PER_MS);
    await waitUntil(() => w.logged('lease not accepted: accept window passed'), { ...WAIT, what: 'the refusal' });
    expect(w.vms.provisioned).toEqual([]);
    expect(w.attest.calls).toEqual([]);
    expect((await w.ledger.getLease(late))?.state).toBe('created');
    // exactly at the edge it still provisions and accepts
    const edge = await backDatedLease(w, cert, lastStart);
    await leaseIn(w, edge, 'accepted');
    expect(w.vms.provisioned).toEqual([edge]);
  });

  it('gives up when provisioning outlasts the accept window', async () => {
    const w = await leaseWorld();
    const p = await providerIn(w);
    w.vms.hang = true;
    const hash = await writeLease(w, p.currentCertificate()!);
    await waitUntil(() => w.vms.provisioned.length === 1, { ...WAIT, what: 'provisioning' });
    await w.time.advance(Number(LEASE.accept_window_ns / NS_PER_MS) - 1);
    expect(w.attest.calls).toEqual([]);
    await w.time.advance(1);
    await waitUntil(() => w.logged('lease not accepted'), { ...WAIT, what: 'the give-up' });
    expect(w.logs.find((r) => r.msg === 'lease not accepted')?.err).toMatch(/^TIMEOUT/);
    expect((await w.ledger.getLease(hash))?.state).toBe('created');
    expect(w.attest.calls).toEqual([]);
  });
});

describe('ProviderService: settle', () => {
  it('settles at expiry + margin and not before; then closes the tunnels and tears the VM down', async () => {
    const w = await leaseWorld();
    const p = await providerIn(w);
    const hash = await writeLease(w, p.currentCertificate()!);
    const lease = await leaseIn(w, hash, 'accepted');
    const settleAt = lease.expiry + BigInt(SETTLE_MARGIN_MS) * NS_PER_MS;
    await w.time.advanceTo(settleAt - NS_PER_MS);
    expect(w.attest.calls).toHaveLength(1);
    expect((await w.ledger.getLease(hash))?.state).toBe('accepted');
    await w.time.advanceTo(settleAt);
    const settled = await leaseIn(w, hash, 'settled');
    expect(settled.closed_at).toBe(settleAt);
    expect((await w.ledger.getAccount(KEYS.provider.address))?.balances.XE).toBe(lease.emission);
    // the tunnels close at once; the VM goes TEARDOWN_DELAY_MS later
    await waitUntil(() => w.tunnels.closed.includes(hash), { ...WAIT, what: 'the tunnels closed' });
    await w.time.advance(TEARDOWN_DELAY_MS - 1);
    expect(w.vms.tornDown).not.toContain(hash);
    await w.time.advance(1);
    await waitUntil(() => w.vms.tornDown.includes(hash), { ...WAIT, what: 'the teardown' });
  });

  it('does not tear an ended lease\'s VM down while another lease is being accepted, up to TEARDOWN_MAX_DEFER_MS', async () => {
    const w = await leaseWorld();
    const p = await providerIn(w);
    const a = await writeLease(w, p.currentCertificate()!);
    const lease = await leaseIn(w, a, 'accepted');
    const settleAt = lease.expiry + BigInt(SETTLE_MARGIN_MS) * NS_PER_MS;
    // a second lease arrives just before the first ends; its VM never boots (an accept in flight)
    await w.time.advanceTo(settleAt - 1000n * NS_PER_MS);
    w.vms.hang = true;
    const b = await writeLease(w, p.currentCertificate()!);
    await waitUntil(() => w.vms.provisioned.includes(b), { ...WAIT, what: 'the second provision' });
    await w.time.advanceTo(settleAt);
    await leaseIn(w, a, 'settled');
    await waitUntil(() => w.tunnels.closed.includes(a), { ...WAIT, what: 'the tunnels closed' });
    for (let ms = 0; ms < TEARDOWN_MAX_DEFER_MS - 500; ms += 500) {
      await w.time.advance(500);
      expect(w.vms.tornDown).not.toContain(a);
    }
    await w.time.advance(500);
    await waitUntil(() => w.vms.tornDown.includes(a), { ...WAIT, what: 'the teardown at the cap' });
    expect(w.vms.tornDown).not.toContain(b);
  });

  it('retries a rate-limited settle after 31 s and another failure after 5 s', async () => {
    const w = await leaseWorld();
    const p = await providerIn(w);
    const hash = await writeLease(w, p.currentCertificate()!);
    const lease = await leaseIn(w, hash, 'accepted');
    w.attest.failures.push('RATE_LIMITED', 'TIMEOUT');
    await w.time.advanceTo(lease.expiry + BigInt(SETTLE_MARGIN_MS) * NS_PER_MS);
    await waitUntil(() => w.attest.calls.length === 2 && w.time.dueInMs().includes(ATTEST_RATE_RETRY_MS), { ...WAIT, what: 'the first settle try' });
    await w.time.advance(ATTEST_RATE_RETRY_MS - 1);
    expect(w.attest.calls).toHaveLength(2);
    await w.time.advance(1);
    await waitUntil(() => w.attest.calls.length === 3 && w.time.dueInMs().includes(SETTLE_RETRY_MS), { ...WAIT, what: 'the second settle try' });
    await w.time.advance(SETTLE_RETRY_MS - 1);
    expect(w.attest.calls).toHaveLength(3);
    await w.time.advance(1);
    await leaseIn(w, hash, 'settled');
    expect(w.attest.calls).toHaveLength(4);
  });

  it('resumes the settle of an accepted lease after a restart', async () => {
    const w = await leaseWorld();
    const first = await providerIn(w);
    const hash = await writeLease(w, first.currentCertificate()!);
    const lease = await leaseIn(w, hash, 'accepted');
    await first.stop();
    await providerIn(w);
    await w.time.advanceTo(lease.expiry + BigInt(SETTLE_MARGIN_MS) * NS_PER_MS);
    await leaseIn(w, hash, 'settled');
  });
});
