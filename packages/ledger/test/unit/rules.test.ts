import { describe, expect, it } from '@jest/globals';
import type { Block, Certificate, UnsignedBlock } from '@xe/core-types';
import { signBlock } from '@xe/crypto';
import {
  buildAccept,
  buildCancel,
  cancelOpensAt,
  buildForceSettle,
  buildLease,
  buildReceive,
  buildSend,
  buildSettle,
  emptyHead,
  type LeaseRecord,
  LedgerErrorCodes as C,
  type Origin,
} from '../../src/index.js';
import {
  attest,
  certificateFor,
  digest,
  expectAccepted,
  head,
  K,
  LEASE,
  NETWORK,
  S,
  seal,
  submit,
  T0,
  type World,
  world,
  XUSD,
} from '../helpers.js';

type Mut = (b: Record<string, unknown>) => void;

/** Seals `unsigned` after applying `mutate`, submits it, expects `code`, and checks nothing changed. */
async function expectRejected(w: World, unsigned: UnsignedBlock, key: typeof K.alice, code: string, mutate?: Mut, origin: Origin = 'live') {
  const copy = { ...unsigned } as Record<string, unknown>;
  mutate?.(copy);
  const before = await digest(w);
  const r = await w.ledger.addBlock(await seal(copy as unknown as UnsignedBlock, key), { origin });
  expect(r.status).toBe('rejected');
  if (r.status === 'rejected') expect(r.code).toBe(code);
  expect(await digest(w)).toBe(before);
  if (r.status !== 'rejected') throw new Error('expected a rejection');
  return r;
}

async function withCert(w: World, key = K.prov, opts: Parameters<typeof certificateFor>[1] = {}): Promise<Certificate> {
  const cert = certificateFor(key, opts);
  const r = await w.ledger.addCertificate(cert);
  expect(r.status === 'accepted' || r.status === 'duplicate').toBe(true);
  return cert;
}

const RES = { vcpus: 1n, memory_mb: 1024n, disk_gb: 10n, duration: 3600n, access_pub_key: K.carol.pubKeyHex };

async function leaseBlock(w: World, cert: Certificate, ts = T0, consumer = K.alice) {
  return buildLease(await head(w.ledger, consumer), { certificate: cert, ...RES, timestamp: ts });
}

async function makeLease(w: World, ts = T0): Promise<LeaseRecord> {
  const cert = await withCert(w);
  const r = expectAccepted(await submit(w.ledger, await leaseBlock(w, cert, ts), K.alice, 'live'));
  return (await w.ledger.getLease(r.hash))!;
}

async function makeAccepted(w: World, start = T0 + 10n * S): Promise<LeaseRecord> {
  const lease = await makeLease(w);
  w.clock.now = start;
  const acc = buildAccept(await head(w.ledger, K.prov), lease, { attestations: attest(lease.hash, start), timestamp: start }, LEASE);
  expectAccepted(await submit(w.ledger, acc, K.prov, 'live'));
  return (await w.ledger.getLease(lease.hash))!;
}

