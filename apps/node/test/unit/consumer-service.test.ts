import { afterEach, describe, expect, it } from '@jest/globals';
import { type JsonValue, waitUntil } from '@xe/core-types';
import { keyPairFromSeed, signVmHostKey, sshAuthorizedKeyLine, verifyVmHostKey } from '@xe/crypto';
import type { LeaseRecord } from '@xe/ledger';
import { ConsumerService, parseVmInfo } from '../../src/services/consumer.js';
import { CANCEL_MARGIN_MS, CANCEL_RATE_RETRY_MS, CANCEL_RETRY_MS, cancelAllowedAt } from '../../src/services/consumer/cancel.js';
import { FORCE_SETTLE_MARGIN_MS, FORCE_SETTLE_RETRY_MS, forceSettleAllowedAt } from '../../src/services/consumer/force-settle.js';
import { ProviderService } from '../../src/services/provider.js';
import { KEYS, LEASE, type LeaseWorld, leaseWorld, NS_PER_MS } from '../support/lease-world.js';

const REQ = { vcpus: 1, memory_mb: 1024, disk_gb: 1, duration: 60, access_pub_key: KEYS.consumer.pubKeyHex };
const OFFER_WINDOW_MS = 2000;
const ACCEPT_TIMEOUT_MS = 30_000;
const WAIT = { timeoutMs: 10_000 };

let stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops) await s();
  stops = [];
});

