import { type Clock, nsToMs, type Resources } from '@xe/core-types';
import type { Ledger } from '@xe/ledger';

/** How long an offer holds its capacity: a consumer picks within its offer window (2 s by default), then makes and gossips the lease. */
export const OFFER_HOLD_MS = 10_000;

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

  constructor(
    private readonly options: { address: string; total: Resources },
    private readonly components: { ledger: Ledger; clock: Clock },
  ) {}

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
    const used = await this.components.ledger.providerUsage(this.options.address);
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

  /** Holds `res` for an offer to `consumer` when it fits; returns the free capacity before the hold, or undefined. Call inside `exclusive`. */
  async holdForOffer(requestId: string, consumer: string, res: Resources): Promise<Resources | undefined> {
    const f = await this.free();
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
