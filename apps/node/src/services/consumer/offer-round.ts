import { randomBytes } from 'node:crypto';
import type { LeaseRequest } from '@xe/api-server';
import {
  type Certificate,
  type Clock,
  type LeaseBlock,
  leaseCost,
  leaseStake,
  type Logger,
  MIN_PRICE_MULTIPLIER_MILLI,
  type NetworkParams,
  parseCertificate,
} from '@xe/core-types';
import { type KeyPair, signMarketplace, verifyCertificate } from '@xe/crypto';
import type { Ledger, LeaseRecord } from '@xe/ledger';
import { waitConfirmed } from '../../confirmed.js';
import { NodeError, NodeErrorCodes } from '../../errors.js';
import type { Metrics } from '../../metrics.js';
import type { ChainWriter } from '../chain-writer.js';
import { allLeases } from '../lease-pages.js';
import { type MarketplaceBook, type OfferMsg, spendableXusd } from '../marketplace.js';
import type { NetPort, Timers } from '../ports.js';
import { sleep } from '../scheduler.js';

const CERT_FETCH_TIMEOUT_MS = 3000;
/** Unknown certificates fetched per round at most (all at once, inside the offer window). */
export const MAX_CERT_FETCHES = 8;
/** A provider with at least this many cancelled leases in a day, and more cancelled than settled, is skipped unless alone. */
export const UNRELIABLE_MIN_CANCELLED = 3;
const DAY_NS = 86_400n * 1_000_000_000n;

/** A provider's record from the ledger over the last 24 h (by lease timestamp). */
export interface Reputation {
  settled: number;
  cancelled: number;
}

export function unreliable(r: Reputation): boolean {
  return r.cancelled >= UNRELIABLE_MIN_CANCELLED && r.cancelled > r.settled;
}

/** An offer that passed the checks, its available capacity capped by the provider's advert and the ledger. */
export interface RankedOffer extends OfferMsg {
  reputation: Reputation;
}

/** Cheapest first; ties go to the better record (settled − cancelled), then to the most free capacity. */
export function compareOffers(a: OfferMsg & { reputation?: Reputation }, b: OfferMsg & { reputation?: Reputation }): number {
  if (a.total_cost !== b.total_cost) return a.total_cost < b.total_cost ? -1 : 1;
  const score = (o: { reputation?: Reputation }) => (o.reputation ? o.reputation.settled - o.reputation.cancelled : 0);
  if (score(a) !== score(b)) return score(b) - score(a);
  const cap = (o: OfferMsg) => [o.available_vcpus, o.available_memory_mb, o.available_disk_gb];
  const ca = cap(a);
  const cb = cap(b);
  for (let i = 0; i < 3; i++) if (ca[i] !== cb[i]) return cb[i]! - ca[i]!;
  return a.provider < b.provider ? -1 : 1;
}

export interface OfferRoundOptions {
  key: KeyPair;
  network: NetworkParams;
  offerWindowMs: number;
  acceptTimeoutMs: number;
}

export interface OfferRoundComponents {
  ledger: Ledger;
  writer: ChainWriter;
  net: NetPort;
  book: MarketplaceBook;
  clock: Clock;
  timers: Timers;
  logger: Logger;
  metrics: Metrics;
}

/**
 * The consumer's marketplace round (SPEC §10 steps 1–4): gossip a signed request, collect
 * offers for the offer window, pick the cheapest valid one, write the lease block and wait
 * for the provider's accept.
 */
export class OfferRound {
  constructor(
    private readonly options: OfferRoundOptions,
    private readonly components: OfferRoundComponents,
  ) {}

