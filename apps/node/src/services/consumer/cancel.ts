import { type Block, type Clock, isXeError, type LeaseBlock, type LeaseParams, type Logger } from '@xe/core-types';
import { cancelOpensAt, type Ledger, type LeaseRecord } from '@xe/ledger';
import { NodeError, NodeErrorCodes } from '../../errors.js';
import type { ChainWriter } from '../chain-writer.js';
import type { AttestPort } from '../ports.js';
import type { Scheduler } from '../scheduler.js';

/** How long after the cancel time opens the automatic cancel starts, so the timekeepers' clocks have passed it too. */
export const CANCEL_MARGIN_MS = 1500;
export const CANCEL_RETRY_MS = 5000;
/** A timekeeper signs once per (requester, lease, state) per 30 s (SPEC §8): a rate-limited gather waits that long. */
export const CANCEL_RATE_RETRY_MS = 31_000;

/**
 * SPEC §5 (amended): a cancel needs attestations whose attested time reaches the lease's
 * timestamp + accept window + skew. This is when the consumer may start gathering them.
 */
export function cancelAllowedAt(lease: LeaseRecord, p: LeaseParams): bigint {
  return cancelOpensAt(lease.timestamp, p);
}

/**
 * Cancels the consumer's leases that were never accepted, through attestations (SPEC §5):
 * automatically once the cancel time opens (retried until it lands), or at the operator's
 * request (`cancelNow`). One cancel per lease runs at a time: an operator's request while
 * the automatic one gathers joins it (a second gather would only meet RATE_LIMITED).
 */
export class LeaseCanceller {
  private readonly inFlight = new Map<string, Promise<Block>>();

  constructor(
    private readonly options: { address: string; lease: LeaseParams; signal: AbortSignal },
    private readonly components: { ledger: Ledger; writer: ChainWriter; attest: AttestPort; scheduler: Scheduler; clock: Clock; logger: Logger },
  ) {}

  /** Schedules the automatic cancel of a `created` lease for when it is allowed. */
  schedule(lease: LeaseRecord): void {
    const at = cancelAllowedAt(lease, this.options.lease) + BigInt(CANCEL_MARGIN_MS) * 1_000_000n;
    this.components.scheduler.at(`cancel:${lease.hash}`, at, () => void this.cancel(lease.hash));
  }

  unschedule(leaseHash: string): void {
    this.components.scheduler.cancel(`cancel:${leaseHash}`);
  }

  /** The automatic cancel: only an own `created` lease; too early reschedules, a failure retries (31 s when rate-limited). */
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
      await this.run(lease, signal);
    } catch (err) {
      if (signal.aborted) return;
      const after = retryDelayMs(err);
      logger.warn('cancel failed, retrying', { lease: leaseHash, err, retry_ms: after });
      scheduler.after(`cancel:${leaseHash}`, after, () => void this.cancel(leaseHash));
    }
  }

  /**
   * The operator's cancel (`POST /leases/{hash}/cancel`): only an own lease that is still
   * `created`, once SPEC §5 allows it; before then LEASE_NOT_CANCELLABLE (the API adds
   * `opens_at`). Resolves with the committed `lease_cancel`.
   */
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
    return this.run(lease, this.options.signal);
  }

  /** Gathers attestations and writes the `lease_cancel`; joins a run already in flight for the lease. */
  private run(lease: LeaseRecord, signal: AbortSignal): Promise<Block> {
    const running = this.inFlight.get(lease.hash);
    if (running) return running;
    const p = this.write(lease, signal).finally(() => this.inFlight.delete(lease.hash));
    this.inFlight.set(lease.hash, p);
    return p;
  }

  /** Attests (SPEC §8) and writes the `lease_cancel` refunding the lease's cost. */
  private async write(lease: LeaseRecord, signal: AbortSignal): Promise<Block> {
    const { ledger, attest, writer, logger } = this.components;
    const block = (await ledger.getBlock(lease.hash)) as LeaseBlock | undefined;
    if (block?.type !== 'lease') throw new NodeError(NodeErrorCodes.LEASE_NOT_FOUND, `lease block ${lease.hash} not found`);
    const attestations = await attest.gather({ lease_hash: lease.hash, block }, { signal });
    const written = await writer.write(
      (s) => ({ type: 'lease_cancel' as const, asset: 'XUSD' as const, balance: s.balances.XUSD + lease.cost, source: lease.hash, attestations }),
      { signal, what: 'lease cancel' },
    );
    logger.info('lease cancelled: never accepted; cost refunded', { lease: lease.hash, cost: lease.cost });
    return written;
  }
}

function retryDelayMs(err: unknown): number {
  if (!isXeError(err)) return CANCEL_RETRY_MS;
  if (err.code === 'RATE_LIMITED') return CANCEL_RATE_RETRY_MS;
  // the gatherer reports each timekeeper's refusal; rate limits among them mean waiting out the window
  const failures = (err.details as { failures?: Array<{ code?: string }> } | undefined)?.failures;
  if (err.code === 'TIMEKEEPER_UNAVAILABLE' && failures?.some((f) => f.code === 'RATE_LIMITED')) return CANCEL_RATE_RETRY_MS;
  return CANCEL_RETRY_MS;
}
