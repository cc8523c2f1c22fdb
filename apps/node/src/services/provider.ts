import {
  type Block,
  type Certificate,
  CERTIFICATE_VALIDITY_NS,
  type Clock,
  type JsonValue,
  type LeaseBlock,
  leaseCost,
  type Logger,
  type NetworkParams,
  type VmInfo,
} from '@xe/core-types';
import { type KeyPair, sha256, signCertificate, signMarketplace } from '@xe/crypto';
import type { Ledger, LeaseRecord } from '@xe/ledger';
import type { VmManager } from '@xe/lima-provider';
import type { Metrics } from '../metrics.js';
import type { ChainWriter } from './chain-writer.js';
import type { LeaseRequestMsg, MarketplaceBook } from './marketplace.js';
import type { AttestPort, NetPort } from './ports.js';
import { nsToEpochMs, Scheduler } from './scheduler.js';
import type { TunnelServer } from './tunnel.js';

export interface ProviderOptions {
  key: KeyPair;
  network: NetworkParams;
  capacity: { vcpus: number; memory_mb: number; disk_gb: number };
  priceMultiplierMilli: number;
  /** advert republish interval (ms) and lifetime */
  advertIntervalMs?: number;
}

export interface ProviderComponents {
  ledger: Ledger;
  vms: VmManager;
  writer: ChainWriter;
  net: NetPort;
  attest: AttestPort;
  tunnels: TunnelServer;
  book: MarketplaceBook;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
}

const SETTLE_MARGIN_MS = 1500;
/** How long an offer holds its capacity: a consumer picks within its offer window (2 s by default), then makes and gossips the lease. */
const OFFER_HOLD_MS = 10_000;
const RETRY_MS = 5000;
const ATTEST_RATE_RETRY_MS = 31_000;

type Res = { vcpus: number; memory_mb: number; disk_gb: number };

function fits(want: Res, free: Res): boolean {
  return want.vcpus <= free.vcpus && want.memory_mb <= free.memory_mb && want.disk_gb <= free.disk_gb;
}

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

/**
 * The provider role: certificate, adverts, offers, and for each lease addressed to this
 * node: reservation, provisioning, attestations, `lease_accept`, VM info push; then the
 * settle at expiry and the teardown.
 */
export class ProviderService {
  private readonly scheduler = new Scheduler();
  private readonly reserved = new Map<string, { vcpus: number; memory_mb: number; disk_gb: number }>();
  /** Capacity promised in offers, until the consumer's lease arrives or the hold expires. */
  private readonly offerHolds = new Map<string, { consumer: string; res: { vcpus: number; memory_mb: number; disk_gb: number }; until: number }>();
  private readonly inFlight = new Set<string>();
  private certificate: Certificate | undefined;
  private capacityLock: Promise<unknown> = Promise.resolve();
  private advertTimer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private readonly vmInfo = new Map<string, VmInfo>();

  constructor(
    private readonly options: ProviderOptions,
    private readonly c: ProviderComponents,
  ) {}

  get address(): string {
    return this.options.key.address;
  }

  currentCertificate(): Certificate | undefined {
    return this.certificate;
  }

  async start(): Promise<void> {
    await this.ensureCertificate();
    const active = async (hash: string) => {
      const l = await this.c.ledger.getLease(hash);
      return !!l && l.provider === this.address && l.state === 'accepted';
    };
    const rec = await this.c.vms.reconcile(active);
    if (rec.adopted.length + rec.removed.length + rec.lost.length > 0) {
      this.c.logger.info('VMs reconciled', { adopted: rec.adopted.length, removed: rec.removed.length, lost: rec.lost.length });
    }
    for (const hash of rec.adopted) {
      const info = await this.c.vms.get(hash);
      if (info) this.vmInfo.set(hash, info);
    }
    // Resume: settle what is accepted; consider what is still waiting for us.
    for (const lease of await this.c.ledger.listLeases({ provider: this.address, state: 'accepted', limit: 1000 })) {
      if (rec.lost.includes(lease.hash)) this.c.logger.warn('VM of an active lease was lost while the provider was down', { lease: lease.hash });
      this.scheduleSettle(lease);
    }
    for (const lease of await this.c.ledger.listLeases({ provider: this.address, state: 'created', limit: 1000 })) {
      void this.onNewLease(lease);
    }
    this.c.ledger.events.on('lease', this.onLeaseEvent);
    const interval = this.options.advertIntervalMs ?? 60_000;
    this.advertTimer = setInterval(() => void this.advertise(), interval);
    this.advertTimer.unref();
    await this.advertise();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.scheduler.stop();
    if (this.advertTimer) clearInterval(this.advertTimer);
    this.c.ledger.events.off('lease', this.onLeaseEvent);
  }

