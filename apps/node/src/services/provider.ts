import { type Certificate, type Clock, type Logger, type NetworkParams, NS_PER_MS, NS_PER_SEC, nsToMs, type Resources, type VmInfo } from '@xe/core-types';
import { canonicalHostKey, type KeyPair, signVmHostKey } from '@xe/crypto';
import type { Ledger, LeaseRecord } from '@xe/ledger';
import type { Metrics } from '../metrics.js';
import type { ChainWriter } from './chain-writer.js';
import type { SignedVmInfo } from './consumer/vm-info.js';
import type { LeaseRequestMsg, MarketplaceBook } from './marketplace.js';
import type { AttestPort, NetPort, Timers, TunnelPort, VmPort } from './ports.js';
import { ACCEPT_LEAD_NS, LeaseAcceptor } from './provider/accept.js';
import { allLeases } from './lease-pages.js';
import { Capacity } from './provider/capacity.js';
import { CertificateKeeper } from './provider/certificate.js';
import { Offers } from './provider/offers.js';
import { LeaseSettler } from './provider/settle.js';
import { Scheduler, sleep, systemTimers } from './scheduler.js';

export { benchmarkScore } from './provider/certificate.js';

/**
 * An ended lease's VM is torn down this long after the lease ended (its tunnels close at
 * once, so the consumer's way in is gone), and then only once no accept has run for
 * TEARDOWN_QUIET_MS — at most TEARDOWN_MAX_DEFER_MS after the lease ended. A provider at
 * capacity gets its next lease right when one ends; that consumer is waiting for the accept,
 * nobody waits for a teardown, and the two (VM start; unmount, removal) share the machine.
 */
export const TEARDOWN_DELAY_MS = 1000;
export const TEARDOWN_QUIET_MS = 250;
export const TEARDOWN_MAX_DEFER_MS = 10_000;

export interface ProviderOptions {
  key: KeyPair;
  network: NetworkParams;
  capacity: Resources;
  priceMultiplierMilli: number;
  /** advert republish interval (ms); an advert lives three intervals */
  advertIntervalMs?: number;
}

export interface ProviderComponents {
  ledger: Ledger;
  vms: VmPort;
  writer: ChainWriter;
  net: NetPort;
  attest: AttestPort;
  tunnels: TunnelPort;
  book: MarketplaceBook;
  clock: Clock;
  /** Timers on the clock's time line (default: the process's). */
  timers?: Timers;
  logger: Logger;
  metrics: Metrics;
}

/**
 * The provider role, one job per module: the certificate (`provider/certificate.ts`),
 * capacity accounting (`capacity.ts`), adverts and offers (`offers.ts`), the accept of
 * each lease addressed to this node (`accept.ts`) and the settle at expiry (`settle.ts`).
 * This class wires them, routes ledger lease events to them and tears VMs down when a
 * lease ends.
 */
export class ProviderService {
  private readonly abort = new AbortController();
  private readonly scheduler: Scheduler;
  private readonly certificates: CertificateKeeper;
  private readonly offers: Offers;
  private readonly acceptor: LeaseAcceptor;
  private readonly settler: LeaseSettler;
  private readonly capacity: Capacity;
  private readonly advertIntervalMs: number;
  /**
   * False when the network's accept window is not longer than the lead a provider keeps
   * (SPEC §10.5: it acts only while now ≤ lease timestamp + accept window − 30 s): no lease
   * could ever be accepted, so this provider neither advertises nor offers.
   */
  private readonly canAccept: boolean;

  constructor(
    private readonly options: ProviderOptions,
    private readonly components: ProviderComponents,
  ) {
    const { ledger, vms, writer, net, attest, book, clock, logger, metrics } = components;
    const timers = components.timers ?? systemTimers;
    const { key, network } = options;
    const signal = this.abort.signal;
    this.advertIntervalMs = options.advertIntervalMs ?? 60_000;
    this.canAccept = network.lease.accept_window_ns > ACCEPT_LEAD_NS;
    this.scheduler = new Scheduler({ clock, timers });
    this.certificates = new CertificateKeeper(
      { key, networkId: network.network_id, priceMultiplierMilli: options.priceMultiplierMilli },
      { ledger, net, scheduler: this.scheduler, clock, logger },
    );
    const capacity = new Capacity({ address: key.address, total: options.capacity }, { ledger, clock });
    this.capacity = capacity;
    this.offers = new Offers(
      { key, networkId: network.network_id, advertIntervalMs: this.advertIntervalMs },
      { certificates: this.certificates, capacity, net, book, clock, logger, metrics },
    );
    this.acceptor = new LeaseAcceptor(
      { address: key.address, lease: network.lease, signal },
      { ledger, vms, writer, net, attest, capacity, clock, timers, logger, metrics, vmInfoFor: (hash) => this.vmInfoFor(hash) },
    );
    this.settler = new LeaseSettler({ lease: network.lease, signal }, { ledger, writer, attest, scheduler: this.scheduler, clock, logger, metrics });
  }

  get address(): string {
    return this.options.key.address;
  }

  currentCertificate(): Certificate | undefined {
    return this.certificates.current();
  }

  /** Issues or renews the certificate (see `CertificateKeeper.ensure`). */
  ensureCertificate(): Promise<Certificate> {
    return this.certificates.ensure();
  }

