import type { Clock, LeaseBlock, LeaseParams, Logger } from '@xe/core-types';
import type { Ledger, LeaseRecord } from '@xe/ledger';
import type { ChainWriter } from '../chain-writer.js';
import type { AttestPort } from '../ports.js';
import type { Scheduler } from '../scheduler.js';

/** How long after the force-settle window opens the consumer starts, so the timekeepers' clocks have passed it too. */
export const FORCE_SETTLE_MARGIN_MS = 1500;
/** A timekeeper signs once per (requester, lease, state) per 30 s (SPEC §8). */
export const FORCE_SETTLE_RETRY_MS = 31_000;

/** SPEC §5: a force-settle needs an attested time ≥ expiry + settle grace + force-settle gap. */
export function forceSettleAllowedAt(lease: LeaseRecord, p: LeaseParams): bigint {
  return lease.expiry + p.settle_grace_ns + p.force_settle_gap_ns;
}

/** Force-settles the consumer's accepted leases whose provider never settled: attested, retried until the escrow expires. */
export class ForceSettler {
  constructor(
    private readonly options: { address: string; lease: LeaseParams; signal: AbortSignal },
    private readonly components: { ledger: Ledger; writer: ChainWriter; attest: AttestPort; scheduler: Scheduler; clock: Clock; logger: Logger },
  ) {}

  schedule(lease: LeaseRecord): void {
    const at = forceSettleAllowedAt(lease, this.options.lease) + BigInt(FORCE_SETTLE_MARGIN_MS) * 1_000_000n;
    this.components.scheduler.at(`force:${lease.hash}`, at, () => void this.forceSettle(lease.hash));
  }

  unschedule(leaseHash: string): void {
    this.components.scheduler.cancel(`force:${leaseHash}`);
  }

  /** When the provider never settled: attest and take the cost back (SPEC §5). */
  async forceSettle(leaseHash: string): Promise<void> {
    const { ledger, writer, attest, scheduler, clock, logger } = this.components;
    const { signal } = this.options;
    const lease = await ledger.getLease(leaseHash);
    if (lease?.state !== 'accepted' || lease.consumer !== this.options.address) return;
    if (clock() >= lease.expiry + this.options.lease.escrow_expiry_ns) return;
    try {
      const block = (await ledger.getBlock(leaseHash)) as LeaseBlock;
      const attestations = await attest.gather({ lease_hash: leaseHash, block }, { signal });
      await writer.write(
        (s) => ({ type: 'lease_force_settle' as const, asset: 'XUSD' as const, balance: s.balances.XUSD + lease.cost, source: leaseHash, attestations }),
        { signal, what: 'lease force-settle' },
      );
      logger.info('lease force-settled: the provider never settled; cost refunded', { lease: leaseHash, cost: lease.cost });
    } catch (err) {
      if (signal.aborted) return;
      logger.warn('force-settle failed, retrying', { lease: leaseHash, err });
      scheduler.after(`force:${leaseHash}`, FORCE_SETTLE_RETRY_MS, () => void this.forceSettle(leaseHash));
    }
  }
}
