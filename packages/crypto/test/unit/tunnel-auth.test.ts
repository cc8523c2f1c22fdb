import { createHash, createPublicKey, verify } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  ed25519SpkiDer,
  keyPairFromSeed,
  ReplayCache,
  signTunnelAuth,
  TunnelAuthChecker,
  tunnelAuthDigest,
  tunnelAuthHeaders,
  verifyTunnelAuth,
} from '../../src/index.js';
import { LEASE_HASH, seedOf } from '../support/fixtures.js';

const ACCESS = keyPairFromSeed(seedOf(0x61));
const TS = 1709500180000000001n;
const frame = (timestamp: bigint, signature = signTunnelAuth(ACCESS, LEASE_HASH, timestamp)) => ({ lease_hash: LEASE_HASH, timestamp, signature });

describe('tunnel signatures (SPEC §11)', () => {
  it('digest = SHA-256("xe/tunnel/v1" || lease hash bytes || u64be(ts))', () => {
    const ts = Buffer.alloc(8);
    ts.writeBigUInt64BE(TS);
    const expected = createHash('sha256').update('xe/tunnel/v1').update(Buffer.from(LEASE_HASH, 'hex')).update(ts).digest();
    expect(Buffer.from(tunnelAuthDigest(LEASE_HASH, TS)).toString('hex')).toBe(expected.toString('hex'));
  });

  it('signs so that node:crypto verifies with the raw public key; verify refuses any change', () => {
    const sig = signTunnelAuth(ACCESS, LEASE_HASH, TS);
    expect(sig).toMatch(/^[0-9a-f]{128}$/);
    const key = createPublicKey({ key: ed25519SpkiDer(ACCESS.publicKey), format: 'der', type: 'spki' });
    expect(verify(null, tunnelAuthDigest(LEASE_HASH, TS), key, Buffer.from(sig, 'hex'))).toBe(true);
    expect(verifyTunnelAuth(frame(TS, sig), ACCESS.pubKeyHex)).toBe(true);
    expect(verifyTunnelAuth(frame(TS + 1n, sig), ACCESS.pubKeyHex)).toBe(false);
    expect(verifyTunnelAuth({ ...frame(TS, sig), lease_hash: 'f'.repeat(64) }, ACCESS.pubKeyHex)).toBe(false);
    expect(verifyTunnelAuth(frame(TS, sig.toUpperCase()), ACCESS.pubKeyHex)).toBe(false);
    expect(verifyTunnelAuth(frame(TS, sig), keyPairFromSeed(seedOf(0x62)).pubKeyHex)).toBe(false);
    expect(tunnelAuthHeaders(ACCESS, LEASE_HASH, TS)).toEqual({ 'X-Timestamp': String(TS), 'X-Signature': sig });
  });

  it('refuses a malformed lease hash and a timestamp outside u64 with coded errors', () => {
    expect(() => tunnelAuthDigest(LEASE_HASH, -1n)).toThrow(expect.objectContaining({ code: 'OVERFLOW', message: expect.stringContaining('timestamp') }));
    expect(() => tunnelAuthDigest(LEASE_HASH, 1n << 64n)).toThrow(expect.objectContaining({ code: 'OVERFLOW' }));
    expect(() => tunnelAuthDigest('ab', TS)).toThrow(expect.objectContaining({ code: 'INVALID_FIELD' }));
    expect(verifyTunnelAuth(frame(-1n, 'ab'.repeat(64)), ACCESS.pubKeyHex)).toBe(false);
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
    expect(() => c.add('g', 100n, 50n)).toThrow(expect.objectContaining({ code: 'TUNNEL_REPLAY_CACHE_FULL', retryable: true }));
  });
});

describe('TunnelAuthChecker', () => {
  const now = 2_000_000_000_000_000_000n;
  const skew = 60_000_000_000n;
  const checker = () => new TunnelAuthChecker({ skewNs: skew }, { clock: () => now });

  it('accepts timestamps exactly at ±skew and refuses one past it', () => {
    const c = checker();
    for (const ts of [now - skew, now + skew]) c.check(frame(ts), ACCESS.pubKeyHex, { consume: true });
    expect(() => c.check(frame(now - skew - 1n), ACCESS.pubKeyHex, { consume: true })).toThrow(expect.objectContaining({ code: 'TUNNEL_TIMESTAMP_STALE' }));
    expect(() => c.check(frame(now + skew + 1n), ACCESS.pubKeyHex, { consume: true })).toThrow(expect.objectContaining({ code: 'TUNNEL_TIMESTAMP_STALE' }));
  });

  it('refuses a signature by another key, and a replay; a dry check does not spend the signature', () => {
    const c = checker();
    const other = keyPairFromSeed(seedOf(0x63));
    expect(() => c.check(frame(now, signTunnelAuth(other, LEASE_HASH, now)), ACCESS.pubKeyHex, { consume: true })).toThrow(
      expect.objectContaining({ code: 'TUNNEL_SIGNATURE_INVALID' }),
    );
    expect(() => c.check(frame(now, 'zz'.repeat(64)), ACCESS.pubKeyHex, { consume: true })).toThrow(expect.objectContaining({ code: 'TUNNEL_SIGNATURE_INVALID' }));
    const f = frame(now - 5n);
    c.check(f, ACCESS.pubKeyHex, { consume: false });
    c.check(f, ACCESS.pubKeyHex, { consume: true });
    expect(() => c.check(f, ACCESS.pubKeyHex, { consume: true })).toThrow(expect.objectContaining({ code: 'TUNNEL_SIGNATURE_REPLAYED' }));
    expect(() => c.check(f, ACCESS.pubKeyHex, { consume: false })).toThrow(expect.objectContaining({ code: 'TUNNEL_SIGNATURE_REPLAYED' }));
  });

  it('remembers a signature for the skew window past its timestamp, then forgets it', () => {
    let t = now;
    const c = new TunnelAuthChecker({ skewNs: skew, maxEntries: 2 }, { clock: () => t });
    const f = frame(now);
    c.check(f, ACCESS.pubKeyHex, { consume: true });
    t = now + skew;
    expect(() => c.check(f, ACCESS.pubKeyHex, { consume: true })).toThrow(expect.objectContaining({ code: 'TUNNEL_SIGNATURE_REPLAYED' }));
    t = now + skew + 1n;
    // past the window the timestamp itself is stale, so the entry can go
    c.replay.sweep(t);
    expect(c.replay.size).toBe(0);
  });
});