/** A consumer and a provider on one ledger, the fake network carrying the marketplace and VM info between them. */
async function pair(w: LeaseWorld): Promise<{ consumer: ConsumerService; provider: ProviderService }> {
  const common = { ledger: w.ledger, net: w.net, attest: w.attest, clock: w.time.clock, timers: w.time.timers, logger: w.logger, metrics: w.metrics };
  const consumer = new ConsumerService(
    { key: KEYS.consumer, network: w.bundle, offerWindowMs: OFFER_WINDOW_MS, acceptTimeoutMs: ACCEPT_TIMEOUT_MS },
    { ...common, writer: w.writers.consumer, book: w.books.consumer },
  );
  const provider = new ProviderService(
    { key: KEYS.provider, network: w.bundle, capacity: { vcpus: 4, memory_mb: 8192, disk_gb: 40 }, priceMultiplierMilli: 1000 },
    { ...common, writer: w.writers.provider, book: w.books.provider, vms: w.vms, tunnels: w.tunnels },
  );
  w.net.onMarketplace((m) => {
    if (m.type === 'request' && m.consumer !== KEYS.provider.address) void provider.onRequest(m);
    else if (m.type === 'offer') w.books.consumer.deliverOffer(m);
  });
  w.net.handle('/xe/vminfo/1.0.0', async (address, req) => {
    const r = req as { lease_hash: string; vm?: JsonValue };
    if (address === KEYS.consumer.address) {
      await consumer.putVmInfo(r.lease_hash, parseVmInfo(r.vm));
      return {};
    }
    const info = await provider.vmInfoFor(r.lease_hash);
    if (!info) throw new Error('no such VM');
    return info as unknown as JsonValue;
  });
  await provider.start();
  await consumer.start();
  stops.push(
    () => consumer.stop(),
    () => provider.stop(),
  );
  return { consumer, provider };
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

const xusd = async (w: LeaseWorld) => (await w.ledger.getAccount(KEYS.consumer.address))!.balances.XUSD;
const offers = (w: LeaseWorld) => w.net.marketplace.filter((m) => m.type === 'offer').length;
const leaseBlocks = (w: LeaseWorld) => w.net.blocks.filter((b) => b.type === 'lease');

/** A lease request whose provider never accepts (its VM hangs), past the offer round: the lease block is written. */
async function unacceptedLease() {
  const w = await leaseWorld();
  const { consumer } = await pair(w);
  w.vms.hang = true;
  const result = consumer.requestLease(REQ).catch((err) => err);
  await waitUntil(() => offers(w) === 1, { ...WAIT, what: 'the offer' });
  await w.time.advance(OFFER_WINDOW_MS);
  await waitUntil(() => leaseBlocks(w).length === 1, { ...WAIT, what: 'the lease block' });
  return { w, consumer, result, hash: leaseBlocks(w)[0]!.hash };
}

describe('ConsumerService: offer round', () => {
  it('collects offers for the offer window, then writes the lease and resolves on the accept', async () => {
    const w = await leaseWorld();
    const { consumer } = await pair(w);
    const result = consumer.requestLease(REQ);
    await waitUntil(() => offers(w) === 1, { ...WAIT, what: 'the offer' });
    await w.time.advance(OFFER_WINDOW_MS - 1);
    expect(leaseBlocks(w)).toHaveLength(0);
    await w.time.advance(1);
    const { lease_hash } = await result;
    const lease = await leaseIn(w, lease_hash, 'accepted');
    expect(lease.timestamp).toBe(w.time.nowNs);
    await waitUntil(() => consumer.vmInfo(lease_hash)?.status === 'running', { ...WAIT, what: 'the VM info' });
  });

  it("keeps the VM's host key with the provider's signature; refuses VM info whose key or signature is not the provider's", async () => {
    const w = await leaseWorld();
    w.vms.hostKey = `${sshAuthorizedKeyLine(keyPairFromSeed(new Uint8Array(32).fill(0x71)).pubKeyHex, '')} root@vm`;
    const { consumer } = await pair(w);
    const result = consumer.requestLease(REQ);
    await waitUntil(() => offers(w) === 1, { ...WAIT, what: 'the offer' });
    await w.time.advance(OFFER_WINDOW_MS);
    const { lease_hash } = await result;
    const vm = await waitUntil(() => consumer.vmInfo(lease_hash), { ...WAIT, what: 'the VM info' });
    // pushed canonical (the comment dropped) and signed by the provider for this lease
    expect(vm.host_public_key).toBe(w.vms.hostKey.replace(/ root@vm$/, ''));
    expect(verifyVmHostKey(lease_hash, vm.host_public_key!, vm.host_key_signature!, KEYS.provider.pubKeyHex)).toBe(true);
    // another key under the provider's signature, and the key signed by someone else: refused, the pinned key kept
    const other = sshAuthorizedKeyLine(keyPairFromSeed(new Uint8Array(32).fill(0x72)).pubKeyHex, '');
    const forged = [
      { ...vm, host_public_key: other },
      { ...vm, host_public_key: other, host_key_signature: signVmHostKey(KEYS.consumer, lease_hash, other) },
    ];
    for (const bad of forged) await expect(consumer.putVmInfo(lease_hash, bad)).rejects.toMatchObject({ code: 'VM_HOST_KEY_INVALID' });
    expect(consumer.vmInfo(lease_hash)?.host_public_key).toBe(vm.host_public_key);
    // a key without a signature does not parse
    expect(() => parseVmInfo({ ...vm, host_key_signature: undefined })).toThrow(/host_key_signature/);
  });

  it('answers NO_PROVIDERS when no offer came within the window', async () => {
    const w = await leaseWorld();
    const consumer = new ConsumerService(
      { key: KEYS.consumer, network: w.bundle, offerWindowMs: OFFER_WINDOW_MS, acceptTimeoutMs: ACCEPT_TIMEOUT_MS },
      { ledger: w.ledger, writer: w.writers.consumer, net: w.net, attest: w.attest, book: w.books.consumer, clock: w.time.clock, timers: w.time.timers, logger: w.logger, metrics: w.metrics },
    );
    const result = consumer.requestLease(REQ).catch((err) => err);
    await waitUntil(() => w.time.dueInMs().includes(OFFER_WINDOW_MS), { ...WAIT, what: 'the offer window' });
    await w.time.advance(OFFER_WINDOW_MS);
    expect(await result).toMatchObject({ code: 'NO_PROVIDERS' });
  });
});

describe('ConsumerService: cancel', () => {
  it('times out the wait for the accept, then cancels once the cancel window opens and not before', async () => {
    const w = await leaseWorld();
    const { consumer } = await pair(w);
    w.vms.hang = true;
    const before = await xusd(w);
    let answered = false;
    const result = consumer.requestLease(REQ).catch((err) => err).finally(() => (answered = true));
    await waitUntil(() => offers(w) === 1, { ...WAIT, what: 'the offer' });
    await w.time.advance(OFFER_WINDOW_MS);
    await waitUntil(() => leaseBlocks(w).length === 1 && w.time.dueInMs().includes(ACCEPT_TIMEOUT_MS), { ...WAIT, what: 'the lease block' });
    const hash = leaseBlocks(w)[0]!.hash;
    await w.time.advance(ACCEPT_TIMEOUT_MS - 1);
    await new Promise((r) => setImmediate(r));
    expect(answered).toBe(false);
    await w.time.advance(1);
    expect(await result).toMatchObject({ code: 'ACCEPT_TIMEOUT', details: { lease_hash: hash } });

    const lease = (await w.ledger.getLease(hash))!;
    expect(await xusd(w)).toBe(before - lease.cost);
    const cancelAt = cancelAllowedAt(lease, LEASE) + BigInt(CANCEL_MARGIN_MS) * NS_PER_MS;
    await w.time.advanceTo(cancelAt - NS_PER_MS);
    expect((await w.ledger.getLease(hash))?.state).toBe('created');
    expect(w.attest.calls).toEqual([]);
    await w.time.advanceTo(cancelAt);
    const cancelled = await leaseIn(w, hash, 'cancelled');
    // attested (SPEC §5 amended): the timekeepers were asked, and their time is the lease's end
    expect(w.attest.calls).toEqual([hash]);
    const block = (await w.ledger.getBlock(cancelled.cancel_hash!))!;
    expect(block).toMatchObject({ type: 'lease_cancel', attestations: [{ timestamp: cancelAt }] });
    expect(cancelled.closed_at).toBe(cancelAt);
    expect(await xusd(w)).toBe(before);
  });

  it('waits out the rate window (31 s) when the timekeepers answer RATE_LIMITED; an operator cancel in the meantime is taken', async () => {
    const { w, consumer, result, hash } = await unacceptedLease();
    w.attest.failures.push('RATE_LIMITED');
    const cancelAt = cancelAllowedAt((await w.ledger.getLease(hash))!, LEASE) + BigInt(CANCEL_MARGIN_MS) * NS_PER_MS;
    await w.time.advanceTo(cancelAt);
    await waitUntil(() => w.time.dueInMs().includes(CANCEL_RATE_RETRY_MS), { ...WAIT, what: 'the rate-limited cancel' });
    await w.time.advance(CANCEL_RATE_RETRY_MS - 1);
    expect((await w.ledger.getLease(hash))?.state).toBe('created');
    // the operator's cancel now runs one gather, and the retry that fires meanwhile joins or finds it done
    const block = await consumer.cancelNow(hash);
    await w.time.advance(1);
    const cancelled = await leaseIn(w, hash, 'cancelled');
    expect(cancelled.cancel_hash).toBe(block.hash);
    expect(w.attest.calls).toEqual([hash, hash]);
    expect(await result).toMatchObject({ code: 'ACCEPT_TIMEOUT' });
  });

  it('retries a failed cancel 5 s later', async () => {
    const { w, result, hash } = await unacceptedLease();
    w.failCommits.push({ type: 'lease_cancel', code: 'BLOCK_REJECTED' });
    const cancelAt = cancelAllowedAt((await w.ledger.getLease(hash))!, LEASE) + BigInt(CANCEL_MARGIN_MS) * NS_PER_MS;
    await w.time.advanceTo(cancelAt);
    await waitUntil(() => w.failCommits.length === 0 && w.time.dueInMs().includes(CANCEL_RETRY_MS), { ...WAIT, what: 'the failed cancel' });
    await w.time.advance(CANCEL_RETRY_MS - 1);
    expect((await w.ledger.getLease(hash))?.state).toBe('created');
    await w.time.advance(1);
    const cancelled = await leaseIn(w, hash, 'cancelled');
    expect(cancelled.closed_at).toBe(cancelAt + BigInt(CANCEL_RETRY_MS) * NS_PER_MS);
    expect(await result).toMatchObject({ code: 'ACCEPT_TIMEOUT' });
  });

  it("refuses the operator's cancel before the window with a coded error, and takes it once the window opened", async () => {
    const { w, consumer, result, hash } = await unacceptedLease();
    const allowedAt = cancelAllowedAt((await w.ledger.getLease(hash))!, LEASE);
    await w.time.advanceTo(allowedAt - NS_PER_MS);
    await expect(consumer.cancelNow(hash)).rejects.toMatchObject({ code: 'LEASE_NOT_CANCELLABLE', message: expect.stringMatching(/too early.*in 1 s/) });
    await w.time.advanceTo(allowedAt);
    const block = await consumer.cancelNow(hash);
    expect(block).toMatchObject({ type: 'lease_cancel', source: hash, timestamp: allowedAt });
    expect((await w.ledger.getLease(hash))?.state).toBe('cancelled');
    await expect(consumer.cancelNow(hash)).rejects.toMatchObject({ code: 'LEASE_NOT_CANCELLABLE' });
    await expect(consumer.cancelNow('f'.repeat(64))).rejects.toMatchObject({ code: 'LEASE_NOT_FOUND' });
    expect(await result).toMatchObject({ code: 'ACCEPT_TIMEOUT' });
  });
});

describe('ConsumerService: force-settle', () => {
  async function acceptedLease(w: LeaseWorld) {
    const services = await pair(w);
    const result = services.consumer.requestLease(REQ);
    await waitUntil(() => offers(w) === 1, { ...WAIT, what: 'the offer' });
    await w.time.advance(OFFER_WINDOW_MS);
    const { lease_hash } = await result;
    return { ...services, lease: await leaseIn(w, lease_hash, 'accepted') };
  }

  it('force-settles only after expiry + settle grace + gap when the provider never settled', async () => {
    const w = await leaseWorld();
    const { provider, lease } = await acceptedLease(w);
    await provider.stop(); // a provider that went away and never settles
    const before = await xusd(w);
    const forceAt = forceSettleAllowedAt(lease, LEASE) + BigInt(FORCE_SETTLE_MARGIN_MS) * NS_PER_MS;
    expect(forceAt).toBe(lease.expiry + LEASE.settle_grace_ns + LEASE.force_settle_gap_ns + BigInt(FORCE_SETTLE_MARGIN_MS) * NS_PER_MS);
    await w.time.advanceTo(forceAt - NS_PER_MS);
    expect(w.attest.calls).toEqual([lease.hash]);
    expect((await w.ledger.getLease(lease.hash))?.state).toBe('accepted');
    await w.time.advanceTo(forceAt);
    const done = await leaseIn(w, lease.hash, 'unfulfilled');
    expect(done.closed_at).toBe(forceAt);
    expect(await xusd(w)).toBe(before + lease.cost);
  });

  it('retries a failed force-settle 31 s later', async () => {
    const w = await leaseWorld();
    const { provider, lease } = await acceptedLease(w);
    await provider.stop();
    w.attest.failures.push('RATE_LIMITED');
    const forceAt = forceSettleAllowedAt(lease, LEASE) + BigInt(FORCE_SETTLE_MARGIN_MS) * NS_PER_MS;
    await w.time.advanceTo(forceAt);
    await waitUntil(() => w.attest.calls.length === 2 && w.time.dueInMs().includes(FORCE_SETTLE_RETRY_MS), { ...WAIT, what: 'the first try' });
    await w.time.advance(FORCE_SETTLE_RETRY_MS - 1);
    expect(w.attest.calls).toHaveLength(2);
    await w.time.advance(1);
    const done = await leaseIn(w, lease.hash, 'unfulfilled');
    expect(done.closed_at).toBe(forceAt + BigInt(FORCE_SETTLE_RETRY_MS) * NS_PER_MS);
  });

  it('does not force-settle a lease its provider settled', async () => {
    const w = await leaseWorld();
    const { lease } = await acceptedLease(w);
    await w.time.advanceTo(lease.expiry + 1500n * NS_PER_MS);
    await leaseIn(w, lease.hash, 'settled');
    const calls = w.attest.calls.length;
    await w.time.advanceTo(forceSettleAllowedAt(lease, LEASE) + 60_000n * NS_PER_MS);
    expect(w.attest.calls).toHaveLength(calls);
    expect((await w.ledger.getLease(lease.hash))?.state).toBe('settled');
  });
});
