import { type Attestation, fields, hexToBytes, isHex, MAX_ATTESTATIONS, type TimekeeperSet, U64_MAX } from '@xe/core-types';
import { sha256, u64be } from './bytes.js';
import { type KeyPair, signHex, verify } from './ed25519.js';
import { CryptoError, CryptoErrorCodes } from './errors.js';

/** `SHA-256(lease_hash bytes || u64(timestamp))` (SPEC §8). */
export function attestationDigest(leaseHash: string, timestamp: bigint): Uint8Array {
  return sha256(hexToBytes(fields.hash(leaseHash, 'lease_hash'), 'lease_hash'), u64be(timestamp));
}

export function signAttestation(key: KeyPair, leaseHash: string, timestamp: bigint): Attestation {
  return { public_key: key.pubKeyHex, timestamp, signature: signHex(attestationDigest(leaseHash, timestamp), key) };
}

export function verifyAttestation(a: Attestation, leaseHash: string): boolean {
  if (!isHex(a.public_key, 64) || !isHex(a.signature, 128) || typeof a.timestamp !== 'bigint') return false;
  if (a.timestamp < 0n || a.timestamp > U64_MAX) return false;
  return verify(attestationDigest(leaseHash, a.timestamp), a.signature, a.public_key);
}

export interface AttestationCheckOptions {
  /** local clock, unix ns */
  now: bigint;
  skewNs: bigint;
  /** live blocks: true; synced history: false */
  checkSkew: boolean;
}

export interface AttestationCheck {
  /** the lower median of the counted timestamps */
  time: bigint;
  /** the attestations that counted, one per key, sorted by timestamp */
  counted: Attestation[];
}

/**
 * Validates a set of attestations (SPEC §8): at most 20 entries; counts distinct listed
 * keys with a good signature (and, when `checkSkew`, `|timestamp − now| ≤ skew`); needs
 * the threshold. Returns the attested time (lower median) or throws a coded CryptoError.
 */
export function checkAttestations(
  list: readonly Attestation[],
  leaseHash: string,
  timekeepers: TimekeeperSet,
  options: AttestationCheckOptions,
): AttestationCheck {
  if (!Array.isArray(list)) {
    throw new CryptoError(CryptoErrorCodes.ATTESTATIONS_BELOW_THRESHOLD, 'attestations: expected an array', { field: 'attestations' });
  }
  fields.hash(leaseHash, 'lease_hash');
  if (list.length > MAX_ATTESTATIONS) {
    throw new CryptoError(CryptoErrorCodes.ATTESTATIONS_TOO_MANY, `attestations: ${list.length} entries, at most ${MAX_ATTESTATIONS}`, {
      field: 'attestations',
    });
  }
  const listed = new Set(timekeepers.keys);
  const seen = new Set<string>();
  const counted: Attestation[] = [];
  for (const a of list) {
    if (a === null || typeof a !== 'object' || typeof a.timestamp !== 'bigint') continue;
    if (!listed.has(a.public_key) || seen.has(a.public_key)) continue;
    if (options.checkSkew) {
      const d = a.timestamp - options.now;
      if (d > options.skewNs || -d > options.skewNs) continue;
    }
    if (!verifyAttestation(a, leaseHash)) continue;
    seen.add(a.public_key);
    counted.push(a);
  }
  if (counted.length === 0 || counted.length < timekeepers.threshold) {
    throw new CryptoError(
      CryptoErrorCodes.ATTESTATIONS_BELOW_THRESHOLD,
      `attestations: ${counted.length} valid from listed timekeepers, threshold is ${timekeepers.threshold}`,
      { field: 'attestations', details: { valid: counted.length, threshold: timekeepers.threshold } },
    );
  }
  counted.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
  return { time: counted[(counted.length - 1) >> 1]!.timestamp, counted };
}

/** As `checkAttestations`, returning only the attested time. */
export function validateAttestations(
  list: readonly Attestation[],
  leaseHash: string,
  timekeepers: TimekeeperSet,
  options: AttestationCheckOptions,
): bigint {
  return checkAttestations(list, leaseHash, timekeepers, options).time;
}
