import type { Block, Clock, LeaseParams, Logger } from '@xe/core-types';
import type { Ledger, LeaseRecord } from '@xe/ledger';
import { NodeError, NodeErrorCodes } from '../../errors.js';
import type { ChainWriter } from '../chain-writer.js';
import type { Scheduler } from '../scheduler.js';

/** How long after the cancel time opens the automatic cancel is written, so clock differences do not make it early. */
export const CANCEL_MARGIN_MS = 1500;
export const CANCEL_RETRY_MS = 5000;

/** SPEC §5: a cancel's timestamp must reach the lease's timestamp + accept window + skew. */
export function cancelAllowedAt(lease: LeaseRecord, p: LeaseParams): bigint {
  return lease.timestamp + p.accept_window_ns + p.max_attestation_skew_ns;
}

/**
 * Cancels the consumer's leases that were never accepted: automatically once the cancel
 * time opens (retried until it lands), or at the operator's request (`cancelNow`).
 */
export class LeaseCanceller {
  constructor(
    private readonly options: { address: string; lease: LeaseParams; signal: AbortSignal },
    private readonly components: { ledger: Ledger; writer: ChainWriter; scheduler: Scheduler; clock: Clock; logger: Logger },
  ) {}

  /** Schedules the automatic cancel of a `created` lease for when it is allowed. */
  schedule(lease: LeaseRecord): void {
    const at = cancelAllowedAt(lease, this.options.lease) + BigInt(CANCEL_MARGIN_MS) * 1_000_000n;
    this.components.scheduler.at(`cancel:${lease.hash}`, at, () => void this.cancel(lease.hash));
  }

  unschedule(leaseHash: string): void {
    this.components.scheduler.cancel(`cancel:${leaseHash}`);
  }

  /** The automatic cancel: only an own `created` lease; too early reschedules, a failure retries. */
  async cancel(leaseHash: string): Promise<void> {
    const { ledger, scheduler, clock, logger } = this.components;
    const { signal } = this.options;
    const lease = await ledger.getLease(leaseHash);
    if (lease?.state !== 'created' || lease.consumer !== this.options.address) return;
    if (clock() < cancelAllowedAt(lease, this.options.lease)) {
      this.schedule(lease);
      return;
    }
    try {
      await this.write(lease, signal);
    } catch (err) {
      if (signal.aborted) return;
      logger.warn('cancel failed, retrying', { lease: leaseHash, err });
      scheduler.after(`cancel:${leaseHash}`, CANCEL_RETRY_MS, () => void this.cancel(leaseHash));
    }
  }

  /** The operator's cancel (`POST /leases/{hash}/cancel`): only an own lease that is still `created`, once SPEC §5 allows it. */
  async cancelNow(leaseHash: string): Promise<Block> {
    const lease = await this.components.ledger.getLease(leaseHash);
    if (!lease) throw new NodeError(NodeErrorCodes.LEASE_NOT_FOUND, `lease ${leaseHash} not found`);
    if (lease.consumer !== this.options.address) throw new NodeError(NodeErrorCodes.LEASE_NOT_CANCELLABLE, 'only the consumer node of a lease can cancel it');
    if (lease.state !== 'created') throw new NodeError(NodeErrorCodes.LEASE_NOT_CANCELLABLE, `the lease is ${lease.state}; only a lease that was never accepted can be cancelled`);
    const allowedAt = cancelAllowedAt(lease, this.options.lease);
    const now = this.components.clock();
    if (now < allowedAt) {
      const secs = Number((allowedAt - now + 999_999_999n) / 1_000_000_000n);
      throw new NodeError(NodeErrorCodes.LEASE_NOT_CANCELLABLE, `too early: a lease can be cancelled once its accept window and the clock skew have passed (in ${secs} s)`);
    }
    return this.write(lease);
  }

  /** Writes the `lease_cancel` refunding the lease's cost. */
  private write(lease: LeaseRecord, signal?: AbortSignal): Promise<Block> {
    return this.components.writer.write(
      (s) => ({ type: 'lease_cancel' as const, asset: 'XUSD' as const, balance: s.balances.XUSD + lease.cost, source: lease.hash }),
      { ...(signal ? { signal } : {}), what: 'lease cancel' },
    );
  }
}