  async start(): Promise<void> {
    const { ledger, vms, logger } = this.components;
    await this.certificates.ensure();
    const active = async (hash: string) => {
      const l = await ledger.getLease(hash);
      return !!l && l.provider === this.address && l.state === 'accepted';
    };
    const rec = await vms.reconcile(active);
    if (rec.adopted.length + rec.removed.length + rec.lost.length > 0) {
      logger.info('VMs reconciled', { adopted: rec.adopted.length, removed: rec.removed.length, lost: rec.lost.length });
    }
    for (const hash of rec.adopted) {
      const info = await vms.get(hash);
      if (info) this.acceptor.remember(hash, info);
    }
    // Resume: settle what is accepted; consider what is still waiting for us.
    for (const lease of await allLeases(ledger, { provider: this.address, state: 'accepted' })) {
      if (rec.lost.includes(lease.hash)) logger.warn('VM of an active lease was lost while the provider was down', { lease: lease.hash });
      this.settler.schedule(lease);
    }
    for (const lease of await allLeases(ledger, { provider: this.address, state: 'created' })) {
      void this.acceptor.accept(lease);
    }
    ledger.events.on('lease', this.onLeaseEvent);
    if (!this.canAccept) {
      logger.error('the network accept window leaves no time to accept a lease: this provider neither advertises nor offers', {
        accept_window_s: Number(this.options.network.lease.accept_window_ns / NS_PER_SEC),
        lead_s: Number(ACCEPT_LEAD_NS / NS_PER_SEC),
      });
      return;
    }
    this.scheduleAdvert();
    await this.offers.advertise();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.scheduler.stop();
    this.components.ledger.events.off('lease', this.onLeaseEvent);
    this.capacity.close();
    await this.components.vms.close?.().catch((err) => this.components.logger.warn('VM backend close failed', { err }));
  }

  /** Signs and gossips a capacity advertisement. */
  advertise(): Promise<void> {
    return this.offers.advertise();
  }

  /** Answers a lease request with a signed offer when there is room. */
  onRequest(req: LeaseRequestMsg): Promise<void> {
    if (!this.canAccept) return Promise.resolve();
    return this.offers.onRequest(req);
  }

  /**
   * The VM info of a lease this node provides (for `/xe/vminfo/1.0.0` pulls and pushes, and
   * `GET /vms/{hash}`): the VM object and, when the backend reports the VM's SSH host key,
   * that key (canonical `<type> <base64>`) with this provider's signature over it
   * (`signVmHostKey`), so the consumer can pin it without trusting any node in between.
   */
  async vmInfoFor(leaseHash: string): Promise<SignedVmInfo | undefined> {
    const info = (await this.components.vms.get(leaseHash)) ?? this.acceptor.info(leaseHash);
    return info && this.signedVmInfo(info);
  }

  /** `info` with its host key (when it has one) canonical and signed by this provider for `info.lease_hash`. */
  signedVmInfo(info: VmInfo): SignedVmInfo {
    const { host_public_key: raw, host_key_signature: _unsigned, ...rest } = info as SignedVmInfo;
    const key = typeof raw === 'string' ? canonicalHostKey(raw) : undefined;
    if (key === undefined) return rest;
    return { ...rest, host_public_key: key, host_key_signature: signVmHostKey(this.options.key, info.lease_hash, key) };
  }

  private scheduleAdvert(): void {
    this.scheduler.after('advert', this.advertIntervalMs, () => {
      this.scheduleAdvert();
      void this.offers.advertise();
    });
  }

  private onLeaseEvent = ({ lease }: { lease: LeaseRecord }) => {
    if (lease.provider !== this.address) return;
    if (lease.state === 'created') void this.acceptor.accept(lease);
    else if (lease.state === 'accepted') this.settler.schedule(lease);
    else void this.cleanup(lease.hash, lease.state);
  };

  /**
   * Resolves when an ended lease's VM may be torn down (see TEARDOWN_DELAY_MS); at once when
   * the provider stops (what it left running is torn down by the next start's reconcile if
   * the stop cuts the teardown short).
   */
  private async teardownMoment(): Promise<void> {
    const { clock } = this.components;
    const timers = this.components.timers ?? systemTimers;
    const signal = this.abort.signal;
    const endNs = clock() + BigInt(TEARDOWN_MAX_DEFER_MS) * NS_PER_MS;
    let wait = TEARDOWN_DELAY_MS;
    while (wait > 0 && !signal.aborted) {
      const left = nsToMs(endNs - clock());
      if (left <= 0) return;
      await sleep(timers, Math.min(wait, left), signal).catch(() => undefined);
      wait = this.acceptor.quietIn(TEARDOWN_QUIET_MS);
    }
  }

  /** A lease of ours ended: close its tunnels and remove its VM. */
  private async cleanup(leaseHash: string, state: string): Promise<void> {
    const { vms, tunnels, logger } = this.components;
    this.settler.unschedule(leaseHash);
    tunnels.closeLease(leaseHash);
    this.acceptor.forget(leaseHash);
    try {
      await this.teardownMoment();
      await vms.teardown(leaseHash);
      logger.info('VM torn down', { lease: leaseHash, state });
    } catch (err) {
      logger.error('VM teardown failed', { lease: leaseHash, err });
    }
  }
}
