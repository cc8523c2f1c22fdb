import type { LeaseRequest } from '@xe/api-server';
import type { Block, Clock, Logger, NetworkParams } from '@xe/core-types';
import type { KeyPair } from '@xe/crypto';
import type { Ledger } from '@xe/ledger';
import type { Metrics } from '../metrics.js';
import type { ChainWriter } from './chain-writer.js';
import { LeaseCanceller } from './consumer/cancel.js';
import { ForceSettler } from './consumer/force-settle.js';
import { LeaseWatch } from './consumer/lease-watch.js';
import { OfferRound } from './consumer/offer-round.js';
import { type SignedVmInfo, VmInfoStore } from './consumer/vm-info.js';
import type { MarketplaceBook } from './marketplace.js';
import type { AttestPort, NetPort, Timers } from './ports.js';
import { Scheduler, systemTimers } from './scheduler.js';

export type { LeaseRequest };
export { compareOffers } from './consumer/offer-round.js';
export { parseVmInfo, type SignedVmInfo } from './consumer/vm-info.js';

export interface ConsumerOptions {
  key: KeyPair;
  network: NetworkParams;
  offerWindowMs: number;
  acceptTimeoutMs: number;
}

export interface ConsumerComponents {
  ledger: Ledger;
  writer: ChainWriter;
  net: NetPort;
  attest: AttestPort;
  book: MarketplaceBook;
  clock: Clock;
  /** Timers on the clock's time line (default: the process's). */
  timers?: Timers;
  logger: Logger;
  metrics: Metrics;
}

/**
 * The consumer role (SPEC §10), one job per module: the marketplace round up to the
 * accept (`consumer/offer-round.ts`), the watch over its leases (`lease-watch.ts`) that
 * cancels leases never accepted (`cancel.ts`), force-settles leases never settled
 * (`force-settle.ts`) and pulls the VM info of accepted ones (`vm-info.ts`).
 */
export class ConsumerService {
  private readonly abort = new AbortController();
  private readonly scheduler: Scheduler;
  private readonly round: OfferRound;
  private readonly canceller: LeaseCanceller;
  private readonly forceSettler: ForceSettler;
  private readonly vms: VmInfoStore;
  private readonly watch: LeaseWatch;

  constructor(
    private readonly options: ConsumerOptions,
    components: ConsumerComponents,
  ) {
    const { ledger, writer, net, attest, book, clock, logger, metrics } = components;
    const timers = components.timers ?? systemTimers;
    const { key, network } = options;
    const signal = this.abort.signal;
    const address = key.address;
    this.scheduler = new Scheduler({ clock, timers });
    const scheduler = this.scheduler;
    this.round = new OfferRound(options, { ledger, writer, net, book, clock, timers, logger, metrics });
    this.canceller = new LeaseCanceller({ address, lease: network.lease, signal }, { ledger, writer, attest, scheduler, clock, logger });
    this.forceSettler = new ForceSettler({ address, lease: network.lease, signal }, { ledger, writer, attest, scheduler, clock, logger });
    this.vms = new VmInfoStore({ signal }, { ledger, net, scheduler });
    this.watch = new LeaseWatch({ address }, { ledger, canceller: this.canceller, forceSettler: this.forceSettler, vmInfo: this.vms });
  }

  get address(): string {
    return this.options.key.address;
  }

  async start(): Promise<void> {
    await this.watch.start();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.scheduler.stop();
    this.watch.stop();
  }

  /** Runs the marketplace round and creates the lease; resolves once the provider accepted. */
  requestLease(req: LeaseRequest, opts: { signal?: AbortSignal } = {}): Promise<{ lease_hash: string }> {
    return this.round.requestLease(req, opts);
  }

  /** The automatic cancel of a lease of ours that was never accepted, once SPEC §5 allows it. */
  cancel(leaseHash: string): Promise<void> {
    return this.canceller.cancel(leaseHash);
  }

  /** The operator's cancel (`POST /leases/{hash}/cancel`). */
  cancelNow(leaseHash: string): Promise<Block> {
    return this.canceller.cancelNow(leaseHash);
  }

  /** When the provider never settled: attest and take the cost back (SPEC §5). */
  forceSettle(leaseHash: string): Promise<void> {
    return this.forceSettler.forceSettle(leaseHash);
  }

  /** VM info pushed by the lease's provider; refused (VM_HOST_KEY_INVALID) when its host key signature does not verify. */
  putVmInfo(leaseHash: string, vm: SignedVmInfo): Promise<void> {
    return this.vms.put(leaseHash, vm);
  }

  vmInfo(leaseHash: string): SignedVmInfo | undefined {
    return this.vms.get(leaseHash);
  }

  vmInfos(): SignedVmInfo[] {
    return this.vms.all();
  }
}
