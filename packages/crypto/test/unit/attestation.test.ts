import { describe, expect, it } from '@jest/globals';
import { type Attestation, bytesToHex, type XeError } from '@xe/core-types';
import {
  attestationDigest,
  checkAttestations,
  keyPairFromSeed,
  sha256,
  signAttestation,
  u64be,
  validateAttestations,
  verifyAttestation,
} from '../../src/index.js';
import { errorOf } from '../support/fixtures.js';

const LEASE = '7a'.repeat(32);
const OTHER = '7b'.repeat(32);
const keys = Array.from({ length: 22 }, (_, i) => keyPairFromSeed(new Uint8Array(32).fill(0x60 + i)));
const stranger = keyPairFromSeed(new Uint8Array(32).fill(0xee));
const NOW = 1_781_802_000_000_000_000n;
const SKEW = 60_000_000_000n;
const set = (n: number, threshold: number) => ({ keys: keys.slice(0, n).map((k) => k.pubKeyHex), threshold });
const live = { now: NOW, skewNs: SKEW, checkSkew: true };
const history = { now: 0n, skewNs: SKEW, checkSkew: false };

const codeOf = (fn: () => unknown): string => errorOf(fn).code;

describe('attestations (SPEC §8)', () => {
  it('digest is SHA-256(lease hash bytes || u64(timestamp)); signatures verify for that lease only', () => {
    const a = signAttestation(keys[0]!, LEASE, NOW);
    expect(bytesToHex(attestationDigest(LEASE, NOW))).toBe(bytesToHex(sha256(new Uint8Array(32).fill(0x7a), u64be(NOW))));
    expect(verifyAttestation(a, LEASE)).toBe(true);
    expect(verifyAttestation(a, OTHER)).toBe(false);
    expect(verifyAttestation({ ...a, timestamp: NOW + 1n }, LEASE)).toBe(false);
    expect(verifyAttestation({ ...a, timestamp: -1n }, LEASE)).toBe(false);
    expect(verifyAttestation({ ...a, timestamp: 5 as unknown as bigint }, LEASE)).toBe(false);
    expect(verifyAttestation({ ...a, public_key: 'x' }, LEASE)).toBe(false);
  });

  it('odd count: the median', () => {
    const list = [NOW + 3n, NOW - 5n, NOW + 1n].map((t, i) => signAttestation(keys[i]!, LEASE, t));
    expect(validateAttestations(list, LEASE, set(3, 3), live)).toBe(NOW + 1n);
  });

  it('even count: the lower median', () => {
    const list = [NOW + 40n, NOW + 10n, NOW + 30n, NOW + 20n].map((t, i) => signAttestation(keys[i]!, LEASE, t));
    expect(validateAttestations(list, LEASE, set(4, 2), live)).toBe(NOW + 20n);
    const two = list.slice(0, 2);
    expect(validateAttestations(two, LEASE, set(4, 1), live)).toBe(NOW + 10n);
  });

  it('a single attestation is its own median', () => {
    expect(validateAttestations([signAttestation(keys[0]!, LEASE, NOW)], LEASE, set(1, 1), live)).toBe(NOW);
  });

  it('a duplicate key counts once', () => {
    const list = [signAttestation(keys[0]!, LEASE, NOW), signAttestation(keys[0]!, LEASE, NOW + 50n), signAttestation(keys[1]!, LEASE, NOW + 100n)];
    const r = checkAttestations(list, LEASE, set(3, 2), live);
    expect(r.counted.map((a) => a.public_key)).toEqual([keys[0]!.pubKeyHex, keys[1]!.pubKeyHex]);
    expect(r.time).toBe(NOW);
    expect(codeOf(() => validateAttestations(list, LEASE, set(3, 3), live))).toBe('ATTESTATIONS_BELOW_THRESHOLD');
    // a bad first copy does not stop a good second copy of the same key from counting
    const badThenGood = [{ ...list[0]!, signature: list[2]!.signature }, list[1]!];
    expect(validateAttestations(badThenGood, LEASE, set(3, 1), live)).toBe(NOW + 50n);
  });

  it('an untrusted key and a bad signature are ignored', () => {
    const good = [signAttestation(keys[0]!, LEASE, NOW + 10n), signAttestation(keys[1]!, LEASE, NOW + 20n)];
    const untrusted = signAttestation(stranger, LEASE, NOW - 1000n);
    const forged: Attestation = { ...signAttestation(keys[2]!, LEASE, NOW - 999n), timestamp: NOW - 998n };
    const wrongLease = signAttestation(keys[3]!, OTHER, NOW - 997n);
    const r = checkAttestations([untrusted, forged, wrongLease, ...good], LEASE, set(4, 2), live);
    expect(r.counted).toEqual(good);
    expect(r.time).toBe(NOW + 10n);
    expect(codeOf(() => validateAttestations([untrusted, forged, wrongLease, good[0]!], LEASE, set(4, 2), live))).toBe('ATTESTATIONS_BELOW_THRESHOLD');
  });

  it('skew is checked on both sides, inclusive, and not at all when told so', () => {
    const at = (i: number, t: bigint) => signAttestation(keys[i]!, LEASE, t);
    const edge = [at(0, NOW - SKEW), at(1, NOW + SKEW)];
    expect(validateAttestations(edge, LEASE, set(2, 2), live)).toBe(NOW - SKEW);
    const early = [at(0, NOW - SKEW - 1n), at(1, NOW)];
    const late = [at(0, NOW), at(1, NOW + SKEW + 1n)];
    expect(codeOf(() => validateAttestations(early, LEASE, set(2, 2), live))).toBe('ATTESTATIONS_BELOW_THRESHOLD');
    expect(codeOf(() => validateAttestations(late, LEASE, set(2, 2), live))).toBe('ATTESTATIONS_BELOW_THRESHOLD');
    expect(validateAttestations(early, LEASE, set(2, 1), live)).toBe(NOW);
    expect(validateAttestations(late, LEASE, set(2, 1), live)).toBe(NOW);
    expect(validateAttestations(early, LEASE, set(2, 2), history)).toBe(NOW - SKEW - 1n);
    expect(validateAttestations(late, LEASE, set(2, 2), history)).toBe(NOW);
    const ancient = [at(0, 1n), at(1, 2n)];
    expect(validateAttestations(ancient, LEASE, set(2, 2), history)).toBe(1n);
  });

  it('accepts 20 entries and rejects more than 20 (even when all are valid)', () => {
    const twenty = keys.slice(0, 20).map((k, i) => signAttestation(k, LEASE, NOW + BigInt(i)));
    expect(validateAttestations(twenty, LEASE, set(22, 20), live)).toBe(NOW + 9n);
    const twentyOne = keys.slice(0, 21).map((k, i) => signAttestation(k, LEASE, NOW + BigInt(i)));
    const err = (() => {
      try {
        validateAttestations(twentyOne, LEASE, set(22, 1), live);
      } catch (e) {
        return e as XeError;
      }
      throw new Error('expected a throw');
    })();
    expect(err.code).toBe('ATTESTATIONS_TOO_MANY');
    expect(err.field).toBe('attestations');
  });

  it('fewer than the threshold is rejected with the counts in details', () => {
    const list = [signAttestation(keys[0]!, LEASE, NOW)];
    try {
      validateAttestations(list, LEASE, set(3, 2), live);
      throw new Error('expected a throw');
    } catch (err) {
      expect((err as XeError).code).toBe('ATTESTATIONS_BELOW_THRESHOLD');
      expect((err as XeError).details).toEqual({ valid: 1, threshold: 2 });
    }
    expect(codeOf(() => validateAttestations([], LEASE, set(3, 1), live))).toBe('ATTESTATIONS_BELOW_THRESHOLD');
    expect(codeOf(() => validateAttestations([], LEASE, set(3, 0), live))).toBe('ATTESTATIONS_BELOW_THRESHOLD');
  });

  it('garbage entries are ignored and a malformed lease hash is a coded error, never an untyped one', () => {
    const good = signAttestation(keys[0]!, LEASE, NOW);
    const junk = [null, 5, 'x', { public_key: keys[1]!.pubKeyHex, timestamp: 5, signature: 'ab' }, {}] as unknown as Attestation[];
    expect(validateAttestations([...junk, good], LEASE, set(3, 1), live)).toBe(NOW);
    expect(codeOf(() => validateAttestations([good], 'ab', set(3, 1), live))).toBe('INVALID_FIELD');
    expect(codeOf(() => validateAttestations([good], LEASE.toUpperCase(), set(3, 1), live))).toBe('INVALID_FIELD');
    expect(codeOf(() => attestationDigest('ab'.repeat(31), NOW))).toBe('INVALID_FIELD');
    expect(codeOf(() => attestationDigest(LEASE, -1n))).toBe('OVERFLOW');
    expect(codeOf(() => validateAttestations(5 as unknown as Attestation[], LEASE, set(3, 1), live))).toMatch(/^ATTESTATIONS_/);
  });
});
