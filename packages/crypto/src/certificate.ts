import { bytesToHex, type Certificate, hexToBytes } from '@xe/core-types';
import { lp, sha256, u64be, utf8 } from './bytes.js';
import { deriveAddress, type KeyPair, signHex, verify } from './ed25519.js';

const CERT_TAG = utf8('xe/perf-certificate/v1\0');

export type UnsignedCertificate = Omit<Certificate, 'hash' | 'signature'>;

/** SPEC §7 certificate hash (64 hex). */
export function certificateHash(cert: UnsignedCertificate, networkId: string): string {
  return bytesToHex(
    sha256(
      CERT_TAG,
      lp(networkId),
      lp(cert.provider),
      lp(cert.provider_pub_key),
      u64be(cert.score),
      u64be(cert.price_multiplier_milli),
      u64be(cert.issued_at),
      u64be(cert.expires_at),
    ),
  );
}

export function signCertificate(cert: UnsignedCertificate, key: KeyPair, networkId: string): Certificate {
  const hash = certificateHash(cert, networkId);
  return { ...cert, hash, signature: signHex(hexToBytes(hash), key) };
}

/** Hash recomputes, the key derives the provider address, and the provider signed it. */
export function verifyCertificate(cert: Certificate, networkId: string): boolean {
  try {
    if (certificateHash(cert, networkId) !== cert.hash) return false;
    if (deriveAddress(cert.provider_pub_key) !== cert.provider) return false;
    return verify(hexToBytes(cert.hash), cert.signature, cert.provider_pub_key);
  } catch {
    return false;
  }
}