describe('admission (SPEC §3.4)', () => {
  it('rejects a bad shape, a wrong hash, missing or weak PoW, a bad signature; duplicates are idempotent', async () => {
    const w = await world();
    const send = buildSend(await head(w.ledger, K.alice), { destination: K.bob.address, asset: 'XUSD', amount: 5n, timestamp: T0 });
    const good = await seal(send, K.alice);
    const before = await digest(w);
    const cases: [unknown, string][] = [
      [{ ...good, hash: good.hash.toUpperCase() }, C.BAD_SHAPE],
      [{ ...good, extra: 1n }, C.BAD_SHAPE],
      [{ ...good, amount: 6n }, C.HASH_MISMATCH],
      [{ ...good, pow_nonce: undefined }, C.POW_INVALID],
      [{ ...good, signature: signBlock(send, K.bob, NETWORK).signature }, C.SIGNATURE_INVALID],
    ];
    for (const [b, code] of cases) {
      const r = await w.ledger.addBlock(b as Block, { origin: 'live' });
      expect(r).toMatchObject({ status: 'rejected', code, retryable: false });
    }
    // a nonce that fails the difficulty
    let weak = good;
    for (let n = 0n; ; n++) {
      const c = { ...good, pow_nonce: n };
      const r = await w.ledger.addBlock(c, { origin: 'live' });
      if (r.status === 'rejected') {
        expect(r.code).toBe(C.POW_INVALID);
        weak = c;
        break;
      }
    }
    expect(weak.pow_nonce).not.toBe(good.pow_nonce);
    expect(await digest(w)).toBe(before);
    expect((await w.ledger.addBlock(good, { origin: 'live' })).status).toBe('accepted');
    expect(await w.ledger.addBlock(good, { origin: 'live' })).toEqual({ status: 'duplicate', hash: good.hash });
    expect((await w.ledger.addBlockJson('{"type":"send"')).status).toBe('rejected');
    expect(await w.ledger.addBlockJson({ type: 'nope' })).toMatchObject({ status: 'rejected', code: C.BAD_SHAPE });
  });

  it('checks live timestamps against the clock; synced history skips it', async () => {
    const w = await world();
    const send = buildSend(await head(w.ledger, K.alice), { destination: K.bob.address, asset: 'XUSD', amount: 5n, timestamp: T0 + 3601n * S });
    await expectRejected(w, send, K.alice, C.TIMESTAMP_OUT_OF_RANGE);
    expectAccepted(await submit(w.ledger, send, K.alice, 'sync'));
  });

  it('enforces chain position: unknown previous (retryable), opening rules, fork recorded, timestamp order', async () => {
    const w = await world();
    const h = await head(w.ledger, K.alice);
    const a = buildSend(h, { destination: K.bob.address, asset: 'XUSD', amount: 5n, timestamp: T0 });
    const b = buildSend(h, { destination: K.carol.address, asset: 'XUSD', amount: 7n, timestamp: T0 });
    const r = await expectRejected(w, a, K.alice, C.UNKNOWN_PREVIOUS, (x) => (x.previous = 'ab'.repeat(32)));
    expect(r.retryable).toBe(true);
    await expectRejected(w, a, K.alice, C.TIMESTAMP_BEFORE_PREVIOUS, (x) => (x.timestamp = T0 - 7200n * S), 'sync');
    await expectRejected(w, a, K.alice, C.UNEXPECTED_PUB_KEY, (x) => (x.pub_key = K.alice.pubKeyHex));
    const first = expectAccepted(await submit(w.ledger, a, K.alice, 'live'));
    // a second block on the same previous: first seen wins, conflict recorded
    const fork = await w.ledger.addBlock(await seal(b, K.alice), { origin: 'live' });
    expect(fork).toMatchObject({ status: 'rejected', code: C.FORK, retryable: false });
    const conflicts = await w.ledger.conflicts();
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatchObject({ account: K.alice.address, existing: first.hash, rejected: fork.hash });
    // an unknown account without pub_key, and an opening block with a foreign key
    const dave = emptyHead(K.bob.address.replace(/^../, '00'), K.bob.pubKeyHex);
    const r2 = await w.ledger.addBlock(await seal({ ...buildSend(await head(w.ledger, K.bob), { destination: K.alice.address, asset: 'XUSD', amount: 1n, timestamp: T0 }), previous: 'cd'.repeat(32) } as UnsignedBlock, K.bob), { origin: 'live' });
    expect(r2).toMatchObject({ code: C.UNKNOWN_PREVIOUS, retryable: true });
    await expectRejected(w, { ...buildReceive(dave, { hash: first.hash, from: K.alice.address, to: dave.address, asset: 'XUSD', amount: 5n }, T0) } as UnsignedBlock, K.bob, C.PUB_KEY_MISMATCH);
    expect((await w.ledger.checkConsistency()).problems).toEqual([]);
  });

  it('serializes concurrent admissions of the same chain', async () => {
    const w = await world();
    const h = await head(w.ledger, K.alice);
    const a = await seal(buildSend(h, { destination: K.bob.address, asset: 'XUSD', amount: 5n, timestamp: T0 }), K.alice);
    const results = await Promise.all([1, 2, 3].map(() => w.ledger.addBlock(a, { origin: 'live' })));
    expect(results.map((r) => r.status).sort()).toEqual(['accepted', 'duplicate', 'duplicate']);
  });
});

