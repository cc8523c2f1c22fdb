import { type Certificate, MAX_PRICE_MULTIPLIER_MILLI, MIN_PRICE_MULTIPLIER_MILLI, parseCertificate } from '@xe/core-types';
import { verifyCertificate } from '@xe/crypto';
import { LedgerErrorCodes as C } from '../errors.js';
import type { Repositories } from '../repos/index.js';

export type CertificateResult =
  | { status: 'accepted' | 'duplicate'; hash: string }
  | { status: 'rejected'; code: string; message: string; retryable: false };

/** Verifies and stores a provider certificate (idempotent). Callers serialize. */
export async function admitCertificate(repos: Repositories, input: unknown, networkId: string): Promise<CertificateResult> {
  let cert: Certificate;
  try {
    cert = parseCertificate(input);
  } catch (err) {
    return { status: 'rejected', code: C.BAD_SHAPE, message: (err as Error).message, retryable: false };
  }
  if (!verifyCertificate(cert, networkId)) {
    return { status: 'rejected', code: C.CERTIFICATE_INVALID, message: 'certificate: hash, key or signature does not verify', retryable: false };
  }
  const mult = cert.price_multiplier_milli;
  if (mult < BigInt(MIN_PRICE_MULTIPLIER_MILLI) || mult > BigInt(MAX_PRICE_MULTIPLIER_MILLI) || cert.expires_at <= cert.issued_at) {
    return { status: 'rejected', code: C.CERTIFICATE_INVALID, message: 'certificate: multiplier or validity out of range', retryable: false };
  }
  if (await repos.certificates.has(cert.hash)) return { status: 'duplicate', hash: cert.hash };
  await repos.commit(repos.certificates.putOps(cert));
  return { status: 'accepted', hash: cert.hash };
}
