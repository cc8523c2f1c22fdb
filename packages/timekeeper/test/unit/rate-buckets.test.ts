import { describe, expect, it } from '@jest/globals';
import { ATTEST_RATE_WINDOW_NS, type Attestation, DEVNET_LEASE_PARAMS, type LeaseState, NS_PER_SEC, stringifyJson, type TimekeeperSet } from '@xe/core-types';
import {
  AttestationGatherer,
  AttestationSigner,
  type AttestRequest,
  type LeaseFacts,
  MAX_OTHER_SLOTS,
  parseAttestRequest,
  TimekeeperErrorCodes,
} from '../../src/index.js';
import { ManualClock, makeLeaseBlock, testKey } from '../support/fixtures.js';

const tk = testKey(0);
const consumer = testKey(10);
const provider = testKey(11);
const relay = testKey(12);
const set: TimekeeperSet = { keys: [tk.pubKeyHex], threshold: 1 };
const LEASE = DEVNET_LEASE_PARAMS;

/** A signer over one lease whose facts (state, parties, timestamp) the test sets. */
function setup(state: LeaseState = 'accepted') {
  const time = new ManualClock();
  const block = makeLeaseBlock(consumer, provider, time.nowNs);
  const facts: LeaseFacts = { state, provider: provider.address, consumer: consumer.address, timestamp: block.timestamp };
  const signer = new AttestationSigner(
    { key: tk, timekeepers: set, lease: LEASE },
    {
      clock: time.clock,
      leaseState: async (h) => (h === block.hash ? facts : undefined),
      ingest: async () => ({ status: 'rejected', code: 'UNUSED', message: 'not used', retryable: false }),
    },
  );
  const sign = (ctx: { requester: string; requesterAddress?: string }, relayed = false) =>
    signer.sign(parseAttestRequest(stringifyJson({ lease_hash: block.hash, ...(relayed ? { relayed: true } : {}) })), ctx);
  return { time, block, facts, signer, sign };
}

const codeOf = (p: Promise<unknown>) => p.then(() => 'signed', (e: { code?: string }) => e.code);

