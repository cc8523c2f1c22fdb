import { describe, expect, it } from '@jest/globals';
import { NS_PER_SEC, } from '@xe/core-types';
import { signAttestation, validateAttestations } from '@xe/crypto';
import { AttestationGatherer, AttestationSigner, SELF_REQUESTER, } from '../../src/index.js';
import { FakeLedger } from '../support/fake-ledger.js';
import { expectValid, failures, gathererNet, ManualClock, makeLeaseBlock, rejectionOf, testKey } from '../support/fixtures.js';
import { type Behaviour, LocalTransport } from '../support/local-transport.js';

const { keys, set, skewNs, consumer, provider } = gathererNet;

interface World {
  time: ManualClock;
  ledgers: FakeLedger[];
  signers: AttestationSigner[];
}

function world(): World {
  const time = new ManualClock();
  const ledgers = keys.map(() => new FakeLedger());
  const signers = keys.map(
    (key, i) => new AttestationSigner({ key, timekeepers: set }, { clock: time.clock, leaseState: ledgers[i]!.leaseState, ingest: ledgers[i]!.ingest }),
  );
  return { time, ledgers, signers };
}

function lease(w: World, knownBy: number[] = [0, 1, 2]) {
  const block = makeLeaseBlock(consumer, provider, w.time.nowNs);
  for (const i of knownBy) w.ledgers[i]!.states.set(block.hash, 'created');
  return block;
}

function behaviours(w: World, overrides: Record<number, Behaviour> = {}): Map<string, Behaviour> {
  return new Map(keys.map((k, i) => [k.pubKeyHex, overrides[i] ?? { kind: 'signer', signer: w.signers[i]! }]));
}

function gatherer(w: World, transport: LocalTransport, extra: { self?: AttestationSigner; perRequestTimeoutMs?: number; overallTimeoutMs?: number } = {}) {
  return new AttestationGatherer({ timekeepers: set, skewNs, ...extra }, { transport, clock: w.time.clock });
}




