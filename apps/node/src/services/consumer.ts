import { randomBytes } from 'node:crypto';
import type { LeaseRequest } from '@xe/api-server';
import {
  type Clock,
  fields,
  type LeaseBlock,
  leaseCost,
  type Logger,
  MIN_PRICE_MULTIPLIER_MILLI,
  type NetworkParams,
  parseCertificate,
  type VmInfo,
  VM_STATUSES,
} from '@xe/core-types';
import { type KeyPair, signMarketplace, verifyCertificate } from '@xe/crypto';
import type { Ledger, LeaseRecord } from '@xe/ledger';
import { NodeError, NodeErrorCodes } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { ChainWriter } from './chain-writer.js';
import type { MarketplaceBook, OfferMsg } from './marketplace.js';
import type { AttestPort, NetPort } from './ports.js';
import { nsToEpochMs, Scheduler } from './scheduler.js';

export type { LeaseRequest };

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
  logger: Logger;
  metrics: Metrics;
}

const MARGIN_MS = 1500;

/** Cheapest first; ties go to the provider with the most free capacity. */
export function compareOffers(a: OfferMsg, b: OfferMsg): number {
  if (a.total_cost !== b.total_cost) return a.total_cost < b.total_cost ? -1 : 1;
  const cap = (o: OfferMsg) => [o.available_vcpus, o.available_memory_mb, o.available_disk_gb];
  const ca = cap(a);
  const cb = cap(b);
  for (let i = 0; i < 3; i++) if (ca[i] !== cb[i]) return cb[i]! - ca[i]!;
  return a.provider < b.provider ? -1 : 1;
}

export function parseVmInfo(value: unknown): VmInfo {
  const o = fields.expectObject(value, 'vm');
  const status = o.status;
  if (typeof status !== 'string' || !(VM_STATUSES as readonly string[]).includes(status)) throw fields.invalid('vm.status', 'unknown status');
  const r = fields.expectObject(o.resources, 'vm.resources');
  return {
    lease_hash: fields.hash(o.lease_hash, 'vm.lease_hash'),
    status: status as VmInfo['status'],
    resources: {
      vcpus: fields.boundedInt(r.vcpus, 'vm.resources.vcpus', 0, 1e9),
      memory_mb: fields.boundedInt(r.memory_mb, 'vm.resources.memory_mb', 0, 1e12),
      disk_gb: fields.boundedInt(r.disk_gb, 'vm.resources.disk_gb', 0, 1e12),
    },
    created_at: fields.u64(o.created_at, 'vm.created_at'),
  };
}

/**
 * The consumer role (SPEC §10): marketplace request, offer window, cheapest offer, lease
 * block, wait for the accept; cancels leases never accepted, force-settles leases never
 * settled, and pulls the VM info of its leases from their providers.
 */
export class ConsumerService {
  private readonly scheduler = new Scheduler();
  private readonly abort = new AbortController();
  private readonly vms = new Map<string, VmInfo>();

  constructor(
    private readonly options: ConsumerOptions,
    private readonly c: ConsumerComponents,
  ) {}

  get address(): string {
    return this.options.key.address;
  }

