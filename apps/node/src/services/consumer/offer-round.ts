import { randomBytes } from 'node:crypto';
import type { LeaseRequest } from '@xe/api-server';
import { type Clock, type LeaseBlock, leaseCost, type Logger, MIN_PRICE_MULTIPLIER_MILLI, type NetworkParams, parseCertificate } from '@xe/core-types';
import { type KeyPair, signMarketplace, verifyCertificate } from '@xe/crypto';
import type { Ledger, LeaseRecord } from '@xe/ledger';
import { NodeError, NodeErrorCodes } from '../../errors.js';
import type { Metrics } from '../../metrics.js';
import type { ChainWriter } from '../chain-writer.js';
import type { MarketplaceBook, OfferMsg } from '../marketplace.js';
import type { NetPort, Timers } from '../ports.js';
import { sleep } from '../scheduler.js';

const CERT_FETCH_TIMEOUT_MS = 3000;

/** Cheapest first; ties go to the provider with the most free capacity. */
export function compareOffers(a: OfferMsg, b: OfferMsg): number {
  if (a.total_cost !== b.total_cost) return a.total_cost < b.total_cost ? -1 : 1;
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
    const offers: OfferMsg[] = [];
    const stopWaiting = book.waitOffers(request_id, (o) => offers.push(o));
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
    const valid: OfferMsg[] = [];
    for (const o of offers) if (await this.checkOffer(o, req)) valid.push(o);
    if (valid.length === 0) throw new NodeError(NodeErrorCodes.NO_PROVIDERS, 'no providers: no provider with room answered the request');
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

  /** An offer for exactly what was asked, by a provider with a known unexpired certificate, at that certificate's price. */
  private async checkOffer(o: OfferMsg, req: LeaseRequest): Promise<boolean> {
    if (o.vcpus !== req.vcpus || o.memory_mb !== req.memory_mb || o.disk_gb !== req.disk_gb || o.duration !== req.duration) return false;
    let cert = await this.components.ledger.getCertificate(o.certificate_hash);
    if (!cert) cert = await this.fetchCertificate(o.provider, o.certificate_hash);
    if (!cert || cert.provider !== o.provider) return false;
    if (cert.expires_at <= this.components.clock()) return false;
    return leaseCost({ ...req, multiplier_milli: cert.price_multiplier_milli }) === o.total_cost;
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
        if (lease.state === 'accepted') done();
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
