import { createHash, createPublicKey, verify } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { hexToBytes } from '@xe/core-types';
import { ReplayCache, signTunnelAuth, TunnelAuthenticator, tunnelAuthDigest, verifyTunnelAuth } from '../../src/index.js';
import { ACCESS_PUB, ACCESS_SEED, hashOf, makeLease, network, seededFake } from '../support/fake-deps.js';

const LEASE = hashOf('lease 1');
const TS = 1709500180000000001n;

describe('tunnel signatures', () => {
  it('digest = SHA-256("xe/tunnel/v1" || lease hash bytes || u64be(ts))', () => {
    const ts = Buffer.alloc(8);
    ts.writeBigUInt64BE(TS);
    const expected = createHash('sha256').update('xe/tunnel/v1').update(Buffer.from(LEASE, 'hex')).update(ts).digest();
    expect(Buffer.from(tunnelAuthDigest(LEASE, TS)).toString('hex')).toBe(expected.toString('hex'));
  });

  it('signs with the seed key so that node:crypto verifies with the raw public key', () => {
    const sig = signTunnelAuth(ACCESS_SEED, LEASE, TS);
    expect(sig).toMatch(/^[0-9a-f]{128}$/);
    const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), hexToBytes(ACCESS_PUB)]), format: 'der', type: 'spki' });
    expect(verify(null, tunnelAuthDigest(LEASE, TS), key, Buffer.from(sig, 'hex'))).toBe(true);
    expect(verifyTunnelAuth(ACCESS_PUB, LEASE, TS, sig)).toBe(true);
    expect(verifyTunnelAuth(ACCESS_PUB, LEASE, TS + 1n, sig)).toBe(false);
    expect(verifyTunnelAuth(ACCESS_PUB, hashOf('other'), TS, sig)).toBe(false);
    expect(verifyTunnelAuth(ACCESS_PUB, LEASE, TS, sig.toUpperCase())).toBe(false);
  });

  it('refuses a seed of the wrong size and a timestamp outside u64', () => {
    expect(() => signTunnelAuth(new Uint8Array(31), LEASE, TS)).toThrow('seed');
    expect(() => tunnelAuthDigest(LEASE, -1n)).toThrow('timestamp');
  });
});

describe('ReplayCache', () => {
  it('remembers a signature until its window ends, then forgets it', () => {
    const c = new ReplayCache(10);
    expect(c.add('a', 100n, 0n)).toBe(true);
    expect(c.add('a', 100n, 50n)).toBe(false);
    expect(c.has('a', 100n)).toBe(true);
    expect(c.has('a', 101n)).toBe(false);
  });

  it('is bounded: sweeps expired entries, and refuses (retryable) when full of live ones', () => {
    const c = new ReplayCache(3);
    for (const s of ['a', 'b', 'c']) c.add(s, 10n, 0n);
    expect(c.add('d', 100n, 50n)).toBe(true);
    expect(c.size).toBe(1);
    c.add('e', 100n, 50n);
    c.add('f', 100n, 50n);
    let err: unknown;
    try {
      c.add('g', 100n, 50n);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'TUNNEL_REPLAY_CACHE_FULL', retryable: true });
  });
});

describe('TunnelAuthenticator', () => {
  const deps = seededFake();
  deps.params = network(5n); // 60 s skew
  const accepted = makeLease(1, 'accepted');
  deps.leases = [accepted];
  const now = 2_000_000_000_000_000_000n;
  const auth = new TunnelAuthenticator(deps, { clock: () => now });
  const skew = deps.params.lease.max_attestation_skew_ns;

  it('accepts timestamps exactly at ±skew and refuses one past it (401)', async () => {
    for (const ts of [now - skew, now + skew]) {
      await expect(auth.check(accepted.lease_hash, String(ts), signTunnelAuth(ACCESS_SEED, accepted.lease_hash, ts), true)).resolves.toMatchObject({ timestamp: ts });
    }
    const stale = now - skew - 1n;
    await expect(auth.check(accepted.lease_hash, String(stale), signTunnelAuth(ACCESS_SEED, accepted.lease_hash, stale), true)).rejects.toMatchObject({
      code: 'TUNNEL_TIMESTAMP_STALE',
    });
  });

  it('refuses malformed timestamps (401) and a replay (403); a dry check does not spend the signature', async () => {
    for (const bad of ['-1', '1.5', '0x10', '99999999999999999999999', ' 1']) {
      await expect(auth.check(accepted.lease_hash, bad, 'ab'.repeat(64), true)).rejects.toMatchObject({ code: 'TUNNEL_TIMESTAMP_STALE' });
    }
    const ts = now - 5n;
    const sig = signTunnelAuth(ACCESS_SEED, accepted.lease_hash, ts);
    await auth.check(accepted.lease_hash, String(ts), sig, false);
    await auth.check(accepted.lease_hash, String(ts), sig, true);
    await expect(auth.check(accepted.lease_hash, String(ts), sig, true)).rejects.toMatchObject({ code: 'TUNNEL_SIGNATURE_REPLAYED' });
    await expect(auth.check(accepted.lease_hash, String(ts), sig, false)).rejects.toMatchObject({ code: 'TUNNEL_SIGNATURE_REPLAYED' });
  });
});