  /** Runs the round and creates the lease; resolves once the provider accepted. */
  async requestLease(req: LeaseRequest, opts: { signal?: AbortSignal } = {}): Promise<{ lease_hash: string }> {
    const { key, network, offerWindowMs } = this.options;
    const { ledger, writer, net, book, clock, timers, logger: log, metrics } = this.components;
    const account = await ledger.getAccount(key.address);
    const balance = account?.balances.XUSD ?? 0n;
    const cheapest = leaseCost({ ...req, multiplier_milli: MIN_PRICE_MULTIPLIER_MILLI });
    if (balance < cheapest) {
      throw new NodeError(NodeErrorCodes.INSUFFICIENT_BALANCE, `insufficient XUSD: balance ${balance} µXUSD, the lease costs at least ${cheapest} µXUSD`);
    }
    const request_id = randomBytes(16).toString('hex');
    // Each offer is checked as it arrives, so certificate fetches run in parallel inside the window.
    const checks: Promise<RankedOffer | undefined>[] = [];
    const fetches = { left: MAX_CERT_FETCHES, byHash: new Map<string, Promise<Certificate | undefined>>() };
    const seen = new Set<string>();
    let stopWaiting: () => void;
    try {
      stopWaiting = book.waitOffers(request_id, (o) => {
        if (seen.has(o.provider)) return;
        seen.add(o.provider);
        checks.push(this.checkOffer(o, req, fetches).catch(() => undefined));
      });
    } catch {
      throw new NodeError(NodeErrorCodes.NO_PROVIDERS, 'too many lease requests are open on this node; retry shortly');
    }
    try {
      const msg = signMarketplace(
        'request',
        network.network_id,
        { type: 'request', consumer: key.address, consumer_pub_key: key.pubKeyHex, request_id, ...pick(req), timestamp: clock() },
        key,
      );
      await net.publishMarketplace(msg);
      log.info('lease requested', { request: request_id, ...pick(req) });
      await sleep(timers, offerWindowMs, opts.signal);
    } finally {
      stopWaiting();
    }
    // Offers whose certificate is still being fetched get a short grace, never a full fetch each.
    const grace = new Promise<undefined>((resolve) => timers.after(Math.min(1000, CERT_FETCH_TIMEOUT_MS), () => resolve(undefined)));
    const checked = await Promise.all(checks.map((c) => Promise.race([c, grace])));
    let valid = checked.filter((o): o is RankedOffer => o !== undefined);
    if (valid.length === 0) throw new NodeError(NodeErrorCodes.NO_PROVIDERS, 'no providers: no provider with room answered the request');
    const reliable = valid.filter((o) => !unreliable(o.reputation));
    if (reliable.length > 0) valid = reliable;
    valid.sort(compareOffers);
    const best = valid[0]!;
    if (best.total_cost > balance) {
      throw new NodeError(NodeErrorCodes.INSUFFICIENT_BALANCE, `insufficient XUSD: balance ${balance} µXUSD, the cheapest offer costs ${best.total_cost} µXUSD`);
    }
    log.info('offer chosen', { request: request_id, provider: best.provider, cost: best.total_cost, offers: valid.length });
    const lease = (await writer.write(
      (s) => {
        if (s.balances.XUSD < best.total_cost) {
          throw new NodeError(NodeErrorCodes.INSUFFICIENT_BALANCE, `insufficient XUSD: balance ${s.balances.XUSD} µXUSD, cost ${best.total_cost} µXUSD`);
        }
        return {
          type: 'lease' as const,
          asset: 'XUSD' as const,
          balance: s.balances.XUSD - best.total_cost,
          destination: best.provider,
          amount: best.total_cost,
          vcpus: BigInt(req.vcpus),
          memory_mb: BigInt(req.memory_mb),
          disk_gb: BigInt(req.disk_gb),
          duration: BigInt(req.duration),
          access_pub_key: req.access_pub_key,
          certificate_hash: best.certificate_hash,
        };
      },
      { ...(opts.signal ? { signal: opts.signal } : {}), what: 'lease' },
    )) as LeaseBlock;
    metrics.counter('xe_leases_requested_total', 'Leases this node created as consumer')();
    await this.waitAccepted(lease.hash, opts.signal);
    return { lease_hash: lease.hash };
  }

