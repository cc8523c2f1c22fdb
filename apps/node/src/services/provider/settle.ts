import type { Block, Clock, LeaseBlock, LeaseParams, Logger } from '@xe/core-types';
import type { Ledger, LeaseRecord } from '@xe/ledger';
import type { Metrics } from '../../metrics.js';
import type { ChainWriter } from '../chain-writer.js';
import type { AttestPort } from '../ports.js';
import type { Scheduler } from '../scheduler.js';

/** How long after expiry the settle starts, so the timekeepers' clocks have passed it too. */
export const SETTLE_MARGIN_MS = 1500;
export const SETTLE_RETRY_MS = 5000;
/** A timekeeper signs once per (requester, lease, state) per 30 s (SPEC §8). */
export const ATTEST_RATE_RETRY_MS = 31_000;

export interface SettleComponents {
  ledger: Ledger;
  writer: ChainWriter;
  attest: AttestPort;
  scheduler: Scheduler;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
}

/** The settle of accepted leases (SPEC §5): at expiry + a margin, attested, retried until the settle grace ends. */
export class LeaseSettler {
  constructor(
    private readonly options: { lease: LeaseParams; signal: AbortSignal },
    private readonly components: SettleComponents,
  ) {}

  /** Schedules the settle of an accepted lease (once; a scheduled one is kept). */
  schedule(lease: LeaseRecord): void {
    if (lease.expiry === 0n) return;
    const name = `settle:${lease.hash}`;
    const { scheduler } = this.components;
    if (scheduler.has(name)) return;
    scheduler.at(name, lease.expiry + BigInt(SETTLE_MARGIN_MS) * 1_000_000n, () => void this.settle(lease.hash));
  }

  unschedule(leaseHash: string): void {
    this.components.scheduler.cancel(`settle:${leaseHash}`);
  }

  async settle(leaseHash: string): Promise<void> {
    const { ledger, writer, attest, scheduler, clock, logger: log, metrics } = this.components;
    const { signal } = this.options;
    const lease = await ledger.getLease(leaseHash);
    if (lease?.state !== 'accepted') return;
    if (clock() > lease.expiry + this.options.lease.settle_grace_ns) {
      log.error('settle window missed', { lease: leaseHash });
      return;
    }
    try {
      const block = (await ledger.getBlock(leaseHash)) as Block;
      const attestations = await attest.gather({ lease_hash: leaseHash, block: block as LeaseBlock }, { signal });
      await writer.write(
        (s) => ({
          type: 'lease_settle' as const,
          asset: 'XE' as const,
          balance: s.balances.XE + lease.emission,
          source: leaseHash,
          amount: lease.emission,
          attestations,
        }),
        { signal, what: 'lease settle' },
      );
      metrics.counter('xe_leases_settled_total', 'Leases this provider settled')();
      log.info('lease settled', { lease: leaseHash, emission: lease.emission });
    } catch (err) {
      if (signal.aborted) return;
      const code = (err as { code?: string }).code;
      const delay = code === 'RATE_LIMITED' || code === 'TIMEKEEPER_UNAVAILABLE' ? ATTEST_RATE_RETRY_MS : SETTLE_RETRY_MS;
      log.warn('settle failed, retrying', { lease: leaseHash, err, retry_ms: delay });
      scheduler.after(`settle:${leaseHash}`, delay, () => void this.settle(leaseHash));
    }
  }
}
