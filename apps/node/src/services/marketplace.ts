import { type Clock, fields, type JsonValue } from '@xe/core-types';
import { type MarketplaceKind, verifyMarketplace } from '@xe/crypto';

/** A provider's signed capacity advertisement (SPEC §9). */
export interface Advertisement {
  type: 'advertisement';
  provider: string;
  provider_pub_key: string;
  vcpus: number;
  memory_mb: number;
  disk_gb: number;
  price_multiplier_milli: number;
  expires_at: bigint;
  timestamp: bigint;
  signature: string;
}

export interface LeaseRequestMsg {
  type: 'request';
  consumer: string;
  consumer_pub_key: string;
  request_id: string;
  vcpus: number;
  memory_mb: number;
  disk_gb: number;
  duration: number;
  timestamp: bigint;
  signature: string;
}

export interface OfferMsg {
  type: 'offer';
  provider: string;
  provider_pub_key: string;
  request_id: string;
  vcpus: number;
  memory_mb: number;
  disk_gb: number;
  duration: number;
  total_cost: bigint;
  certificate_hash: string;
  available_vcpus: number;
  available_memory_mb: number;
  available_disk_gb: number;
  timestamp: bigint;
  signature: string;
}

export type MarketplaceMsg = Advertisement | LeaseRequestMsg | OfferMsg;

const N = (v: unknown, f: string) => fields.boundedInt(v, f, 0, Number.MAX_SAFE_INTEGER);

/** Parses and checks the shape of a marketplace message; throws a coded error naming the field. */
export function parseMarketplace(value: JsonValue): MarketplaceMsg {
  const o = fields.expectObject(value, 'message');
  const type = o.type;
  if (type !== 'advertisement' && type !== 'request' && type !== 'offer') throw fields.invalid('type', 'expected advertisement, request or offer');
  const common = { signature: fields.signature(o.signature, 'signature'), timestamp: fields.u64(o.timestamp, 'timestamp') };
  if (type === 'advertisement') {
    fields.onlyFields(o, new Set(['type', 'provider', 'provider_pub_key', 'vcpus', 'memory_mb', 'disk_gb', 'price_multiplier_milli', 'expires_at', 'timestamp', 'signature']), 'an advertisement');
    return {
      type,
      provider: fields.hash(o.provider, 'provider'),
      provider_pub_key: fields.hash(o.provider_pub_key, 'provider_pub_key'),
      vcpus: N(o.vcpus, 'vcpus'),
      memory_mb: N(o.memory_mb, 'memory_mb'),
      disk_gb: N(o.disk_gb, 'disk_gb'),
      price_multiplier_milli: N(o.price_multiplier_milli, 'price_multiplier_milli'),
      expires_at: fields.u64(o.expires_at, 'expires_at'),
      ...common,
    };
  }
  if (type === 'request') {
    fields.onlyFields(o, new Set(['type', 'consumer', 'consumer_pub_key', 'request_id', 'vcpus', 'memory_mb', 'disk_gb', 'duration', 'timestamp', 'signature']), 'a request');
    return {
      type,
      consumer: fields.hash(o.consumer, 'consumer'),
      consumer_pub_key: fields.hash(o.consumer_pub_key, 'consumer_pub_key'),
      request_id: fields.hexField(o.request_id, 'request_id', 32),
      vcpus: N(o.vcpus, 'vcpus'),
      memory_mb: N(o.memory_mb, 'memory_mb'),
      disk_gb: N(o.disk_gb, 'disk_gb'),
      duration: N(o.duration, 'duration'),
      ...common,
    };
  }
  if (type === 'offer') {
    fields.onlyFields(
      o,
      new Set(['type', 'provider', 'provider_pub_key', 'request_id', 'vcpus', 'memory_mb', 'disk_gb', 'duration', 'total_cost', 'certificate_hash', 'available_vcpus', 'available_memory_mb', 'available_disk_gb', 'timestamp', 'signature']),
      'an offer',
    );
    return {
      type,
      provider: fields.hash(o.provider, 'provider'),
      provider_pub_key: fields.hash(o.provider_pub_key, 'provider_pub_key'),
      request_id: fields.hexField(o.request_id, 'request_id', 32),
      vcpus: N(o.vcpus, 'vcpus'),
      memory_mb: N(o.memory_mb, 'memory_mb'),
      disk_gb: N(o.disk_gb, 'disk_gb'),
      duration: N(o.duration, 'duration'),
      total_cost: fields.u64(o.total_cost, 'total_cost'),
      certificate_hash: fields.hash(o.certificate_hash, 'certificate_hash'),
      available_vcpus: N(o.available_vcpus, 'available_vcpus'),
      available_memory_mb: N(o.available_memory_mb, 'available_memory_mb'),
      available_disk_gb: N(o.available_disk_gb, 'available_disk_gb'),
      ...common,
    };
  }
  throw fields.invalid('type', 'expected advertisement, request or offer');
}

export function verifyMarketplaceMsg(msg: MarketplaceMsg, networkId: string): boolean {
  return verifyMarketplace(msg.type as MarketplaceKind, networkId, msg as unknown as Record<string, unknown>);
}

/**
 * The node's view of the marketplace: the latest unexpired advertisement per provider,
 * and the waiters for offers to this node's own requests.
 */
export class MarketplaceBook {
  private readonly adverts = new Map<string, Advertisement>();
  private readonly offerWaiters = new Map<string, (offer: OfferMsg) => void>();

  constructor(private readonly clock: Clock) {}

  putAdvert(ad: Advertisement): boolean {
    const cur = this.adverts.get(ad.provider);
    if (cur && cur.timestamp >= ad.timestamp) return false;
    this.adverts.set(ad.provider, ad);
    return true;
  }

  /** Unexpired advertisements. */
  liveAdverts(): Advertisement[] {
    const now = this.clock();
    const out: Advertisement[] = [];
    for (const [k, ad] of this.adverts) {
      if (ad.expires_at <= now) this.adverts.delete(k);
      else out.push(ad);
    }
    return out;
  }

  waitOffers(requestId: string, onOffer: (o: OfferMsg) => void): () => void {
    this.offerWaiters.set(requestId, onOffer);
    return () => this.offerWaiters.delete(requestId);
  }

  /** True when an own request is waiting for this offer. */
  deliverOffer(offer: OfferMsg): boolean {
    const w = this.offerWaiters.get(offer.request_id);
    if (!w) return false;
    w(offer);
    return true;
  }
}
