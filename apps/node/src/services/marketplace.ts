import { type Clock, fields, isXeError, type JsonValue, leaseCost, leaseStake, MIN_PRICE_MULTIPLIER_MILLI, nsToMs, type RateLimit, RateLimiter } from '@xe/core-types';
import { type MarketplaceKind, verifyMarketplace } from '@xe/crypto';
import type { Ledger } from '@xe/ledger';
import { confirmedViewOf } from '../confirmed.js';

/** An advertisement lives at most this long, whatever its `expires_at` says. */
export const ADVERT_MAX_TTL_MS = 60 * 60_000;
/** Providers the book holds at most; past it the advert expiring first makes room. */
export const BOOK_MAX_PROVIDERS = 10_000;
/** Lease requests one consumer account may gossip: one a second on average, 20 at once. */
export const REQUEST_RATE: RateLimit = { ratePerSec: 1, burst: 20 };
/** Own requests waiting for offers at once, and offers kept per request. */
export const MAX_OPEN_OWN_REQUESTS = 64;
export const MAX_OFFERS_PER_REQUEST = 64;

/**
 * The XUSD an account can spend, the one balance read of marketplace admission: the
 * `spendable` of its confirmed balances (`ConfirmedView.balances`: what its confirmed blocks
 * left, and no more than its head holds — SPEC §12: an unconfirmed receive does not count,
 * an unconfirmed debit does). An account with no block holds nothing.
 */
export async function spendableXusd(ledger: Ledger, address: string): Promise<bigint> {
  try {
    return (await confirmedViewOf(ledger).balances(address))?.spendable.XUSD ?? 0n;
  } catch (err) {
    // CONFIRMED_VIEW_BUSY: confirmations kept racing the read; count nothing (the request
    // is dropped as `unfunded` for now, as a thrown validator's message would be dropped)
    if (isXeError(err) && err.retryable) return 0n;
    throw err;
  }
}

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
  /** Per provider: its latest advert and when it stops counting (`expires_at` capped at receipt + 1 h). */
  private readonly adverts = new Map<string, { ad: Advertisement; untilNs: bigint }>();
  private readonly offerWaiters = new Map<string, (offer: OfferMsg) => void>();
  /** When a full book last dropped a live advert to make room (unix ns; 0n: never). */
  evictedAt = 0n;

  constructor(
    private readonly clock: Clock,
    private readonly limits: { maxProviders?: number } = {},
  ) {}

  /** Keeps the newest advert of a provider, for at most an hour; a full book drops the advert that ends first (expired ones before). */
  putAdvert(ad: Advertisement): boolean {
    const now = this.clock();
    if (ad.expires_at <= now) return false;
    const cur = this.adverts.get(ad.provider);
    if (cur && cur.ad.timestamp >= ad.timestamp) return false;
    const cap = now + BigInt(ADVERT_MAX_TTL_MS) * 1_000_000n;
    const untilNs = ad.expires_at < cap ? ad.expires_at : cap;
    if (!cur && this.adverts.size >= (this.limits.maxProviders ?? BOOK_MAX_PROVIDERS)) {
      this.prune();
      if (this.adverts.size >= (this.limits.maxProviders ?? BOOK_MAX_PROVIDERS)) {
        let victim: string | undefined;
        let end = untilNs;
        for (const [k, e] of this.adverts) if (e.untilNs < end) [victim, end] = [k, e.untilNs];
        if (victim === undefined) return false;
        this.adverts.delete(victim);
        this.evictedAt = now;
      }
    }
    this.adverts.set(ad.provider, { ad, untilNs });
    return true;
  }

  private prune(): void {
    const now = this.clock();
    for (const [k, e] of this.adverts) if (e.untilNs <= now) this.adverts.delete(k);
  }

  /** The unexpired advert of a provider. */
  advertOf(provider: string): Advertisement | undefined {
    const e = this.adverts.get(provider);
    return e && e.untilNs > this.clock() ? e.ad : undefined;
  }

  get size(): number {
    return this.adverts.size;
  }

  /** Unexpired advertisements. */
  liveAdverts(): Advertisement[] {
    this.prune();
    return [...this.adverts.values()].map((e) => e.ad);
  }

  /** Collects offers to an own request (at most MAX_OFFERS_PER_REQUEST); TOO_MANY when MAX_OPEN_OWN_REQUESTS are open. */
  waitOffers(requestId: string, onOffer: (o: OfferMsg) => void): () => void {
    if (this.offerWaiters.size >= MAX_OPEN_OWN_REQUESTS) throw new RangeError('too many open lease requests');
    let n = 0;
    this.offerWaiters.set(requestId, (o) => {
      if (n++ < MAX_OFFERS_PER_REQUEST) onOffer(o);
    });
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

/** Why a marketplace message does not count (ignored: not relayed, not acted on). */
export type AdmissionVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Admission of gossiped marketplace messages (SPEC §9, §10), run by every node before it
 * acts on or relays one. Messages cost nothing to sign, so a request counts only when its
 * consumer can pay for it at the cheapest multiplier and stays within REQUEST_RATE, and
 * an offer only when its provider holds the XUSD for the lease's stake.
 */
export class MarketplaceAdmission {
  private readonly rate: RateLimiter;

  constructor(
    private readonly options: { stakeDivisor: bigint },
    private readonly components: { ledger: Ledger; clock: Clock; rate?: RateLimit },
  ) {
    this.rate = new RateLimiter(components.rate ?? REQUEST_RATE, { clock: components.clock }, { maxKeys: 10_000 });
  }

  async admit(msg: MarketplaceMsg): Promise<AdmissionVerdict> {
    if (msg.type === 'request') return this.admitRequest(msg);
    if (msg.type === 'offer') return this.admitOffer(msg);
    return msg.expires_at > this.components.clock() ? { ok: true } : { ok: false, reason: 'expired' };
  }

  async admitOffer(offer: OfferMsg): Promise<AdmissionVerdict> {
    if ((await spendableXusd(this.components.ledger, offer.provider)) < leaseStake(offer.total_cost, this.options.stakeDivisor)) {
      return { ok: false, reason: 'no_stake' };
    }
    return { ok: true };
  }

  async admitRequest(req: LeaseRequestMsg): Promise<AdmissionVerdict> {
    const nowMs = nsToMs(this.components.clock());
    const ageMs = nowMs - nsToMs(req.timestamp);
    if (ageMs > 60_000 || ageMs < -60_000) return { ok: false, reason: 'stale' };
    let cheapest: bigint;
    try {
      cheapest = leaseCost({ ...req, multiplier_milli: MIN_PRICE_MULTIPLIER_MILLI });
    } catch {
      return { ok: false, reason: 'bad_size' };
    }
    if ((await spendableXusd(this.components.ledger, req.consumer)) < cheapest) return { ok: false, reason: 'unfunded' };
    if (!this.rate.allow(req.consumer)) return { ok: false, reason: 'rate' };
    return { ok: true };
  }
}