describe('send and receive', () => {
  it('send: amount, balance, destination', async () => {
    const w = await world();
    const h = await head(w.ledger, K.alice);
    const send = buildSend(h, { destination: K.bob.address, asset: 'XUSD', amount: XUSD(10n), timestamp: T0 });
    await expectRejected(w, send, K.alice, C.BALANCE_MISMATCH, (x) => (x.balance = (x.balance as bigint) + 1n));
    await expectRejected(w, send, K.alice, C.INVALID_AMOUNT, (x) => {
      x.amount = 0n;
      x.balance = h.balances.XUSD;
    });
    await expectRejected(w, send, K.alice, C.INSUFFICIENT_BALANCE, (x) => {
      x.amount = h.balances.XUSD + 1n;
      x.balance = 0n;
    });
    await expectRejected(w, send, K.alice, C.SELF_DESTINATION, (x) => (x.destination = K.alice.address));
    expectAccepted(await submit(w.ledger, send, K.alice, 'live'));
    expect((await w.ledger.getAccount(K.alice.address))?.balances.XUSD).toBe(h.balances.XUSD - XUSD(10n));
  });

  it('receive: pending source, asset, amount, no double receive, not a lease escrow', async () => {
    const w = await world();
    const send = expectAccepted(
      await submit(w.ledger, buildSend(await head(w.ledger, K.alice), { destination: K.bob.address, asset: 'XE', amount: 77n, timestamp: T0 }), K.alice, 'live'),
    );
    const [p] = await w.ledger.pendingFor(K.bob.address);
    expect(p).toEqual({ hash: send.hash, from: K.alice.address, to: K.bob.address, asset: 'XE', amount: 77n });
    const rec = buildReceive(await head(w.ledger, K.bob), p!, T0);
    const r = await expectRejected(w, rec, K.bob, C.UNKNOWN_SOURCE, (x) => (x.source = 'ee'.repeat(32)));
    expect(r.retryable).toBe(true);
    await expectRejected(w, rec, K.bob, C.WRONG_ASSET, (x) => {
      x.asset = 'XUSD';
    });
    await expectRejected(w, rec, K.bob, C.BALANCE_MISMATCH, (x) => (x.balance = 78n));
    await expectRejected(w, rec, K.carol, C.SOURCE_NOT_RECEIVABLE, (x) => {
      x.account = K.carol.address;
      x.previous = w.bundle.blocks[0]!.hash;
    }).catch(() => undefined);
    const carolRec = buildReceive(await head(w.ledger, K.carol), p!, T0);
    await expectRejected(w, carolRec, K.carol, C.SOURCE_NOT_RECEIVABLE);
    expectAccepted(await submit(w.ledger, rec, K.bob, 'live'));
    expect(await w.ledger.pendingFor(K.bob.address)).toEqual([]);
    const again = buildReceive(await head(w.ledger, K.bob), p!, T0);
    await expectRejected(w, again, K.bob, C.ALREADY_RECEIVED);
    // a lease escrow is not receivable
    const lease = await makeLease(w);
    await expectRejected(w, buildReceive(await head(w.ledger, K.prov), { ...p!, hash: lease.hash, asset: 'XUSD' }, T0), K.prov, C.SOURCE_NOT_RECEIVABLE);
    expect((await w.ledger.checkConsistency()).problems).toEqual([]);
  });
});

