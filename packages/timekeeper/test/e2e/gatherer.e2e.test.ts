import { afterEach, describe, expect, it } from '@jest/globals';
import { type LeaseBlock, NS_PER_SEC, } from '@xe/core-types';
import { validateAttestations } from '@xe/crypto';
import { AttestationGatherer, AttestationSigner, } from '../../src/index.js';
import { FakeLedger } from '../support/fake-ledger.js';
import { expectValid, failures, gathererNet, ManualClock, makeLeaseBlock, rejectionOf, } from '../support/fixtures.js';
import { HttpAttestationTransport, HttpTimekeeper, type HttpTimekeeperOptions } from '../support/http-timekeeper.js';

const { keys, set, skewNs, consumer, provider } = gathererNet;

const open: HttpTimekeeper[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

interface Network {
  time: ManualClock;
  ledgers: FakeLedger[];
  signers: AttestationSigner[];
  servers: HttpTimekeeper[];
  transport: HttpAttestationTransport;
  block: LeaseBlock;
}

/** Three timekeepers, each a real signer behind its own HTTP server on 127.0.0.1. */
async function network(opts: { knownBy?: number[]; server?: Record<number, HttpTimekeeperOptions>; durationSecs?: bigint } = {}): Promise<Network> {
  const time = new ManualClock();
  const block = makeLeaseBlock(consumer, provider, time.nowNs, opts.durationSecs ?? 60n);
  const ledgers = keys.map(() => new FakeLedger());
  for (const i of opts.knownBy ?? [0, 1, 2]) ledgers[i]!.states.set(block.hash, 'created');
  const signers = keys.map(
    (key, i) => new AttestationSigner({ key, timekeepers: set }, { clock: time.clock, leaseState: ledgers[i]!.leaseState, ingest: ledgers[i]!.ingest }),
  );
  const servers = await Promise.all(signers.map((s, i) => HttpTimekeeper.start(s, opts.server?.[i] ?? {})));
  open.push(...servers);
  const transport = new HttpAttestationTransport(new Map(servers.map((s, i) => [keys[i]!.pubKeyHex, s.port])), 'provider-peer');
  return { time, ledgers, signers, servers, transport, block };
}

function gatherer(n: Network, extra: { self?: AttestationSigner; perRequestTimeoutMs?: number; overallTimeoutMs?: number } = {}) {
  return new AttestationGatherer({ timekeepers: set, skewNs, ...extra }, { transport: n.transport, clock: n.time.clock });
}




describe('gathering over real sockets: three timekeepers, threshold 2', () => {
  it('all up: two distinct valid attestations', async () => {
    const n = await network();
    const got = await gatherer(n).gather({ lease_hash: n.block.hash, block: n.block });
    expect(new Set(got.map((a) => a.public_key)).size).toBe(2);
    expectValid(got, n.block.hash, n.time.nowNs);
  });

  it('one down: succeeds with the other two', async () => {
    const n = await network();
    await n.servers[0]!.close();
    const got = await gatherer(n).gather({ lease_hash: n.block.hash, block: n.block });
    expect(got.map((a) => a.public_key).sort()).toEqual([keys[1]!.pubKeyHex, keys[2]!.pubKeyHex].sort());
    expectValid(got, n.block.hash, n.time.nowNs);
  });

  it('two down: TIMEKEEPER_UNAVAILABLE naming both, well within 15 s', async () => {
    const n = await network();
    await n.servers[0]!.close();
    await n.servers[2]!.close();
    const started = Date.now();
    const err = await rejectionOf(gatherer(n).gather({ lease_hash: n.block.hash, block: n.block }));
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(err.code).toBe('TIMEKEEPER_UNAVAILABLE');
    const failed = failures(err).filter((f) => f.code === 'UNREACHABLE');
    expect(failed.map((f) => f.public_key).sort()).toEqual([keys[0]!.pubKeyHex, keys[2]!.pubKeyHex].sort());
    expect(err.message).toContain(keys[0]!.pubKeyHex.slice(0, 12));
    expect(err.message).toContain(keys[2]!.pubKeyHex.slice(0, 12));
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('two unresponsive: fails at the 10 s per-request timeout, inside the 15 s bound', async () => {
    const n = await network({ server: { 0: { delayMs: 60_000 }, 2: { delayMs: 60_000 } } });
    const started = Date.now();
    const err = await rejectionOf(gatherer(n).gather({ lease_hash: n.block.hash, block: n.block }));
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(9_900);
    expect(elapsed).toBeLessThan(15_000);
    expect(err.code).toBe('TIMEKEEPER_UNAVAILABLE');
    expect(failures(err).filter((f) => f.code === 'TIMEOUT').map((f) => f.public_key).sort()).toEqual(
      [keys[0]!.pubKeyHex, keys[2]!.pubKeyHex].sort(),
    );
    // the abandoned requests were cancelled on the wire
    await n.servers[0]!.waitAbandoned(1);
    await n.servers[2]!.waitAbandoned(1);
  }, 20_000);

  it('a slow timekeeper does not delay the result once the threshold is met', async () => {
    const n = await network({ server: { 1: { delayMs: 8_000 } } });
    const started = Date.now();
    const got = await gatherer(n).gather({ lease_hash: n.block.hash, block: n.block });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(got.map((a) => a.public_key)).not.toContain(keys[1]!.pubKeyHex);
    expectValid(got, n.block.hash, n.time.nowNs);
    // its request is aborted rather than left running
    await n.servers[1]!.waitAbandoned(1);
    expect(n.servers[1]!.received).toBe(1);
  });

  it('a timekeeper that lacks the lease learns it from the retried request and signs', async () => {
    const n = await network({ knownBy: [0] });
    await n.servers[2]!.close();
    const got = await gatherer(n).gather({ lease_hash: n.block.hash, block: n.block });
    expect(got.map((a) => a.public_key).sort()).toEqual([keys[0]!.pubKeyHex, keys[1]!.pubKeyHex].sort());
    expect(n.ledgers[1]!.ingested).toEqual([n.block.hash]);
    expect(n.servers[1]!.received).toBe(2);
    expectValid(got, n.block.hash, n.time.nowNs);
  });

  it('a timekeeper node gathers for accept and, after the state changed, for settle of a 5-second lease', async () => {
    const n = await network({ durationSecs: 5n });
    await n.servers[2]!.close();
    // node 0 is itself a timekeeper: it signs for itself and asks node 1 over the socket
    const g = gatherer(n, { self: n.signers[0]! });
    const forAccept = await g.gather({ lease_hash: n.block.hash, block: n.block });
    expectValid(forAccept, n.block.hash, n.time.nowNs);
    expect(n.servers[0]!.received).toBe(0);

    for (const l of n.ledgers) l.states.set(n.block.hash, 'accepted');
    n.time.advanceSeconds(5);
    const forSettle = await g.gather({ lease_hash: n.block.hash, block: n.block });
    expectValid(forSettle, n.block.hash, n.time.nowNs);
    for (const a of forSettle) expect(a.timestamp).toBe(n.time.nowNs);
    expect(n.time.nowNs - forAccept[0]!.timestamp).toBe(5n * NS_PER_SEC);

    // once settled, nobody signs for it any more
    for (const l of n.ledgers) l.states.set(n.block.hash, 'settled');
    n.time.advanceSeconds(60);
    const err = await rejectionOf(g.gather({ lease_hash: n.block.hash, block: n.block }));
    expect(err.code).toBe('TIMEKEEPER_UNAVAILABLE');
    expect(failures(err)).toContainEqual(expect.objectContaining({ public_key: keys[0]!.pubKeyHex, code: 'LEASE_NOT_ATTESTABLE' }));
    await expect(n.transport.requestAttestation(keys[1]!.pubKeyHex, { lease_hash: n.block.hash }, { signal: new AbortController().signal })).rejects.toMatchObject({
      code: 'LEASE_NOT_ATTESTABLE',
    });
  });

  it('requestOne asks the listed timekeepers in order and returns the first answer', async () => {
    const n = await network();
    await n.servers[0]!.close();
    const a = await gatherer(n).requestOne(n.block.hash);
    expect(a.public_key).toBe(keys[1]!.pubKeyHex);
    expect(validateAttestations([a], n.block.hash, { keys: set.keys, threshold: 1 }, { now: n.time.nowNs, skewNs, checkSkew: true })).toBe(
      n.time.nowNs,
    );
    await n.servers[1]!.close();
    await n.servers[2]!.close();
    const err = await rejectionOf(gatherer(n).requestOne(n.block.hash));
    expect(err.code).toBe('TIMEKEEPER_UNAVAILABLE');
    expect(failures(err).map((f) => f.code)).toEqual(['UNREACHABLE', 'UNREACHABLE', 'UNREACHABLE']);
  });
});