  private onLeaseEvent = ({ lease }: { lease: LeaseRecord }) => {
    if (lease.provider !== this.address) return;
    if (lease.state === 'created') void this.onNewLease(lease);
    else if (lease.state === 'accepted') this.scheduleSettle(lease);
    else void this.cleanup(lease.hash, lease.state);
  };

  /** Runs capacity decisions one at a time, so a check and its hold cannot interleave. */
  private withCapacity<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.capacityLock.then(fn);
    this.capacityLock = run.catch(() => undefined);
    return run;
  }

  /** Issues (or renews past half-life) the certificate, stores and gossips it. */
  async ensureCertificate(): Promise<Certificate> {
    const now = this.c.clock();
    const cur = this.certificate ?? (await this.latestOwnCertificate());
    if (cur && cur.expires_at - now > CERTIFICATE_VALIDITY_NS / 2n && cur.price_multiplier_milli === BigInt(this.options.priceMultiplierMilli)) {
      this.certificate = cur;
    } else {
      const cert = signCertificate(
        {
          provider: this.address,
          provider_pub_key: this.options.key.pubKeyHex,
          score: benchmarkScore(),
          price_multiplier_milli: BigInt(this.options.priceMultiplierMilli),
          issued_at: now,
          expires_at: now + CERTIFICATE_VALIDITY_NS,
        },
        this.options.key,
        this.options.network.network_id,
      );
      await this.c.ledger.addCertificate(cert);
      this.certificate = cert;
      this.c.logger.info('certificate issued', { certificate: cert.hash, score: cert.score, expires_at: cert.expires_at });
      await this.c.net.publishCertificate(cert).catch(() => undefined);
    }
    const renewAt = nsToEpochMs(this.certificate.issued_at + (this.certificate.expires_at - this.certificate.issued_at) / 2n);
    this.scheduler.at('cert-renew', renewAt, () => void this.ensureCertificate().catch((err) => this.c.logger.error('certificate renewal failed', { err })));
    return this.certificate;
  }

  private async latestOwnCertificate(): Promise<Certificate | undefined> {
    const certs = await this.c.ledger.certificatesOf(this.address);
    let best: Certificate | undefined;
    for (const c of certs) if (!best || c.expires_at > best.expires_at) best = c;
    return best;
  }

  /**
   * Advertised capacity minus accepted leases, in-flight reservations and unexpired offer
   * holds, floored at 0.
   */
  async freeCapacity(): Promise<{ vcpus: number; memory_mb: number; disk_gb: number }> {
    const used = await this.c.ledger.providerUsage(this.address);
    let { vcpus, memory_mb, disk_gb } = this.options.capacity;
    vcpus -= used.vcpus;
    memory_mb -= used.memory_mb;
    disk_gb -= used.disk_gb;
    const now = Date.now();
    const holds = [];
    for (const [id, h] of this.offerHolds) {
      if (h.until <= now) this.offerHolds.delete(id);
      else holds.push(h.res);
    }
    for (const r of [...this.reserved.values(), ...holds]) {
      vcpus -= r.vcpus;
      memory_mb -= r.memory_mb;
      disk_gb -= r.disk_gb;
    }
    return { vcpus: Math.max(0, vcpus), memory_mb: Math.max(0, memory_mb), disk_gb: Math.max(0, disk_gb) };
  }

  async advertise(): Promise<void> {
    try {
      const cert = await this.ensureCertificate();
      const now = this.c.clock();
      const interval = BigInt(this.options.advertIntervalMs ?? 60_000);
      const ad = signMarketplace(
        'advertisement',
        this.options.network.network_id,
        {
          type: 'advertisement',
          provider: this.address,
          provider_pub_key: this.options.key.pubKeyHex,
          vcpus: this.options.capacity.vcpus,
          memory_mb: this.options.capacity.memory_mb,
          disk_gb: this.options.capacity.disk_gb,
          price_multiplier_milli: Number(cert.price_multiplier_milli),
          expires_at: now + interval * 3n * 1_000_000n,
          timestamp: now,
        },
        this.options.key,
      );
      this.c.book.putAdvert(ad as never);
      await this.c.net.publishMarketplace(ad);
    } catch (err) {
      this.c.logger.warn('advertisement failed', { err });
    }
  }

  /** Answers a lease request with a signed offer when there is room. */
  async onRequest(req: LeaseRequestMsg): Promise<void> {
    const cert = this.certificate;
    if (!cert || cert.expires_at <= this.c.clock()) return;
    const res = { vcpus: req.vcpus, memory_mb: req.memory_mb, disk_gb: req.disk_gb };
    // Hold the capacity while the consumer chooses, so two consumers are not promised the last slot.
    const free = await this.withCapacity(async () => {
      const f = await this.freeCapacity();
      if (!fits(res, f)) return undefined;
      this.offerHolds.set(req.request_id, { consumer: req.consumer, res, until: Date.now() + OFFER_HOLD_MS });
      return f;
    });
    if (!free) {
      this.c.logger.debug('no room for request', { request: req.request_id });
      return;
    }
    const total_cost = leaseCost({ ...req, multiplier_milli: cert.price_multiplier_milli });
    const offer = signMarketplace(
      'offer',
      this.options.network.network_id,
      {
        type: 'offer',
        provider: this.address,
        provider_pub_key: this.options.key.pubKeyHex,
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
        timestamp: this.c.clock(),
      },
      this.options.key,
    );
    await this.c.net.publishMarketplace(offer);
    this.c.metrics.counter('xe_offers_sent_total', 'Offers this provider sent')();
  }

  /** A lease addressed to us: reserve, provision, attest, accept, push VM info. */
  private async onNewLease(lease: LeaseRecord): Promise<void> {
    if (this.inFlight.has(lease.hash)) return;
    this.inFlight.add(lease.hash);
    const log = this.c.logger;
    const p = this.options.network.lease;
    const res = { vcpus: Number(lease.vcpus), memory_mb: Number(lease.memory_mb), disk_gb: Number(lease.disk_gb) };
    let provisioned = false;
    try {
      const deadline = lease.timestamp + p.accept_window_ns;
      if (this.c.clock() > deadline) {
        log.info('lease not accepted: accept window passed', { lease: lease.hash });
        return;
      }
      const own = await this.c.ledger.getCertificate(lease.certificate_hash);
      if (!own || own.provider !== this.address) {
        log.warn('lease not accepted: it names a certificate that is not ours', { lease: lease.hash });
        return;
      }
      const refused = await this.withCapacity(async () => {
        // The lease takes over the capacity its offer held.
        for (const [id, h] of this.offerHolds) {
          if (h.consumer === lease.consumer && h.res.vcpus === res.vcpus && h.res.memory_mb === res.memory_mb && h.res.disk_gb === res.disk_gb) {
            this.offerHolds.delete(id);
            break;
          }
        }
        if (!fits(res, await this.freeCapacity())) return 'no capacity left';
        const account = await this.c.ledger.getAccount(this.address);
        if (!account || account.balances.XUSD < lease.stake) return 'balance does not cover the stake';
        this.reserved.set(lease.hash, res);
        return undefined;
      });
      if (refused) {
        log.warn(`lease not accepted: ${refused}`, { lease: lease.hash, ...res, stake: lease.stake });
        return;
      }
      const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(Math.max(1000, nsToEpochMs(deadline) - Date.now()))]);
      const started = performance.now();
      const info = await this.c.vms.provision(lease.hash, res, lease.access_pub_key, { signal });
      provisioned = true;
      this.vmInfo.set(lease.hash, info);
      log.info('VM provisioned', { lease: lease.hash, ms: Math.round(performance.now() - started) });
      const block = (await this.c.ledger.getBlock(lease.hash)) as LeaseBlock;
      const attestations = await this.c.attest.gather({ lease_hash: lease.hash, block }, { signal });
      await this.c.writer.write(
        (s) => {
          if (s.balances.XUSD < lease.stake) throw new Error('balance no longer covers the stake');
          return {
            type: 'lease_accept' as const,
            asset: 'XUSD' as const,
            balance: s.balances.XUSD - lease.stake,
            source: lease.hash,
            amount: lease.stake,
            locked_r: p.emission_r_milli,
            certificate_hash: lease.certificate_hash,
            attestations,
          };
        },
        { signal, what: 'lease accept' },
      );
      this.c.metrics.counter('xe_leases_accepted_total', 'Leases this provider accepted')();
      log.info('lease accepted', { lease: lease.hash, consumer: lease.consumer, ms: Math.round(performance.now() - started) });
      void this.pushVmInfo(lease.consumer, lease.hash);
    } catch (err) {
      log.warn('lease not accepted', { lease: lease.hash, err });
      if (provisioned) {
        const now = await this.c.ledger.getLease(lease.hash);
        if (now?.state !== 'accepted') await this.c.vms.teardown(lease.hash).catch(() => undefined);
      }
    } finally {
      this.reserved.delete(lease.hash);
      this.inFlight.delete(lease.hash);
    }
  }

  private async pushVmInfo(consumer: string, leaseHash: string): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const info = await this.c.vms.get(leaseHash).catch(() => undefined);
      if (!info) return;
      try {
        await this.c.net.requestByAddress(consumer, '/xe/vminfo/1.0.0', { lease_hash: leaseHash, vm: info as unknown as JsonValue }, { timeoutMs: 5000 });
        return;
      } catch (err) {
        this.c.logger.debug('VM info push failed; the consumer will pull it', { lease: leaseHash, err });
        await new Promise((r) => setTimeout(r, 2000 * (attempt + 1)).unref());
      }
    }
  }

  /** The VM info of a lease this node provides (for `/xe/vminfo/1.0.0` pulls). */
  async vmInfoFor(leaseHash: string): Promise<VmInfo | undefined> {
    return (await this.c.vms.get(leaseHash)) ?? this.vmInfo.get(leaseHash);
  }

  private scheduleSettle(lease: LeaseRecord): void {
    if (lease.expiry === 0n) return;
    const name = `settle:${lease.hash}`;
    if (this.scheduler.has(name)) return;
    this.scheduler.at(name, nsToEpochMs(lease.expiry) + SETTLE_MARGIN_MS, () => void this.settle(lease.hash));
  }

  private async settle(leaseHash: string): Promise<void> {
    const log = this.c.logger;
    const lease = await this.c.ledger.getLease(leaseHash);
    if (lease?.state !== 'accepted') return;
    const lastChance = lease.expiry + this.options.network.lease.settle_grace_ns;
    if (this.c.clock() > lastChance) {
      log.error('settle window missed', { lease: leaseHash });
      return;
    }
    try {
      const block = (await this.c.ledger.getBlock(leaseHash)) as Block;
      const attestations = await this.c.attest.gather({ lease_hash: leaseHash, block: block as LeaseBlock }, { signal: this.abort.signal });
      await this.c.writer.write(
        (s) => ({
          type: 'lease_settle' as const,
          asset: 'XE' as const,
          balance: s.balances.XE + lease.emission,
          source: leaseHash,
          amount: lease.emission,
          attestations,
        }),
        { signal: this.abort.signal, what: 'lease settle' },
      );
      this.c.metrics.counter('xe_leases_settled_total', 'Leases this provider settled')();
      log.info('lease settled', { lease: leaseHash, emission: lease.emission });
    } catch (err) {
      if (this.abort.signal.aborted) return;
      const code = (err as { code?: string }).code;
      const delay = code === 'RATE_LIMITED' || code === 'TIMEKEEPER_UNAVAILABLE' ? ATTEST_RATE_RETRY_MS : RETRY_MS;
      log.warn('settle failed, retrying', { lease: leaseHash, err, retry_ms: delay });
      this.scheduler.at(`settle:${leaseHash}`, Date.now() + delay, () => void this.settle(leaseHash));
    }
  }

  /** A lease of ours ended: close its tunnels and remove its VM. */
  private async cleanup(leaseHash: string, state: string): Promise<void> {
    this.scheduler.cancel(`settle:${leaseHash}`);
    this.c.tunnels.closeLease(leaseHash);
    this.vmInfo.delete(leaseHash);
    try {
      await this.c.vms.teardown(leaseHash);
      this.c.logger.info('VM torn down', { lease: leaseHash, state });
    } catch (err) {
      this.c.logger.error('VM teardown failed', { lease: leaseHash, err });
    }
  }
}