describe('AttestationGatherer.gather', () => {
  it('returns threshold distinct valid attestations', async () => {
    const w = world();
    const block = lease(w);
    const transport = new LocalTransport(behaviours(w));
    const got = await gatherer(w, transport).gather({ lease_hash: block.hash, block });
    expect(got).toHaveLength(2);
    expect(new Set(got.map((a) => a.public_key)).size).toBe(2);
    expectValid(got, block.hash, w.time.nowNs);
  });

  it('self-signs through its own signer when listed, and asks the others through the transport', async () => {
    const w = world();
    const block = lease(w);
    const transport = new LocalTransport(behaviours(w, { 1: { kind: 'hang' } }));
    const g = gatherer(w, transport, { self: w.signers[0]! });
    expect(g.selfSigning).toBe(true);
    const got = await g.gather({ lease_hash: block.hash, block });
    expect(got.map((a) => a.public_key).sort()).toEqual([keys[0]!.pubKeyHex, keys[2]!.pubKeyHex].sort());
    expect(transport.callsTo(keys[0]!.pubKeyHex)).toHaveLength(0);
    // the self slot is the SELF_REQUESTER one: a second self-sign for the same state is refused
    await expect(w.signers[0]!.sign({ lease_hash: block.hash }, { requester: SELF_REQUESTER })).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expectValid(got, block.hash, w.time.nowNs);
  });

  it('asks every listed key over the transport when the given signer is not listed', async () => {
    const w = world();
    const block = lease(w);
    const outsider = new AttestationSigner(
      { key: testKey(7), timekeepers: set },
      { clock: w.time.clock, leaseState: w.ledgers[0]!.leaseState, ingest: w.ledgers[0]!.ingest },
    );
    const transport = new LocalTransport(behaviours(w));
    const g = gatherer(w, transport, { self: outsider });
    expect(g.selfSigning).toBe(false);
    expectValid(await g.gather({ lease_hash: block.hash, block }), block.hash, w.time.nowNs);
    expect(new Set(transport.calls.map((c) => c.key)).size).toBe(3);
  });

  it('returns as soon as the threshold is met and aborts the outstanding request', async () => {
    const w = world();
    const block = lease(w);
    const transport = new LocalTransport(behaviours(w, { 2: { kind: 'hang' } }));
    const started = Date.now();
    const got = await gatherer(w, transport).gather({ lease_hash: block.hash, block });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(got.map((a) => a.public_key)).not.toContain(keys[2]!.pubKeyHex);
    expect(transport.callsTo(keys[2]!.pubKeyHex)[0]!.signal.aborted).toBe(true);
  });

  it('retries once, with the block, a timekeeper that answered UNKNOWN_LEASE', async () => {
    const w = world();
    const block = lease(w, [0]);
    const transport = new LocalTransport(behaviours(w, { 2: { kind: 'hang' } }));
    const got = await gatherer(w, transport).gather({ lease_hash: block.hash, block });
    expectValid(got, block.hash, w.time.nowNs);
    const calls = transport.callsTo(keys[1]!.pubKeyHex);
    expect(calls.map((c) => c.request.block?.hash)).toEqual([undefined, block.hash]);
    expect(w.ledgers[1]!.ingested).toEqual([block.hash]);
  });

  it('does not ask a third time after a refusal that is not retryable, nor retry other refusals', async () => {
    const w = world();
    const block = lease(w, [0]);
    const unknown: Behaviour = {
      kind: 'answer',
      answer: () => {
        throw Object.assign(new Error('still unknown'), { code: 'UNKNOWN_LEASE' });
      },
    };
    const limited: Behaviour = {
      kind: 'answer',
      answer: () => {
        throw Object.assign(new Error('slow down'), { code: 'RATE_LIMITED' });
      },
    };
    const transport = new LocalTransport(behaviours(w, { 1: unknown, 2: limited }));
    const err = await rejectionOf(gatherer(w, transport).gather({ lease_hash: block.hash, block }));
    expect(err.code).toBe('TIMEKEEPER_UNAVAILABLE');
    expect(transport.callsTo(keys[1]!.pubKeyHex)).toHaveLength(2);
    expect(transport.callsTo(keys[2]!.pubKeyHex)).toHaveLength(1);
    expect(failures(err).map((f) => [f.public_key, f.code])).toEqual(
      expect.arrayContaining([
        [keys[1]!.pubKeyHex, 'UNKNOWN_LEASE'],
        [keys[2]!.pubKeyHex, 'RATE_LIMITED'],
      ]),
    );
    expect(err.message).toContain('UNKNOWN_LEASE');
    expect(err.message).toContain('RATE_LIMITED');
  });

  it('asks again, with the block, a timekeeper that could not admit it yet (retryable UNKNOWN_LEASE), until it signs', async () => {
    const w = world();
    const block = lease(w, [0]);
    let refusals = 0;
    const notYet: Behaviour = {
      kind: 'answer',
      answer: (req) => {
        // the certificate arrives at the timekeeper after its second look at the block
        if (req.block === undefined || refusals++ < 2) {
          throw Object.assign(new Error('certificate not known yet'), { code: 'UNKNOWN_LEASE', retryable: req.block !== undefined });
        }
        return signAttestation(keys[1]!, req.lease_hash, w.time.nowNs);
      },
    };
    const transport = new LocalTransport(behaviours(w, { 1: notYet, 2: { kind: 'hang' } }));
    const got = await gatherer(w, transport).gather({ lease_hash: block.hash, block });
    expectValid(got, block.hash, w.time.nowNs);
    expect(got.map((a) => a.public_key)).toContain(keys[1]!.pubKeyHex);
    expect(transport.callsTo(keys[1]!.pubKeyHex).map((c) => c.request.block?.hash)).toEqual([undefined, block.hash, block.hash, block.hash]);
  });

  it('keeps only valid attestations from the key asked: wrong key, bad signature and skewed time do not count', async () => {
    const w = world();
    const block = lease(w);
    const wrongKey: Behaviour = { kind: 'answer', answer: (r) => signAttestation(keys[0]!, r.lease_hash, w.time.nowNs) };
    const badSig: Behaviour = {
      kind: 'answer',
      answer: (r) => ({ ...signAttestation(keys[2]!, r.lease_hash, w.time.nowNs), timestamp: w.time.nowNs + 1n }),
    };
    const transport = new LocalTransport(behaviours(w, { 1: wrongKey, 2: badSig }));
    const err = await rejectionOf(gatherer(w, transport).gather({ lease_hash: block.hash, block }));
    expect(err.code).toBe('TIMEKEEPER_UNAVAILABLE');
    expect(err.details).toMatchObject({ needed: 2 });
    expect(failures(err).filter((f) => f.code === 'INVALID_ATTESTATION').map((f) => f.public_key).sort()).toEqual(
      [keys[1]!.pubKeyHex, keys[2]!.pubKeyHex].sort(),
    );

    const skewed: Behaviour = { kind: 'answer', answer: (r) => signAttestation(keys[1]!, r.lease_hash, w.time.nowNs - skewNs - 1n) };
    const t2 = new LocalTransport(behaviours(w, { 1: skewed }), 'another-peer');
    const got = await gatherer(w, t2).gather({ lease_hash: block.hash, block });
    expect(got.map((a) => a.public_key).sort()).toEqual([keys[0]!.pubKeyHex, keys[2]!.pubKeyHex].sort());
  });

  it('fails at once, naming each failure, when the threshold can no longer be met', async () => {
    const w = world();
    const block = lease(w);
    const transport = new LocalTransport(new Map([[keys[0]!.pubKeyHex, { kind: 'hang' } as Behaviour]]));
    const started = Date.now();
    const err = await rejectionOf(gatherer(w, transport).gather({ lease_hash: block.hash, block }));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(err.code).toBe('TIMEKEEPER_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(failures(err).map((f) => f.code).sort()).toEqual(['ABORTED', 'UNREACHABLE', 'UNREACHABLE']);
    for (const k of keys) expect(err.message).toContain(k.pubKeyHex.slice(0, 12));
    expect(transport.callsTo(keys[0]!.pubKeyHex)[0]!.signal.aborted).toBe(true);
  });

  it('times out a request per timekeeper even when the transport ignores the signal', async () => {
    const w = world();
    const block = lease(w);
    const transport = new LocalTransport(behaviours(w, { 1: { kind: 'deaf' }, 2: { kind: 'deaf' } }));
    const err = await rejectionOf(gatherer(w, transport, { perRequestTimeoutMs: 50 }).gather({ lease_hash: block.hash, block }));
    expect(failures(err).filter((f) => f.code === 'TIMEOUT').map((f) => f.public_key).sort()).toEqual(
      [keys[1]!.pubKeyHex, keys[2]!.pubKeyHex].sort(),
    );
    expect(err.message).toContain('no answer within 50 ms');
  });

  it('gives up at the overall timeout', async () => {
    const w = world();
    const block = lease(w);
    const transport = new LocalTransport(behaviours(w, { 1: { kind: 'hang' }, 2: { kind: 'hang' } }));
    const started = Date.now();
    const err = await rejectionOf(gatherer(w, transport, { overallTimeoutMs: 80 }).gather({ lease_hash: block.hash, block }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(70);
    expect(err.code).toBe('TIMEKEEPER_UNAVAILABLE');
    expect(failures(err).filter((f) => f.code === 'TIMEOUT')).toHaveLength(2);
    expect(err.message).toContain('overall 80 ms');
  });

  it('rejects with the abort when the caller aborts', async () => {
    const w = world();
    const block = lease(w);
    const transport = new LocalTransport(behaviours(w, { 1: { kind: 'hang' }, 2: { kind: 'hang' } }));
    const ctrl = new AbortController();
    const p = gatherer(w, transport).gather({ lease_hash: block.hash, block }, { signal: ctrl.signal });
    ctrl.abort();
    const err = await rejectionOf(p);
    expect(err.code).toBe('ABORTED');
    for (const c of transport.calls) expect(c.signal.aborted).toBe(true);
  });

  it('rejects a block that is not the lease named', async () => {
    const w = world();
    const block = lease(w);
    const other = lease(w);
    const transport = new LocalTransport(behaviours(w));
    await expect(gatherer(w, transport).gather({ lease_hash: block.hash, block: other })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    expect(transport.calls).toHaveLength(0);
  });

  it('a node that is a timekeeper gathers for accept and then, once the state changed, for settle of a 5-second lease', async () => {
    const w = world();
    const block = makeLeaseBlock(consumer, provider, w.time.nowNs, 5n);
    for (const l of w.ledgers) l.states.set(block.hash, 'created');
    const transport = new LocalTransport(behaviours(w, { 2: { kind: 'hang' } }));
    const g = gatherer(w, transport, { self: w.signers[0]! });
    const forAccept = await g.gather({ lease_hash: block.hash, block });
    expectValid(forAccept, block.hash, w.time.nowNs);
    // a retry in the same state inside the window is refused by the same rule everywhere
    const again = await rejectionOf(g.gather({ lease_hash: block.hash, block }));
    expect(failures(again).map((f) => f.code)).toContain('RATE_LIMITED');
    // the accept is committed, 5 s pass: the settle gathers at once
    for (const l of w.ledgers) l.states.set(block.hash, 'accepted');
    w.time.advanceSeconds(5);
    const forSettle = await g.gather({ lease_hash: block.hash, block });
    expectValid(forSettle, block.hash, w.time.nowNs);
    for (const a of forSettle) expect(a.timestamp).toBe(forAccept[0]!.timestamp + 5n * NS_PER_SEC);
  });

  it('validates its options', () => {
    const w = world();
    const transport = new LocalTransport(new Map());
    expect(() => new AttestationGatherer({ timekeepers: { keys: set.keys, threshold: 4 }, skewNs }, { transport, clock: w.time.clock })).toThrow(
      expect.objectContaining({ code: 'INVALID_NETWORK_PARAMS' }),
    );
    expect(() => new AttestationGatherer({ timekeepers: set, skewNs: 0n }, { transport, clock: w.time.clock })).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST' }),
    );
    expect(() => gatherer(w, transport, { perRequestTimeoutMs: 0 })).toThrow(expect.objectContaining({ field: 'perRequestTimeoutMs' }));
  });
});

describe('AttestationGatherer.requestOne', () => {
  it('signs locally when listed, rate-limiting the given requester, and passes refusals through', async () => {
    const w = world();
    const block = lease(w);
    const transport = new LocalTransport(behaviours(w));
    const g = gatherer(w, transport, { self: w.signers[0]! });
    const a = await g.requestOne(block.hash, { requester: '10.0.0.1' });
    expect(a.public_key).toBe(keys[0]!.pubKeyHex);
    expect(validateAttestations([a], block.hash, { keys: set.keys, threshold: 1 }, { now: w.time.nowNs, skewNs, checkSkew: true })).toBe(
      w.time.nowNs,
    );
    await expect(g.requestOne(block.hash, { requester: '10.0.0.1' })).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    await expect(g.requestOne(block.hash, { requester: '10.0.0.2' })).resolves.toMatchObject({ public_key: keys[0]!.pubKeyHex });
    await expect(g.requestOne('d'.repeat(64))).rejects.toMatchObject({ code: 'UNKNOWN_LEASE' });
    await expect(g.requestOne('D'.repeat(64))).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    expect(transport.calls).toHaveLength(0);
    // the HTTP path does not use up the slot of the node's own gathering
    await expect(g.gather({ lease_hash: block.hash, block })).resolves.toHaveLength(2);
  });

  it('otherwise asks the listed timekeepers in order and returns the first answer', async () => {
    const w = world();
    const block = lease(w, [1, 2]);
    const transport = new LocalTransport(behaviours(w));
    const a = await gatherer(w, transport).requestOne(block.hash, { block });
    expect(a.public_key).toBe(keys[0]!.pubKeyHex);
    expect(transport.calls.map((c) => [c.key, c.request.block !== undefined])).toEqual([
      [keys[0]!.pubKeyHex, false],
      [keys[0]!.pubKeyHex, true],
    ]);

    const t2 = new LocalTransport(behaviours(w, { 0: { kind: 'deaf' } }));
    const b = await gatherer(w, t2, { perRequestTimeoutMs: 50 }).requestOne(block.hash);
    expect(b.public_key).toBe(keys[1]!.pubKeyHex);
  });

  it('fails with TIMEKEEPER_UNAVAILABLE listing every failure when none answers', async () => {
    const w = world();
    const block = lease(w, []);
    const transport = new LocalTransport(behaviours(w, { 2: { kind: 'hang' } }));
    const err = await rejectionOf(gatherer(w, transport, { perRequestTimeoutMs: 50 }).requestOne(block.hash));
    expect(err.code).toBe('TIMEKEEPER_UNAVAILABLE');
    expect(failures(err).map((f) => f.code)).toEqual(['UNKNOWN_LEASE', 'UNKNOWN_LEASE', 'TIMEOUT']);
  });
});