describe('AttestationSigner rate buckets (SPEC §8: relayed requests never take the parties’ slots)', () => {
  it('a relayed request from the provider’s own peer goes to the third-party bucket; the provider’s own request still signs', async () => {
    const { signer, sign } = setup();
    const providerPeer = { requester: 'peer-provider', requesterAddress: provider.address };
    // POST /attestation/request forwarded by the provider's node, many times
    await sign(providerPeer, true);
    for (let i = 0; i < 10; i++) expect(await codeOf(sign(providerPeer, true))).toBe(TimekeeperErrorCodes.RATE_LIMITED);
    expect(signer.slotsIn('other')).toBe(1);
    expect(signer.slotsIn('party')).toBe(0);
    // the provider's settle: its own slot is untouched
    expect(await codeOf(sign(providerPeer))).toBe('signed');
    expect(signer.slotsIn('party')).toBe(1);
    expect(await codeOf(sign(providerPeer))).toBe(TimekeeperErrorCodes.RATE_LIMITED);
  });

  it('a peer that is not a lease party lands in the third-party bucket, relayed or not; the consumer keeps its own slot', async () => {
    const { signer, sign } = setup();
    const stranger = { requester: 'peer-relay', requesterAddress: relay.address };
    expect(await codeOf(sign(stranger))).toBe('signed');
    expect(await codeOf(sign(stranger, true))).toBe(TimekeeperErrorCodes.RATE_LIMITED);
    expect(signer.slotsIn('other')).toBe(1);
    expect(await codeOf(sign({ requester: 'peer-consumer', requesterAddress: consumer.address }))).toBe('signed');
    expect(await codeOf(sign({ requester: 'peer-provider', requesterAddress: provider.address }))).toBe('signed');
    expect(signer.slotsIn('party')).toBe(2);
  });

  it('claiming a party’s peer id without its address (HTTP clients, unauthenticated) never reaches the party bucket', async () => {
    const { signer, sign } = setup();
    await sign({ requester: 'http:127.0.0.1' });
    await sign({ requester: 'peer-provider' });
    expect(signer.slotsIn('party')).toBe(0);
    expect(await codeOf(sign({ requester: 'peer-provider', requesterAddress: provider.address }))).toBe('signed');
  });

  it('this node’s own gatherer (self) signs in the party bucket whatever the third-party traffic', async () => {
    const { signer, sign, time } = setup();
    for (let i = 0; i < 20; i++) {
      await sign({ requester: `http:10.0.0.${i}` }).catch(() => undefined);
      await sign({ requester: 'local' }).catch(() => undefined);
      time.advance(250_000_000n);
    }
    expect(await codeOf(sign({ requester: 'self' }))).toBe('signed');
    expect(signer.slotsIn('party')).toBe(1);
  });

  it('the third-party bucket is bounded: past MAX_OTHER_SLOTS in one window such requests wait, parties do not', async () => {
    const { signer, sign, time } = setup();
    for (let i = 0; i < MAX_OTHER_SLOTS; i++) await sign({ requester: `http:ip-${i}` });
    expect(signer.slotsIn('other')).toBe(MAX_OTHER_SLOTS);
    const err = await sign({ requester: 'http:one-more' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: TimekeeperErrorCodes.RATE_LIMITED, retryable: true, details: { bucket: 'other' } });
    expect(await codeOf(sign({ requester: 'peer-provider', requesterAddress: provider.address }))).toBe('signed');
    time.advance(ATTEST_RATE_WINDOW_NS);
    expect(await codeOf(sign({ requester: 'http:one-more' }))).toBe('signed');
    expect(signer.slotsIn('other')).toBe(1);
  });

  it('the wire carries relayed as a boolean only', () => {
    const h = 'a'.repeat(64);
    expect(parseAttestRequest(stringifyJson({ lease_hash: h, relayed: true }))).toEqual({ lease_hash: h, relayed: true });
    expect(parseAttestRequest(stringifyJson({ lease_hash: h, relayed: false }))).toEqual({ lease_hash: h });
    expect(() => parseAttestRequest(stringifyJson({ lease_hash: h, relayed: 'yes' }))).toThrow(/relayed/);
  });

  it('requestOne on a node that is not a timekeeper marks its forwarded requests relayed; gather does not', async () => {
    const { block, sign } = setup();
    const seen: AttestRequest[] = [];
    const time = new ManualClock();
    const gatherer = new AttestationGatherer(
      { timekeepers: set, skewNs: LEASE.max_attestation_skew_ns },
      {
        clock: time.clock,
        transport: {
          requestAttestation: async (_key, request): Promise<Attestation> => {
            seen.push(request);
            // the provider's node: its peer is a lease party
            return sign({ requester: 'peer-provider', requesterAddress: provider.address }, request.relayed === true);
          },
        },
      },
    );
    await gatherer.requestOne(block.hash);
    // the relayed request did not take the provider's slot: its own gather still signs
    expect((await gatherer.gather({ lease_hash: block.hash, block })).length).toBe(1);
    expect(seen.map((r) => r.relayed === true)).toEqual([true, false]);
  });
});

describe('AttestationSigner for a created lease: only while a transition can use the signature', () => {
  it('signs in the accept window, refuses between its end and the cancel threshold (no slot taken), signs for the cancel from then', async () => {
    const { time, block, sign, signer } = setup('created');
    const consumerPeer = { requester: 'peer-consumer', requesterAddress: consumer.address };
    const acceptEnd = block.timestamp + LEASE.accept_window_ns;
    const cancelOpens = acceptEnd + LEASE.max_attestation_skew_ns;
    time.nowNs = acceptEnd;
    expect(await codeOf(sign({ requester: 'peer-provider', requesterAddress: provider.address }))).toBe('signed');
    time.nowNs = acceptEnd + 1n;
    const early = await sign(consumerPeer).catch((e: unknown) => e);
    expect(early).toMatchObject({ code: TimekeeperErrorCodes.LEASE_NOT_ATTESTABLE, retryable: true, details: { opens_at: cancelOpens } });
    time.nowNs = cancelOpens - 1n;
    expect(await codeOf(sign(consumerPeer))).toBe(TimekeeperErrorCodes.LEASE_NOT_ATTESTABLE);
    expect(signer.slotsIn('party')).toBe(1);
    time.nowNs = cancelOpens;
    const a = await sign(consumerPeer);
    expect(a.timestamp).toBe(cancelOpens);
    time.advance(NS_PER_SEC);
    expect(await codeOf(sign(consumerPeer))).toBe(TimekeeperErrorCodes.RATE_LIMITED);
  });

  it('an accepted lease is signed whatever the time (the rules judge the window)', async () => {
    const { time, block, sign } = setup('accepted');
    time.nowNs = block.timestamp + LEASE.accept_window_ns + 1n;
    expect(await codeOf(sign({ requester: 'peer-consumer', requesterAddress: consumer.address }))).toBe('signed');
  });
});
