import { type Certificate, CERTIFICATE_VALIDITY_NS, type Clock, type Logger } from '@xe/core-types';
import { type KeyPair, sha256, signCertificate } from '@xe/crypto';
import type { Ledger } from '@xe/ledger';
import type { NetPort } from '../ports.js';
import type { Scheduler } from '../scheduler.js';

/** A short CPU benchmark: SHA-256 rounds per 200 ms, the certificate's `score`. */
export function benchmarkScore(): bigint {
  const end = performance.now() + 200;
  let n = 0;
  let h: Uint8Array = new Uint8Array(32);
  while (performance.now() < end) {
    for (let i = 0; i < 256; i++) h = sha256(h);
    n += 256;
  }
  return BigInt(n);
}

export interface CertificateOptions {
  key: KeyPair;
  networkId: string;
  priceMultiplierMilli: number;
}

export interface CertificateComponents {
  ledger: Ledger;
  net: NetPort;
  scheduler: Scheduler;
  clock: Clock;
  logger: Logger;
}

/**
 * The provider's certificate (SPEC §7): issued at start, renewed at half-life or when the
 * price changes, stored in the ledger and gossiped.
 */
export class CertificateKeeper {
  private certificate: Certificate | undefined;

  constructor(
    private readonly options: CertificateOptions,
    private readonly components: CertificateComponents,
  ) {}

  current(): Certificate | undefined {
    return this.certificate;
  }

  /** The valid certificate, issuing a new one when there is none, it is past half-life or the price changed. */
  async ensure(): Promise<Certificate> {
    const { ledger, net, scheduler, clock, logger } = this.components;
    const { key, networkId, priceMultiplierMilli } = this.options;
    const now = clock();
    const cur = this.certificate ?? (await this.latestOwn());
    if (cur && cur.expires_at - now > CERTIFICATE_VALIDITY_NS / 2n && cur.price_multiplier_milli === BigInt(priceMultiplierMilli)) {
      this.certificate = cur;
    } else {
      const cert = signCertificate(
        {
          provider: key.address,
          provider_pub_key: key.pubKeyHex,
          score: benchmarkScore(),
          price_multiplier_milli: BigInt(priceMultiplierMilli),
          issued_at: now,
          expires_at: now + CERTIFICATE_VALIDITY_NS,
        },
        key,
        networkId,
      );
      await ledger.addCertificate(cert);
      this.certificate = cert;
      logger.info('certificate issued', { certificate: cert.hash, score: cert.score, expires_at: cert.expires_at });
      await net.publishCertificate(cert).catch(() => undefined);
    }
    const c = this.certificate;
    const renewAt = c.issued_at + (c.expires_at - c.issued_at) / 2n;
    scheduler.at('cert-renew', renewAt, () => void this.ensure().catch((err) => logger.error('certificate renewal failed', { err })));
    return c;
  }

  private async latestOwn(): Promise<Certificate | undefined> {
    let best: Certificate | undefined;
    for (const c of await this.components.ledger.certificatesOf(this.options.key.address)) if (!best || c.expires_at > best.expires_at) best = c;
    return best;
  }
}
