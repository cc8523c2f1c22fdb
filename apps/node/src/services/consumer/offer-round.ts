import { randomBytes } from 'node:crypto';
import type { LeaseRequest } from '@xe/api-server';
import {
  abortError,
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
import { ADVERT_MAX_TTL_MS, type MarketplaceBook, type OfferMsg, spendableXusd } from '../marketplace.js';
import type { NetPort, Timers } from '../ports.js';

const CERT_FETCH_TIMEOUT_MS = 3000;
/** Unknown certificates fetched per round at most (all at once, inside the offer window). */
export const MAX_CERT_FETCHES = 8;
/**
 * Providers a round waits for at most. A round closes before its window only when every
 * provider it expects (`expectedProviders`) has answered; with more candidates than this
 * it runs the whole window, so adverts cost an attacker nothing but can only lengthen a
 * round, never shorten it.
 */
export const MAX_EXPECTED_OFFERS = 16;
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

/**
 * The providers whose offers a request can count on (SPEC §10.2: each provider with room
 * answers): every live advert in the book other than the consumer's own whose advertised
 * capacity, less what the ledger says its accepted leases use, fits the request, and
 * whose XUSD covers the stake of the cheapest possible price. Undefined when there are
 * none (offers may still come from providers whose adverts this node has not seen), more
 * than MAX_EXPECTED_OFFERS whose adverts fit, or when the book, being full, dropped an
 * advert within the last ADVERT_MAX_TTL_MS: then the round waits its window.
 * A hostile advert only adds a provider to wait for, up to the window; it never removes
 * an honest one, so it cannot close a round before the honest offers are in.
 */
export async function expectedProviders(
  components: { book: Pick<MarketplaceBook, 'liveAdverts' | 'evictedAt'>; ledger: Pick<Ledger, 'providerUsage'> & Parameters<typeof spendableXusd>[0]; clock: Clock },
  req: Pick<LeaseRequest, 'vcpus' | 'memory_mb' | 'disk_gb' | 'duration'>,
  opts: { self: string; stakeDivisor: bigint | number; signal?: AbortSignal },
): Promise<Set<string> | undefined> {
  const { book, ledger, clock } = components;
  // a full book may have dropped an honest advert for a flood of others: no list to trust for an advert's lifetime
  if (book.evictedAt > 0n && clock() - book.evictedAt < BigInt(ADVERT_MAX_TTL_MS) * 1_000_000n) return undefined;
  const fitting = book
    .liveAdverts()
    .filter((ad) => ad.provider !== opts.self && req.vcpus <= ad.vcpus && req.memory_mb <= ad.memory_mb && req.disk_gb <= ad.disk_gb);
  if (fitting.length === 0 || fitting.length > MAX_EXPECTED_OFFERS) return undefined;
  const minStake = leaseStake(leaseCost({ ...req, multiplier_milli: MIN_PRICE_MULTIPLIER_MILLI }), opts.stakeDivisor);
  const withRoom = await Promise.all(
    fitting.map(async (ad) => {
      const [used, spendable] = await Promise.all([ledger.providerUsage(ad.provider, opts.signal ? { signal: opts.signal } : {}), spendableXusd(ledger, ad.provider)]);
      const room = req.vcpus <= ad.vcpus - used.vcpus && req.memory_mb <= ad.memory_mb - used.memory_mb && req.disk_gb <= ad.disk_gb - used.disk_gb;
      return room && spendable >= minStake ? ad.provider : undefined;
    }),
  );
  const expected = new Set(withRoom.filter((p): p is string => p !== undefined));
  return expected.size > 0 ? expected : undefined;
}

/** How a round went, for the log line of an answered request (milliseconds; phases of SPEC §10 steps 1–4). */
export interface RoundPhases {
  /** request signed and gossiped → offers in (window end, or the last expected offer checked) */
  offers_ms: number;
  /** offers chosen → lease block built, PoW solved, committed */
  lease_block_ms: number;
  /** lease committed → the ledger holds its accept */
  accept_seen_ms: number;
  /** accept held → accept confirmed */
  accept_confirm_ms: number;
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
    // The round closes early once every expected provider's offer has been checked (or the window ends).
    const answered = new Set<string>();
    let expected: Set<string> | undefined;
    let allIn = () => {};
    const allAnswered = new Promise<void>((resolve) => {
      allIn = resolve;
    });
    const maybeAllIn = () => {
      if (expected && [...expected].every((p) => answered.has(p))) allIn();
    };
    let stopWaiting: () => void;
    try {
      stopWaiting = book.waitOffers(request_id, (o) => {
        if (seen.has(o.provider)) return;
        seen.add(o.provider);
        log.debug('offer in', { request: request_id, provider: o.provider, ms: ms(performance.now() - started) });
        checks.push(
          this.checkOffer(o, req, fetches)
            .catch(() => undefined)
            .finally(() => {
              log.debug('offer checked', { request: request_id, provider: o.provider, ms: ms(performance.now() - started) });
              answered.add(o.provider);
              maybeAllIn();
            }),
        );
      });
    } catch {
      throw new NodeError(NodeErrorCodes.NO_PROVIDERS, 'too many lease requests are open on this node; retry shortly');
    }
    const started = performance.now();
    let closedEarly = false;
    try {
      const expecting = expectedProviders({ book, ledger, clock }, req, {
        self: key.address,
        stakeDivisor: network.lease.stake_divisor,
        ...(opts.signal ? { signal: opts.signal } : {}),
      })
        .then((set) => {
          log.debug('providers expected', { request: request_id, n: set?.size ?? 0, ms: ms(performance.now() - started) });
          expected = set;
          maybeAllIn();
        })
        .catch(() => undefined);
      const msg = signMarketplace(
        'request',
        network.network_id,
        { type: 'request', consumer: key.address, consumer_pub_key: key.pubKeyHex, request_id, ...pick(req), timestamp: clock() },
        key,
      );
      await net.publishMarketplace(msg);
      log.info('lease requested', { request: request_id, ...pick(req) });
      closedEarly = await windowOrAllIn(timers, offerWindowMs, allAnswered, opts.signal);
      await expecting;
    } finally {
      stopWaiting();
    }
    // Offers whose certificate is still being fetched get a short grace, never a full fetch each.
    let cancelGrace = () => {};
    const grace = new Promise<undefined>((resolve) => {
      cancelGrace = timers.after(Math.min(1000, CERT_FETCH_TIMEOUT_MS), () => resolve(undefined));
    });
    const checked = await Promise.all(checks.map((c) => Promise.race([c, grace])));
    cancelGrace();
    const offersMs = performance.now() - started;
    let valid = checked.filter((o): o is RankedOffer => o !== undefined);
    if (valid.length === 0) throw new NodeError(NodeErrorCodes.NO_PROVIDERS, 'no providers: no provider with room answered the request');
    const reliable = valid.filter((o) => !unreliable(o.reputation));
    if (reliable.length > 0) valid = reliable;
    valid.sort(compareOffers);
    const best = valid[0]!;
    if (best.total_cost > balance) {
      throw new NodeError(NodeErrorCodes.INSUFFICIENT_BALANCE, `insufficient XUSD: balance ${balance} µXUSD, the cheapest offer costs ${best.total_cost} µXUSD`);
    }
    log.info('offer chosen', {
      request: request_id,
      provider: best.provider,
      cost: best.total_cost,
      offers: valid.length,
      expected: expected?.size ?? 0,
      closed_early: closedEarly,
    });
    const chosenAt = performance.now();
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
    const committedAt = performance.now();
    const { seenAt } = await this.waitAccepted(lease.hash, opts.signal);
    const phases: RoundPhases = {
      offers_ms: ms(offersMs),
      lease_block_ms: ms(committedAt - chosenAt),
      accept_seen_ms: ms(seenAt - committedAt),
      accept_confirm_ms: ms(performance.now() - seenAt),
    };
    log.info('lease request answered', { request: request_id, lease: lease.hash, ms: ms(performance.now() - started), ...phases });
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
    const since = now - DAY_NS;
    const recent = async (state: 'settled' | 'cancelled') =>
      (await allLeases(ledger, { provider: o.provider, state })).filter((l) => l.timestamp >= since).length;
    // independent reads, at once: the round may close as soon as this check is done
    const [spendable, used, settled, cancelled] = await Promise.all([
      spendableXusd(ledger, o.provider),
      ledger.providerUsage(o.provider),
      recent('settled'),
      recent('cancelled'),
    ]);
    if (spendable < leaseStake(o.total_cost, this.options.network.lease.stake_divisor)) return undefined;
    const ad = book.advertOf(o.provider);
    const cap = (offered: number, advertised: number | undefined, inUse: number) => Math.max(0, Math.min(offered, (advertised ?? 0) - inUse));
    return {
      ...o,
      available_vcpus: cap(o.available_vcpus, ad?.vcpus, used.vcpus),
      available_memory_mb: cap(o.available_memory_mb, ad?.memory_mb, used.memory_mb),
      available_disk_gb: cap(o.available_disk_gb, ad?.disk_gb, used.disk_gb),
      reputation: { settled, cancelled },
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
  private waitAccepted(leaseHash: string, signal?: AbortSignal): Promise<{ seenAt: number }> {
    const { ledger, timers } = this.components;
    const acceptTimeoutMs = this.options.acceptTimeoutMs;
    let seenAt: number | undefined;
    return new Promise((resolve, reject) => {
      let cancelTimer = () => {};
      const done = (err?: Error) => {
        cancelTimer();
        ledger.events.off('lease', onLease);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve({ seenAt: seenAt ?? performance.now() });
      };
      const onLease = ({ lease }: { lease: LeaseRecord }) => {
        if (lease.hash !== leaseHash) return;
        // the request answers once the accept is confirmed (SPEC §12)
        if (lease.state === 'accepted' && lease.accept_hash !== undefined) {
          seenAt ??= performance.now();
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

/**
 * Waits out the offer window unless `allIn` resolves first; true when it did (the round
 * closed early). An aborted `signal` rejects with its coded abort error.
 */
function windowOrAllIn(timers: Timers, windowMs: number, allIn: Promise<void>, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    let over = false;
    const finish = (early: boolean) => {
      if (over) return;
      over = true;
      cancel();
      signal?.removeEventListener('abort', onAbort);
      resolve(early);
    };
    const onAbort = () => {
      if (over) return;
      over = true;
      cancel();
      reject(abortError(signal));
    };
    const cancel = timers.after(windowMs, () => finish(false));
    signal?.addEventListener('abort', onAbort, { once: true });
    void allIn.then(() => finish(true));
  });
}

const ms = (x: number) => Math.round(x * 10) / 10;

function pick(r: LeaseRequest) {
  return { vcpus: r.vcpus, memory_mb: r.memory_mb, disk_gb: r.disk_gb, duration: r.duration };
}
