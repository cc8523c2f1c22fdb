import { describe, expect, it } from '@jest/globals';
import { ATTEST_RATE_WINDOW_NS, DEVNET_LEASE_PARAMS, type LeaseState, NS_PER_SEC, type TimekeeperSet } from '@xe/core-types';
import { attestationDigest, validateAttestations, verify } from '@xe/crypto';
import { AttestationSigner, TimekeeperErrorCodes } from '../../src/index.js';
import { FakeLedger } from '../support/fake-ledger.js';
import { ManualClock, makeLeaseBlock, testKey } from '../support/fixtures.js';

const tk = testKey(0);
const other = testKey(1);
const consumer = testKey(10);
const provider = testKey(11);
const set: TimekeeperSet = { keys: [tk.pubKeyHex, other.pubKeyHex], threshold: 1 };
const skewNs = DEVNET_LEASE_PARAMS.max_attestation_skew_ns;

function setup(ledger = new FakeLedger()) {
  const time = new ManualClock();
  const signer = new AttestationSigner({ key: tk, timekeepers: set }, { clock: time.clock, leaseState: ledger.leaseState, ingest: ledger.ingest });
  return { time, signer, ledger };
}

function expectValid(a: { public_key: string; timestamp: bigint; signature: string }, leaseHash: string, now: bigint) {
  expect(validateAttestations([a], leaseHash, set, { now, skewNs, checkSkew: true })).toBe(now);
}