describe('lease (SPEC §5)', () => {
  it('accepts a valid lease and rejects each way of breaking it', async () => {
    const w = await world();
    const cert = await withCert(w);
    const lb = await leaseBlock(w, cert);
    await expectRejected(w, lb, K.alice, C.WRONG_ASSET, (x) => (x.asset = 'XE'));
    await expectRejected(w, lb, K.alice, C.SELF_DESTINATION, (x) => (x.destination = K.alice.address));
    await expectRejected(w, lb, K.alice, C.INVALID_RESOURCES, (x) => Object.assign(x, { vcpus: 0n, memory_mb: 0n, disk_gb: 0n }));
    await expectRejected(w, lb, K.alice, C.INVALID_RESOURCES, (x) => (x.vcpus = 4097n));
    await expectRejected(w, lb, K.alice, C.INVALID_RESOURCES, (x) => (x.memory_mb = 67_108_865n));
    await expectRejected(w, lb, K.alice, C.INVALID_RESOURCES, (x) => (x.disk_gb = 1_048_577n));
    await expectRejected(w, lb, K.alice, C.DURATION_OUT_OF_RANGE, (x) => (x.duration = LEASE.min_duration_secs - 1n));
    await expectRejected(w, lb, K.alice, C.DURATION_OUT_OF_RANGE, (x) => (x.duration = 31_536_001n));
    const unknown = await expectRejected(w, lb, K.alice, C.UNKNOWN_CERTIFICATE, (x) => (x.certificate_hash = 'ab'.repeat(32)));
    expect(unknown.retryable).toBe(true);
    const other = await withCert(w, K.prov2);
    await expectRejected(w, lb, K.alice, C.CERTIFICATE_MISMATCH, (x) => (x.certificate_hash = other.hash));
    const old = await withCert(w, K.prov, { issued: T0 - 8n * 24n * 3600n * S, expires: T0 - S });
    await expectRejected(w, lb, K.alice, C.CERTIFICATE_EXPIRED, (x) => (x.certificate_hash = old.hash));
    await expectRejected(w, lb, K.alice, C.COST_MISMATCH, (x) => {
      x.amount = (x.amount as bigint) - 1n;
      x.balance = (x.balance as bigint) + 1n;
    });
    await expectRejected(w, lb, K.alice, C.BALANCE_MISMATCH, (x) => (x.balance = (x.balance as bigint) - 1n));
    // a multiplier changes the cost
    const pricey = await withCert(w, K.prov, { multiplier: 2500n });
    const lb2 = buildLease(await head(w.ledger, K.alice), { certificate: pricey, ...RES, disk_gb: 1n, timestamp: T0 });
    expect((lb2 as { amount: bigint }).amount).toBe(77500n);
    // balance must cover the cost
    const rich = { ...(await head(w.ledger, K.alice)), balances: { XE: 0n, XUSD: 10n ** 15n } };
    const huge = buildLease(rich, { certificate: cert, ...RES, vcpus: 4096n, duration: 31_536_000n, timestamp: T0 });
    await expectRejected(w, { ...huge, balance: 0n } as UnsignedBlock, K.alice, C.INSUFFICIENT_BALANCE);
    const r = expectAccepted(await submit(w.ledger, lb, K.alice, 'live'));
    const lease = (await w.ledger.getLease(r.hash))!;
    expect(lease).toMatchObject({ state: 'created', cost: 40000n, stake: 8000n, emission: 80000n, multiplier_milli: 1000n, start_time: 0n });
    expect((await w.ledger.supply('XUSD')).pending).toBe(40000n);
  });

  it('lease_accept: provider, state, stake, certificate, R, attestations, accept window', async () => {
    const w = await world();
    const lease = await makeLease(w);
    const start = T0 + 10n * S;
    w.clock.now = start;
    const acc = buildAccept(await head(w.ledger, K.prov), lease, { attestations: attest(lease.hash, start), timestamp: start }, LEASE);
    await expectRejected(w, acc, K.prov, C.WRONG_ASSET, (x) => (x.asset = 'XE'));
    const unk = await expectRejected(w, acc, K.prov, C.UNKNOWN_SOURCE, (x) => (x.source = 'ab'.repeat(32)));
    expect(unk.retryable).toBe(true);
    await expectRejected(w, acc, K.prov, C.NOT_A_LEASE, (x) => (x.source = w.bundle.blocks[2]!.hash));
    const bobAcc = buildAccept(await head(w.ledger, K.bob), lease, { attestations: attest(lease.hash, start), timestamp: start }, LEASE);
    await expectRejected(w, bobAcc, K.bob, C.WRONG_SIGNER);
    await expectRejected(w, acc, K.prov, C.STAKE_MISMATCH, (x) => {
      x.amount = lease.stake - 1n;
      x.balance = (x.balance as bigint) + 1n;
    });
    await expectRejected(w, acc, K.prov, C.CERTIFICATE_MISMATCH, (x) => (x.certificate_hash = 'ab'.repeat(32)));
    await expectRejected(w, acc, K.prov, C.LOCKED_R_MISMATCH, (x) => (x.locked_r = 1000n));
    await expectRejected(w, acc, K.prov, C.ATTESTATIONS_INVALID, (x) => (x.attestations = attest(lease.hash, start, [K.tk1])));
    await expectRejected(w, acc, K.prov, C.ATTESTATIONS_INVALID, (x) => (x.attestations = attest(lease.hash, start, [K.tk1, K.bob])));
    await expectRejected(w, acc, K.prov, C.ATTESTATIONS_INVALID, (x) => (x.attestations = attest('ab'.repeat(32), start)));
    // live: attestations outside the skew do not count; synced history skips the skew
    const stale = start - LEASE.max_attestation_skew_ns - 5n * S;
    await expectRejected(w, acc, K.prov, C.ATTESTATIONS_INVALID, (x) => (x.attestations = attest(lease.hash, stale)));
    const late = T0 + LEASE.accept_window_ns + S;
    w.clock.now = late;
    await expectRejected(w, acc, K.prov, C.ACCEPT_WINDOW_PASSED, (x) => {
      x.attestations = attest(lease.hash, late);
      x.timestamp = late;
    });
    w.clock.now = start;
    await expectRejected(w, acc, K.prov, C.BALANCE_MISMATCH, (x) => (x.balance = 0n));
    expectAccepted(await submit(w.ledger, acc, K.prov, 'live'));
    const after = (await w.ledger.getLease(lease.hash))!;
    expect(after).toMatchObject({ state: 'accepted', start_time: start, expiry: start + 3600n * S });
    // accept twice
    await expectRejected(w, buildAccept(await head(w.ledger, K.prov), lease, { attestations: attest(lease.hash, start), timestamp: start }, LEASE), K.prov, C.LEASE_STATE);
    expect(await w.ledger.providerUsage(K.prov.address)).toEqual({ vcpus: 1, memory_mb: 1024, disk_gb: 10, active_leases: 1 });
  });

  it('lease_settle: window, emission, asset, signer, double settle', async () => {
    const w = await world();
    const lease = await makeAccepted(w);
    const early = lease.expiry - S;
    w.clock.now = early;
    const mk = async (t: bigint) => buildSettle(await head(w.ledger, K.prov), lease, { attestations: attest(lease.hash, t), timestamp: t });
    await expectRejected(w, await mk(early), K.prov, C.SETTLE_TOO_EARLY);
    const tooLate = lease.expiry + LEASE.settle_grace_ns + S;
    w.clock.now = tooLate;
    await expectRejected(w, await mk(tooLate), K.prov, C.SETTLE_TOO_LATE);
    const t = lease.expiry + 5n * S;
    w.clock.now = t;
    const ok = await mk(t);
    await expectRejected(w, ok, K.prov, C.WRONG_ASSET, (x) => (x.asset = 'XUSD'));
    await expectRejected(w, ok, K.prov, C.EMISSION_MISMATCH, (x) => {
      x.amount = lease.emission + 1n;
      x.balance = (x.balance as bigint) + 1n;
    });
    await expectRejected(w, ok, K.prov, C.BALANCE_MISMATCH, (x) => (x.balance = 1n));
    await expectRejected(w, ok, K.prov, C.ATTESTATIONS_INVALID, (x) => (x.attestations = []));
    const bob = buildSettle(await head(w.ledger, K.bob), lease, { attestations: attest(lease.hash, t), timestamp: t });
    await expectRejected(w, bob, K.bob, C.WRONG_SIGNER);
    expectAccepted(await submit(w.ledger, ok, K.prov, 'live'));
    await expectRejected(w, await mk(t + S), K.prov, C.LEASE_STATE);
  });

  it('lease_cancel: attested time decides, never the consumer timestamp; after accept, signer', async () => {
    const w = await world();
    const lease = await makeLease(w);
    const opens = T0 + LEASE.accept_window_ns + LEASE.max_attestation_skew_ns;
    expect(cancelOpensAt(lease.timestamp, LEASE)).toBe(opens);
    const mk = async (t: bigint, atts: ReturnType<typeof attest>, key = K.alice) => buildCancel(await head(w.ledger, key), lease, { attestations: atts, timestamp: t });
    // one second after the lease, post-dated past the window (within the ±1 h live check): no attestations, too few, unlisted
    w.clock.now = T0 + S;
    const postDated = opens + S;
    await expectRejected(w, await mk(postDated, []), K.alice, C.ATTESTATIONS_INVALID);
    await expectRejected(w, await mk(postDated, attest(lease.hash, T0 + S, [K.tk1])), K.alice, C.ATTESTATIONS_INVALID);
    await expectRejected(w, await mk(postDated, attest(lease.hash, postDated, [K.alice, K.bob])), K.alice, C.ATTESTATIONS_INVALID);
    // honest attestations of that moment: refused whatever the block's timestamp, live or synced
    await expectRejected(w, await mk(postDated, attest(lease.hash, T0 + S)), K.alice, C.CANCEL_TOO_EARLY);
    await expectRejected(w, await mk(postDated, attest(lease.hash, T0 + S)), K.alice, C.CANCEL_TOO_EARLY, undefined, 'sync');
    // attestations for another lease do not verify for this one
    await expectRejected(w, await mk(postDated, attest('ab'.repeat(32), opens)), K.alice, C.ATTESTATIONS_INVALID, undefined, 'sync');
    // forged future attestations are outside the skew on a live block
    await expectRejected(w, await mk(T0 + S, attest(lease.hash, opens)), K.alice, C.ATTESTATIONS_INVALID);
    // one nanosecond before the window opens, by attested time
    w.clock.now = opens - 1n;
    await expectRejected(w, await mk(opens - 1n, attest(lease.hash, opens - 1n)), K.alice, C.CANCEL_TOO_EARLY);
    // the consumer's own timestamp may be anything ≥ its previous block: attested time at the edge is enough
    w.clock.now = opens;
    const ok = await mk(opens, attest(lease.hash, opens));
    await expectRejected(w, ok, K.alice, C.BALANCE_MISMATCH, (x) => (x.balance = 0n));
    await expectRejected(w, await mk(opens, attest(lease.hash, opens), K.prov), K.prov, C.WRONG_SIGNER);
    const r = expectAccepted(await submit(w.ledger, ok, K.alice, 'live'));
    expect((await w.ledger.getLease(lease.hash))!).toMatchObject({ state: 'cancelled', cancel_hash: r.hash, closed_at: opens });
    await expectRejected(w, await mk(opens, attest(lease.hash, opens)), K.alice, C.LEASE_STATE);

    const w2 = await world();
    const accepted = await makeAccepted(w2);
    w2.clock.now = opens;
    await expectRejected(w2, buildCancel(await head(w2.ledger, K.alice), accepted, { attestations: attest(accepted.hash, opens), timestamp: opens }), K.alice, C.LEASE_STATE);
  });

  it('lease_force_settle: a synced block is held to the attested window too', async () => {
    const w = await world();
    const lease = await makeAccepted(w);
    const open = lease.expiry + LEASE.settle_grace_ns + LEASE.force_settle_gap_ns;
    const mk = async (t: bigint, stamp: bigint) => buildForceSettle(await head(w.ledger, K.alice), lease, { attestations: attest(lease.hash, t), timestamp: stamp });
    w.clock.now = lease.expiry + S;
    // post-dated block, attested inside the settle grace: refused live and synced
    await expectRejected(w, await mk(lease.expiry + S, open + S), K.alice, C.FORCE_SETTLE_WINDOW);
    await expectRejected(w, await mk(lease.expiry + S, open + S), K.alice, C.FORCE_SETTLE_WINDOW, undefined, 'sync');
    await expectRejected(w, await mk(open - 1n, open), K.alice, C.FORCE_SETTLE_WINDOW, undefined, 'sync');
    expectAccepted(await submit(w.ledger, await mk(open, lease.expiry + S), K.alice, 'sync'));
  });

  it('lease_force_settle: dead zone, window end, state, signer', async () => {
    const w = await world();
    const lease = await makeAccepted(w);
    const mk = async (t: bigint, key = K.alice) => {
      w.clock.now = t;
      return buildForceSettle(await head(w.ledger, key), lease, { attestations: attest(lease.hash, t), timestamp: t });
    };
    const open = lease.expiry + LEASE.settle_grace_ns + LEASE.force_settle_gap_ns;
    // inside the settle grace and in the dead zone after it
    await expectRejected(w, await mk(lease.expiry + S), K.alice, C.FORCE_SETTLE_WINDOW);
    await expectRejected(w, await mk(open - 1n), K.alice, C.FORCE_SETTLE_WINDOW);
    await expectRejected(w, await mk(lease.expiry + LEASE.escrow_expiry_ns), K.alice, C.FORCE_SETTLE_WINDOW);
    await expectRejected(w, await mk(open, K.bob), K.bob, C.WRONG_SIGNER);
    const ok = await mk(open);
    await expectRejected(w, ok, K.alice, C.WRONG_ASSET, (x) => (x.asset = 'XE'));
    expectAccepted(await submit(w.ledger, ok, K.alice, 'live'));
    await expectRejected(w, await mk(open + S), K.alice, C.LEASE_STATE);
  });

  it('genesis blocks are refused outside the bundle', async () => {
    const w = await world();
    const r = await w.ledger.addBlock(w.bundle.blocks[0]!, { origin: 'live' });
    expect(r.status).toBe('duplicate');
    const g = signBlock({ type: 'genesis', account: K.bob.address, previous: '0', balance: 5n, timestamp: T0, asset: 'XE', pub_key: K.bob.pubKeyHex }, K.bob, NETWORK);
    const before = await digest(w);
    expect(await w.ledger.addBlock(g as Block, { origin: 'sync' })).toMatchObject({ status: 'rejected', code: C.GENESIS_NOT_ALLOWED });
    expect(await digest(w)).toBe(before);
  });
});