  /**
   * An offer counts when it is for exactly what was asked, by a provider with an unexpired
   * certificate (known, or fetched — at most MAX_CERT_FETCHES a round), at that
   * certificate's price, whose XUSD covers the lease's stake. Its `available_*` is capped by
   * the provider's advert less what the ledger says its accepted leases use.
   */
  private async checkOffer(
    o: OfferMsg,
    req: LeaseRequest,
    fetches: { left: number; byHash: Map<string, Promise<Certificate | undefined>> },
  ): Promise<RankedOffer | undefined> {
    const { ledger, clock, book } = this.components;
    if (o.vcpus !== req.vcpus || o.memory_mb !== req.memory_mb || o.disk_gb !== req.disk_gb || o.duration !== req.duration) return undefined;
    let cert = await ledger.getCertificate(o.certificate_hash);
    if (!cert) {
      let p = fetches.byHash.get(o.certificate_hash);
      if (!p) {
        if (fetches.left <= 0) return undefined;
        fetches.left--;
        p = this.fetchCertificate(o.provider, o.certificate_hash);
        fetches.byHash.set(o.certificate_hash, p);
      }
      cert = await p;
    }
    if (!cert || cert.provider !== o.provider) return undefined;
    const now = clock();
    if (cert.expires_at <= now) return undefined;
    if (leaseCost({ ...req, multiplier_milli: cert.price_multiplier_milli }) !== o.total_cost) return undefined;
    if ((await spendableXusd(ledger, o.provider)) < leaseStake(o.total_cost, this.options.network.lease.stake_divisor)) return undefined;
    const ad = book.advertOf(o.provider);
    const used = await ledger.providerUsage(o.provider);
    const cap = (offered: number, advertised: number | undefined, inUse: number) => Math.max(0, Math.min(offered, (advertised ?? 0) - inUse));
    const since = now - DAY_NS;
    const recent = async (state: 'settled' | 'cancelled') =>
      (await allLeases(ledger, { provider: o.provider, state })).filter((l) => l.timestamp >= since).length;
    return {
      ...o,
      available_vcpus: cap(o.available_vcpus, ad?.vcpus, used.vcpus),
      available_memory_mb: cap(o.available_memory_mb, ad?.memory_mb, used.memory_mb),
      available_disk_gb: cap(o.available_disk_gb, ad?.disk_gb, used.disk_gb),
      reputation: { settled: await recent('settled'), cancelled: await recent('cancelled') },
    };
  }

  private async fetchCertificate(provider: string, hash: string) {
    try {
      const v = await this.components.net.requestByAddress(provider, '/xe/cert/1.0.0', { hash }, { timeoutMs: CERT_FETCH_TIMEOUT_MS });
      const cert = parseCertificate(v);
      if (cert.hash !== hash || !verifyCertificate(cert, this.options.network.network_id)) return undefined;
      await this.components.ledger.addCertificate(cert);
      return cert;
    } catch {
      return undefined;
    }
  }

  /** Resolves when the lease is accepted; rejects with ACCEPT_TIMEOUT when it ends otherwise, the wait times out or `signal` aborts. */
  private waitAccepted(leaseHash: string, signal?: AbortSignal): Promise<void> {
    const { ledger, timers } = this.components;
    const acceptTimeoutMs = this.options.acceptTimeoutMs;
    return new Promise((resolve, reject) => {
      let cancelTimer = () => {};
      const done = (err?: Error) => {
        cancelTimer();
        ledger.events.off('lease', onLease);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const onLease = ({ lease }: { lease: LeaseRecord }) => {
        if (lease.hash !== leaseHash) return;
        // the request answers once the accept is confirmed (SPEC §12)
        if (lease.state === 'accepted' && lease.accept_hash !== undefined) {
          void waitConfirmed(ledger, lease.accept_hash, { timeoutMs: acceptTimeoutMs, ...(signal ? { signal } : {}) }).then((ok) => ok && done());
        }
        else if (lease.state !== 'created') done(new NodeError(NodeErrorCodes.ACCEPT_TIMEOUT, `lease ${lease.state} before it was accepted`, { details: { lease_hash: leaseHash } }));
      };
      const onAbort = () => done(new NodeError(NodeErrorCodes.ACCEPT_TIMEOUT, 'request aborted while waiting for the accept', { details: { lease_hash: leaseHash } }));
      ledger.events.on('lease', onLease);
      signal?.addEventListener('abort', onAbort, { once: true });
      cancelTimer = timers.after(acceptTimeoutMs, () =>
        done(
          new NodeError(
            NodeErrorCodes.ACCEPT_TIMEOUT,
            `the provider did not accept within ${Math.round(acceptTimeoutMs / 1000)} s; the lease is cancelled once the accept window closes`,
            { details: { lease_hash: leaseHash } },
          ),
        ),
      );
      void ledger.getLease(leaseHash).then((l) => l && onLease({ lease: l }));
    });
  }
}

function pick(r: LeaseRequest) {
  return { vcpus: r.vcpus, memory_mb: r.memory_mb, disk_gb: r.disk_gb, duration: r.duration };
}