describe('AttestationSigner', () => {
  it('signs SHA-256(lease hash || u64 ts) with the node key at the clock time, for created and accepted leases', async () => {
    const block = makeLeaseBlock(consumer, provider, 1n);
    const { time, signer, ledger } = setup(FakeLedger.knowing(block));
    const a = await signer.sign({ lease_hash: block.hash }, { requester: 'peer-a' });
    expect(a.public_key).toBe(tk.pubKeyHex);
    expect(a.timestamp).toBe(time.nowNs);
    expect(verify(attestationDigest(block.hash, a.timestamp), a.signature, tk.pubKeyHex)).toBe(true);
    expectValid(a, block.hash, time.nowNs);

    ledger.states.set(block.hash, 'accepted');
    const b = await signer.sign({ lease_hash: block.hash }, { requester: 'peer-a' });
    expectValid(b, block.hash, time.nowNs);
  });

  it('refuses an unknown lease when no block comes with the request', async () => {
    const { signer } = setup();
    const err = await signer.sign({ lease_hash: 'a'.repeat(64) }, { requester: 'p' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: TimekeeperErrorCodes.UNKNOWN_LEASE, retryable: true });
  });

  it('admits the lease block of a request for an unknown lease, then signs', async () => {
    const block = makeLeaseBlock(consumer, provider, 1n);
    const { time, signer, ledger } = setup();
    const a = await signer.sign({ lease_hash: block.hash, block }, { requester: 'p' });
    expect(ledger.ingested).toEqual([block.hash]);
    expectValid(a, block.hash, time.nowNs);
  });

  it('does not ingest when the lease is already known', async () => {
    const block = makeLeaseBlock(consumer, provider, 1n);
    const { signer, ledger } = setup(FakeLedger.knowing(block));
    await signer.sign({ lease_hash: block.hash, block }, { requester: 'p' });
    expect(ledger.ingested).toEqual([]);
  });

  it('answers UNKNOWN_LEASE with the ingest code when the block is rejected', async () => {
    const block = makeLeaseBlock(consumer, provider, 1n);
    const forged = { ...block, signature: 'f'.repeat(128) };
    const { signer } = setup();
    const err = await signer.sign({ lease_hash: block.hash, block: forged }, { requester: 'p' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: TimekeeperErrorCodes.UNKNOWN_LEASE, retryable: false, details: { ingest_code: 'INVALID_SIGNATURE' } });
  });

  it.each(['settled', 'unfulfilled', 'expired', 'cancelled'] as LeaseState[])('refuses a %s lease', async (state) => {
    const block = makeLeaseBlock(consumer, provider, 1n);
    const ledger = new FakeLedger();
    ledger.states.set(block.hash, state);
    const { signer } = setup(ledger);
    const err = await signer.sign({ lease_hash: block.hash }, { requester: 'p' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: TimekeeperErrorCodes.LEASE_NOT_ATTESTABLE, details: { state } });
  });

  it('rejects malformed hashes and blocks that are not the lease named', async () => {
    const block = makeLeaseBlock(consumer, provider, 1n);
    const another = makeLeaseBlock(consumer, provider, 2n);
    const { signer } = setup(FakeLedger.knowing(block));
    for (const lease_hash of ['A'.repeat(64), 'a'.repeat(63), '']) {
      await expect(signer.sign({ lease_hash }, { requester: 'p' })).rejects.toMatchObject({ code: TimekeeperErrorCodes.INVALID_REQUEST });
    }
    await expect(signer.sign({ lease_hash: block.hash, block: another }, { requester: 'p' })).rejects.toMatchObject({
      code: TimekeeperErrorCodes.INVALID_REQUEST,
      field: 'block.hash',
    });
    const send = { ...block, type: 'send' as const, memo: undefined } as unknown as typeof block;
    await expect(signer.sign({ lease_hash: block.hash, block: send }, { requester: 'p' })).rejects.toMatchObject({
      code: TimekeeperErrorCodes.INVALID_REQUEST,
      field: 'block.type',
    });
  });

  it('refuses to sign when its key is not a listed timekeeper', async () => {
    const block = makeLeaseBlock(consumer, provider, 1n);
    const ledger = FakeLedger.knowing(block);
    const time = new ManualClock();
    const outsider = new AttestationSigner(
      { key: testKey(5), timekeepers: set },
      { clock: time.clock, leaseState: ledger.leaseState, ingest: ledger.ingest },
    );
    expect(outsider.listed).toBe(false);
    await expect(outsider.sign({ lease_hash: block.hash }, { requester: 'p' })).rejects.toMatchObject({
      code: TimekeeperErrorCodes.NOT_A_TIMEKEEPER,
    });
  });

  describe('rate limit: one signature per (requester, lease, state) per 30 s', () => {
    it('refuses a second request inside the window, for that requester only, and signs again after it', async () => {
      const block = makeLeaseBlock(consumer, provider, 1n);
      const { time, signer } = setup(FakeLedger.knowing(block));
      await signer.sign({ lease_hash: block.hash }, { requester: 'p' });
      time.advanceSeconds(29);
      const err = await signer.sign({ lease_hash: block.hash }, { requester: 'p' }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: TimekeeperErrorCodes.RATE_LIMITED, retryable: true, details: { retry_after_ns: NS_PER_SEC } });
      // another requester, and another lease, are not affected
      expectValid(await signer.sign({ lease_hash: block.hash }, { requester: 'q' }), block.hash, time.nowNs);
      const second = makeLeaseBlock(consumer, provider, 2n);
      expectValid(await signer.sign({ lease_hash: second.hash, block: second }, { requester: 'p' }), second.hash, time.nowNs);
      // exactly at the end of the window the slot is free again
      time.advanceSeconds(1);
      expectValid(await signer.sign({ lease_hash: block.hash }, { requester: 'p' }), block.hash, time.nowNs);
    });

    it('a refused request does not extend the window', async () => {
      const block = makeLeaseBlock(consumer, provider, 1n);
      const { time, signer } = setup(FakeLedger.knowing(block));
      await signer.sign({ lease_hash: block.hash }, { requester: 'p' });
      time.advanceSeconds(20);
      await expect(signer.sign({ lease_hash: block.hash }, { requester: 'p' })).rejects.toMatchObject({ code: 'RATE_LIMITED' });
      time.advanceSeconds(10);
      await expect(signer.sign({ lease_hash: block.hash }, { requester: 'p' })).resolves.toMatchObject({ timestamp: time.nowNs });
    });

    it('takes the slot only when a signature is issued', async () => {
      const block = makeLeaseBlock(consumer, provider, 1n);
      const { time, signer } = setup();
      await expect(signer.sign({ lease_hash: block.hash }, { requester: 'p' })).rejects.toMatchObject({ code: 'UNKNOWN_LEASE' });
      expect(signer.rateSlots).toBe(0);
      const a = await signer.sign({ lease_hash: block.hash, block }, { requester: 'p' });
      expectValid(a, block.hash, time.nowNs);
      expect(signer.rateSlots).toBe(1);
    });

    it('signs at once when the lease state changed: accept then settle of a 5-second lease', async () => {
      const block = makeLeaseBlock(consumer, provider, 1n, 5n);
      const { time, signer, ledger } = setup(FakeLedger.knowing(block));
      const forAccept = await signer.sign({ lease_hash: block.hash }, { requester: 'provider' });
      ledger.states.set(block.hash, 'accepted');
      time.advanceSeconds(5);
      const forSettle = await signer.sign({ lease_hash: block.hash }, { requester: 'provider' });
      expect(forSettle.timestamp - forAccept.timestamp).toBe(5n * NS_PER_SEC);
      expectValid(forSettle, block.hash, time.nowNs);
      // and the new state has its own slot
      await expect(signer.sign({ lease_hash: block.hash }, { requester: 'provider' })).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    });

    it('concurrent requests from one requester get one signature', async () => {
      const block = makeLeaseBlock(consumer, provider, 1n);
      const { signer } = setup(FakeLedger.knowing(block));
      const results = await Promise.allSettled([1, 2, 3].map(() => signer.sign({ lease_hash: block.hash }, { requester: 'p' })));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'RATE_LIMITED' });
    });

    it('drops expired slots so memory stays bounded', async () => {
      const blocks = Array.from({ length: 50 }, (_, i) => makeLeaseBlock(consumer, provider, BigInt(i + 1)));
      const { time, signer } = setup(FakeLedger.knowing(...blocks));
      for (const b of blocks) await signer.sign({ lease_hash: b.hash }, { requester: 'p' });
      expect(signer.rateSlots).toBe(50);
      time.advance(ATTEST_RATE_WINDOW_NS);
      await signer.sign({ lease_hash: blocks[0]!.hash }, { requester: 'p' });
      expect(signer.rateSlots).toBe(1);
    });

    it('honours a configured window', async () => {
      const block = makeLeaseBlock(consumer, provider, 1n);
      const ledger = FakeLedger.knowing(block);
      const time = new ManualClock();
      const signer = new AttestationSigner(
        { key: tk, timekeepers: set, rateWindowNs: 2n * NS_PER_SEC },
        { clock: time.clock, leaseState: ledger.leaseState, ingest: ledger.ingest },
      );
      await signer.sign({ lease_hash: block.hash }, { requester: 'p' });
      time.advanceSeconds(2);
      await expect(signer.sign({ lease_hash: block.hash }, { requester: 'p' })).resolves.toMatchObject({ public_key: tk.pubKeyHex });
    });
  });

  it('honours an aborted signal', async () => {
    const block = makeLeaseBlock(consumer, provider, 1n);
    const { signer } = setup(FakeLedger.knowing(block));
    const ctrl = new AbortController();
    ctrl.abort();
    await expect(signer.sign({ lease_hash: block.hash }, { requester: 'p', signal: ctrl.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(signer.rateSlots).toBe(0);
  });
});