  async start(): Promise<void> {
    this.c.ledger.events.on('lease', this.onLeaseEvent);
    for (const state of ['created', 'accepted'] as const) {
      for (const lease of await this.c.ledger.listLeases({ consumer: this.address, state, limit: 1000 })) this.track(lease);
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.scheduler.stop();
    this.c.ledger.events.off('lease', this.onLeaseEvent);
  }

  private onLeaseEvent = ({ lease }: { lease: LeaseRecord }) => {
    if (lease.consumer === this.address) this.track(lease);
  };

  private track(lease: LeaseRecord): void {
    const p = this.options.network.lease;
    if (lease.state === 'created') {
      const at = nsToEpochMs(this.cancelAllowedAt(lease)) + MARGIN_MS;
      this.scheduler.at(`cancel:${lease.hash}`, at, () => void this.cancel(lease.hash));
    } else if (lease.state === 'accepted') {
      this.scheduler.cancel(`cancel:${lease.hash}`);
      const at = nsToEpochMs(lease.expiry + p.settle_grace_ns + p.force_settle_gap_ns) + MARGIN_MS;
      this.scheduler.at(`force:${lease.hash}`, at, () => void this.forceSettle(lease.hash));
      if (!this.vms.has(lease.hash)) void this.pullVmInfo(lease);
    } else {
      this.scheduler.cancel(`cancel:${lease.hash}`);
      this.scheduler.cancel(`force:${lease.hash}`);
      const vm = this.vms.get(lease.hash);
      if (vm) this.vms.set(lease.hash, { ...vm, status: 'stopped' });
    }
  }

  /** Runs the marketplace round and creates the lease; resolves once the provider accepted. */
  async requestLease(req: LeaseRequest, opts: { signal?: AbortSignal } = {}): Promise<{ lease_hash: string }> {
    const { key, network } = this.options;
    const log = this.c.logger;
    const account = await this.c.ledger.getAccount(this.address);
    const balance = account?.balances.XUSD ?? 0n;
    const cheapest = leaseCost({ ...req, multiplier_milli: MIN_PRICE_MULTIPLIER_MILLI });
    if (balance < cheapest) {
      throw new NodeError(NodeErrorCodes.INSUFFICIENT_BALANCE, `insufficient XUSD: balance ${balance} µXUSD, the lease costs at least ${cheapest} µXUSD`);
    }
    const request_id = randomBytes(16).toString('hex');
    const offers: OfferMsg[] = [];
    const stopWaiting = this.c.book.waitOffers(request_id, (o) => offers.push(o));
    try {
      const msg = signMarketplace(
        'request',
        network.network_id,
        { type: 'request', consumer: this.address, consumer_pub_key: key.pubKeyHex, request_id, ...pick(req), timestamp: this.c.clock() },
        key,
      );
      await this.c.net.publishMarketplace(msg);
      log.info('lease requested', { request: request_id, ...pick(req) });
      await sleep(this.options.offerWindowMs, opts.signal);
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
    const lease = (await this.c.writer.write(
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
    this.c.metrics.counter('xe_leases_requested_total', 'Leases this node created as consumer')();
    await this.waitAccepted(lease.hash, opts.signal);
    return { lease_hash: lease.hash };
  }

  private async checkOffer(o: OfferMsg, req: LeaseRequest): Promise<boolean> {
    if (o.vcpus !== req.vcpus || o.memory_mb !== req.memory_mb || o.disk_gb !== req.disk_gb || o.duration !== req.duration) return false;
    let cert = await this.c.ledger.getCertificate(o.certificate_hash);
    if (!cert) cert = await this.fetchCertificate(o.provider, o.certificate_hash);
    if (!cert || cert.provider !== o.provider) return false;
    const now = this.c.clock();
    if (cert.expires_at <= now) return false;
    return leaseCost({ ...req, multiplier_milli: cert.price_multiplier_milli }) === o.total_cost;
  }

  private async fetchCertificate(provider: string, hash: string) {
    try {
      const v = await this.c.net.requestByAddress(provider, '/xe/cert/1.0.0', { hash }, { timeoutMs: 3000 });
      const cert = parseCertificate(v);
      if (cert.hash !== hash || !verifyCertificate(cert, this.options.network.network_id)) return undefined;
      await this.c.ledger.addCertificate(cert);
      return cert;
    } catch {
      return undefined;
    }
  }

  private waitAccepted(leaseHash: string, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (err?: Error) => {
        if (timer) clearTimeout(timer);
        this.c.ledger.events.off('lease', onLease);
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
      this.c.ledger.events.on('lease', onLease);
      signal?.addEventListener('abort', onAbort, { once: true });
      timer = setTimeout(
        () =>
          done(
            new NodeError(
              NodeErrorCodes.ACCEPT_TIMEOUT,
              `the provider did not accept within ${Math.round(this.options.acceptTimeoutMs / 1000)} s; the lease is cancelled once the accept window closes`,
              { details: { lease_hash: leaseHash } },
            ),
          ),
        this.options.acceptTimeoutMs,
      );
      void this.c.ledger.getLease(leaseHash).then((l) => l && onLease({ lease: l }));
    });
  }

  /** Cancels a lease of ours that was never accepted, once SPEC §5 allows it. */
  async cancel(leaseHash: string): Promise<void> {
    const lease = await this.c.ledger.getLease(leaseHash);
    if (lease?.state !== 'created' || lease.consumer !== this.address) return;
    const allowedAt = this.cancelAllowedAt(lease);
    if (this.c.clock() < allowedAt) {
      this.scheduler.at(`cancel:${leaseHash}`, nsToEpochMs(allowedAt) + MARGIN_MS, () => void this.cancel(leaseHash));
      return;
    }
    try {
      await this.writeCancel(lease, this.abort.signal);
    } catch (err) {
      if (this.abort.signal.aborted) return;
      this.c.logger.warn('cancel failed, retrying', { lease: leaseHash, err });
      this.scheduler.at(`cancel:${leaseHash}`, Date.now() + 5000, () => void this.cancel(leaseHash));
    }
  }

  /** The operator's cancel (`POST /leases/{hash}/cancel`): only an own lease that is still `created`, once SPEC §5 allows it. */
  async cancelNow(leaseHash: string) {
    const lease = await this.c.ledger.getLease(leaseHash);
    if (!lease) throw new NodeError(NodeErrorCodes.LEASE_NOT_FOUND, `lease ${leaseHash} not found`);
    if (lease.consumer !== this.address) throw new NodeError(NodeErrorCodes.LEASE_NOT_CANCELLABLE, 'only the consumer node of a lease can cancel it');
    if (lease.state !== 'created') throw new NodeError(NodeErrorCodes.LEASE_NOT_CANCELLABLE, `the lease is ${lease.state}; only a lease that was never accepted can be cancelled`);
    const allowedAt = this.cancelAllowedAt(lease);
    const now = this.c.clock();
    if (now < allowedAt) {
      const secs = Number((allowedAt - now + 999_999_999n) / 1_000_000_000n);
      throw new NodeError(NodeErrorCodes.LEASE_NOT_CANCELLABLE, `too early: a lease can be cancelled once its accept window and the clock skew have passed (in ${secs} s)`);
    }
    return this.writeCancel(lease);
  }

  /** SPEC §5: a cancel's timestamp must reach the lease's timestamp + accept window + skew. */
  private cancelAllowedAt(lease: LeaseRecord): bigint {
    const p = this.options.network.lease;
    return lease.timestamp + p.accept_window_ns + p.max_attestation_skew_ns;
  }

  /** Writes the `lease_cancel` refunding the lease's cost. */
  private writeCancel(lease: LeaseRecord, signal?: AbortSignal) {
    return this.c.writer.write(
      (s) => ({ type: 'lease_cancel' as const, asset: 'XUSD' as const, balance: s.balances.XUSD + lease.cost, source: lease.hash }),
      { ...(signal ? { signal } : {}), what: 'lease cancel' },
    );
  }

  /** When the provider never settled: attest and take the cost back (SPEC §5). */
  async forceSettle(leaseHash: string): Promise<void> {
    const lease = await this.c.ledger.getLease(leaseHash);
    if (lease?.state !== 'accepted' || lease.consumer !== this.address) return;
    const p = this.options.network.lease;
    if (this.c.clock() >= lease.expiry + p.escrow_expiry_ns) return;
    try {
      const block = (await this.c.ledger.getBlock(leaseHash)) as LeaseBlock;
      const attestations = await this.c.attest.gather({ lease_hash: leaseHash, block }, { signal: this.abort.signal });
      await this.c.writer.write(
        (s) => ({ type: 'lease_force_settle' as const, asset: 'XUSD' as const, balance: s.balances.XUSD + lease.cost, source: leaseHash, attestations }),
        { signal: this.abort.signal, what: 'lease force-settle' },
      );
      this.c.logger.info('lease force-settled: the provider never settled; cost refunded', { lease: leaseHash, cost: lease.cost });
    } catch (err) {
      if (this.abort.signal.aborted) return;
      this.c.logger.warn('force-settle failed, retrying', { lease: leaseHash, err });
      this.scheduler.at(`force:${leaseHash}`, Date.now() + 31_000, () => void this.forceSettle(leaseHash));
    }
  }

  /** Pulls the VM info of an accepted lease from its provider, retrying until it has it. */
  private async pullVmInfo(lease: LeaseRecord, attempt = 0): Promise<void> {
    if (this.abort.signal.aborted || this.vms.has(lease.hash)) return;
    try {
      const v = await this.c.net.requestByAddress(lease.provider, '/xe/vminfo/1.0.0', { lease_hash: lease.hash }, { timeoutMs: 5000, signal: this.abort.signal });
      this.putVmInfo(lease.hash, parseVmInfo(v));
    } catch {
      const cur = await this.c.ledger.getLease(lease.hash);
      if (cur?.state !== 'accepted') return;
      const delay = Math.min(30_000, 1000 * 2 ** attempt);
      this.scheduler.at(`vminfo:${lease.hash}`, Date.now() + delay, () => void this.pullVmInfo(lease, attempt + 1));
    }
  }

  putVmInfo(leaseHash: string, vm: VmInfo): void {
    if (vm.lease_hash !== leaseHash) return;
    this.vms.set(leaseHash, vm);
  }

  vmInfo(leaseHash: string): VmInfo | undefined {
    return this.vms.get(leaseHash);
  }

  vmInfos(): VmInfo[] {
    return [...this.vms.values()];
  }
}

function pick(r: LeaseRequest) {
  return { vcpus: r.vcpus, memory_mb: r.memory_mb, disk_gb: r.disk_gb, duration: r.duration };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(new NodeError(NodeErrorCodes.NO_PROVIDERS, 'request aborted'));
      },
      { once: true },
    );
  });
}

