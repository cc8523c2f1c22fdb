import { type Clock, leaseCost, type Logger, nsToMs } from '@xe/core-types';
import { type KeyPair, signMarketplace } from '@xe/crypto';
import type { Metrics } from '../../metrics.js';
import type { Advertisement, LeaseRequestMsg, MarketplaceBook } from '../marketplace.js';
import type { NetPort } from '../ports.js';
import type { Capacity } from './capacity.js';
import type { CertificateKeeper } from './certificate.js';

export interface OffersOptions {
  key: KeyPair;
  networkId: string;
  /** advert republish interval (ms); an advert lives three intervals */
  advertIntervalMs: number;
}

export interface OffersComponents {
  certificates: CertificateKeeper;
  capacity: Capacity;
  net: NetPort;
  book: MarketplaceBook;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
}

/** The provider's side of the marketplace (SPEC §9, §10): capacity adverts and offers answering requests. */
export class Offers {
  constructor(
    private readonly options: OffersOptions,
    private readonly components: OffersComponents,
  ) {}

  /** Signs and gossips a capacity advertisement (and keeps it in the local book). */
  async advertise(): Promise<void> {
    const { certificates, capacity, net, book, clock, logger } = this.components;
    const { key, networkId, advertIntervalMs } = this.options;
    try {
      const cert = await certificates.ensure();
      const now = clock();
      const ad = signMarketplace(
        'advertisement',
        networkId,
        {
          type: 'advertisement',
          provider: key.address,
          provider_pub_key: key.pubKeyHex,
          vcpus: capacity.total.vcpus,
          memory_mb: capacity.total.memory_mb,
          disk_gb: capacity.total.disk_gb,
          price_multiplier_milli: Number(cert.price_multiplier_milli),
          expires_at: now + BigInt(advertIntervalMs) * 3n * 1_000_000n,
          timestamp: now,
        },
        key,
      );
      book.putAdvert(ad as unknown as Advertisement);
      await net.publishMarketplace(ad);
    } catch (err) {
      logger.warn('advertisement failed', { err });
    }
  }

  /** Answers a lease request with a signed offer when there is room, holding that room while the consumer chooses. */
  async onRequest(req: LeaseRequestMsg): Promise<void> {
    const { certificates, capacity, net, clock, logger, metrics } = this.components;
    const { key, networkId } = this.options;
    const cert = certificates.current();
    if (!cert || cert.expires_at <= clock()) return;
    const res = { vcpus: req.vcpus, memory_mb: req.memory_mb, disk_gb: req.disk_gb };
    const free = await capacity.exclusive(() => capacity.holdForOffer(req.request_id, req.consumer, res));
    if (!free) {
      logger.debug('no room for request', { request: req.request_id });
      return;
    }
    const total_cost = leaseCost({ ...req, multiplier_milli: cert.price_multiplier_milli });
    const offer = signMarketplace(
      'offer',
      networkId,
      {
        type: 'offer',
        provider: key.address,
        provider_pub_key: key.pubKeyHex,
        request_id: req.request_id,
        vcpus: req.vcpus,
        memory_mb: req.memory_mb,
        disk_gb: req.disk_gb,
        duration: req.duration,
        total_cost,
        certificate_hash: cert.hash,
        available_vcpus: free.vcpus,
        available_memory_mb: free.memory_mb,
        available_disk_gb: free.disk_gb,
        timestamp: clock(),
      },
      key,
    );
    await net.publishMarketplace(offer);
    logger.debug('offer sent', { request: req.request_id, since_request_ms: nsToMs(clock() - req.timestamp) });
    metrics.counter('xe_offers_sent_total', 'Offers this provider sent')();
  }
}
