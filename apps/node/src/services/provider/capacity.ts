import { type Clock, nsToMs, type Resources } from '@xe/core-types';
import type { Ledger } from '@xe/ledger';

/** How long an offer holds its capacity: a consumer picks within its offer window (2 s by default), then makes and gossips the lease. */
export const OFFER_HOLD_MS = 10_000;
/** Offers holding capacity at once, over all consumers (each consumer holds at most one). */
export const MAX_OFFER_HOLDS = 16;

export function fits(want: Resources, free: Resources): boolean {
  return want.vcpus <= free.vcpus && want.memory_mb <= free.memory_mb && want.disk_gb <= free.disk_gb;
}

function same(a: Resources, b: Resources): boolean {
  return a.vcpus === b.vcpus && a.memory_mb === b.memory_mb && a.disk_gb === b.disk_gb;
}

/**
 * The provider's capacity: advertised capacity minus accepted leases (from the ledger),
 * reservations of leases being provisioned and unexpired offer holds. Decisions that
 * check and then hold run one at a time (`exclusive`), so two cannot interleave.
 */
export class Capacity {
  private readonly reserved = new Map<string, Resources>();
  /** Capacity promised in offers, until the consumer's lease arrives or the hold expires. */
  private readonly offerHolds = new Map<string, { consumer: string; res: Resources; untilMs: number }>();
  private lock: Promise<unknown> = Promise.resolve();
  /** The ledger's usage of this provider, read again only after one of its leases changed. */
  private usage: Promise<Resources> | undefined;
  private readonly onLease = ({ lease }: { lease: { provider: string } }) => {
    if (lease.provider === this.options.address) this.usage = undefined;
  };

  constructor(
    private readonly options: { address: string; total: Resources; maxHolds?: number },
    private readonly components: { ledger: Pick<Ledger, 'providerUsage' | 'events'>; clock: Clock },
  ) {
    components.ledger.events.on('lease', this.onLease);
  }

  /** Stops following the ledger's lease events. */
  close(): void {
    this.components.ledger.events.off('lease', this.onLease);
  }

  /** Offer holds currently counted (for status and tests). */
  get holds(): number {
    return this.offerHolds.size;
  }

  get total(): Resources {
    return this.options.total;
  }

  /** Runs capacity decisions one at a time, so a check and its hold cannot interleave. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** Free capacity, floored at 0; drops expired offer holds. */
  async free(): Promise<Resources> {
    this.usage ??= this.components.ledger.providerUsage(this.options.address).catch((err) => {
      this.usage = undefined;
      throw err;
    });
    const used = await this.usage;
    let { vcpus, memory_mb, disk_gb } = this.options.total;
    vcpus -= used.vcpus;
    memory_mb -= used.memory_mb;
    disk_gb -= used.disk_gb;
    const now = nsToMs(this.components.clock());
    const holds: Resources[] = [];
    for (const [id, h] of this.offerHolds) {
      if (h.untilMs <= now) this.offerHolds.delete(id);
      else holds.push(h.res);
    }
    for (const r of [...this.reserved.values(), ...holds]) {
      vcpus -= r.vcpus;
      memory_mb -= r.memory_mb;
      disk_gb -= r.disk_gb;
    }
    return { vcpus: Math.max(0, vcpus), memory_mb: Math.max(0, memory_mb), disk_gb: Math.max(0, disk_gb) };
  }

  /**
   * Holds `res` for an offer to `consumer` when it fits; returns the free capacity before
   * the hold, or undefined. A consumer holds one offer at a time (a new request replaces its
   * hold) and at most `maxHolds` (MAX_OFFER_HOLDS) are held in all. Call inside `exclusive`.
   */
  async holdForOffer(requestId: string, consumer: string, res: Resources): Promise<Resources | undefined> {
    for (const [id, h] of this.offerHolds) if (h.consumer === consumer) this.offerHolds.delete(id);
    const f = await this.free();
    if (this.offerHolds.size >= (this.options.maxHolds ?? MAX_OFFER_HOLDS)) return undefined;
    if (!fits(res, f)) return undefined;
    this.offerHolds.set(requestId, { consumer, res, untilMs: nsToMs(this.components.clock()) + OFFER_HOLD_MS });
    return f;
  }

  /** The lease takes over the capacity its offer held (one hold of that consumer and size). Call inside `exclusive`. */
  releaseOfferHold(consumer: string, res: Resources): void {
    for (const [id, h] of this.offerHolds) {
      if (h.consumer === consumer && same(h.res, res)) {
        this.offerHolds.delete(id);
        return;
      }
    }
  }

  reserve(leaseHash: string, res: Resources): void {
    this.reserved.set(leaseHash, res);
  }

  release(leaseHash: string): void {
    this.reserved.delete(leaseHash);
  }
}
