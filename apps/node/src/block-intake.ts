import type { AdmitResult, Block, Certificate, CertificateAdmitResult, Clock, Logger } from '@xe/core-types';
import { msToNs } from '@xe/core-types';
import type { Ledger } from '@xe/ledger';
import type { Metrics } from './metrics.js';

/** Blocks held for a missing dependency at most, and for how long. */
export const RETRY_QUEUE_MAX = 2000;
/** Blocks one sender (a gossip peer) may have held at once, so one sender cannot fill the queue. */
export const RETRY_QUEUE_PER_SENDER = 200;
export const RETRY_TTL_MS = 5 * 60_000;
/** Certificate fetches in flight at most (a hostile sync page naming many unknown certificates waits its turn). */
export const MAX_CERT_FETCHES = 8;

export interface BlockIntakeComponents {
  ledger: Pick<Ledger, 'addBlock' | 'addCertificate'>;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Asks the provider's node for a certificate a held lease block names (gossip's `/xe/cert/1.0.0`). */
  fetchCertificate(provider: string, hash: string): Promise<Certificate>;
  /**
   * Gossips a block this node or its API submitted that was held for a dependency and
   * admitted later (one admitted at once is published by whoever submitted it).
   */
  publish?(block: Block): Promise<void>;
}

/**
 * Every block and certificate the node admits goes through here, whatever its origin (gossip,
 * sync, the HTTP API, the timekeeper, the node's own chain writer): the ledger decides, the
 * outcome is counted, and a live block rejected only for a missing dependency is held
 * (bounded, for a while) and retried when something new is admitted.
 */
export class BlockIntake {
  private readonly held = new Map<string, { block: Block; atNs: bigint; from: string }>();
  private readonly heldBySender = new Map<string, number>();
  private readonly certFetches = new Set<string>();
  private retrying = false;
  private readonly countBlock: (labels: { origin: string; result: string }) => void;

  constructor(private readonly components: BlockIntakeComponents) {
    this.countBlock = components.metrics.counter('xe_blocks_ingested_total', 'Blocks offered to the ledger, by origin and result', ['origin', 'result']);
  }

  /** Blocks waiting for a dependency. */
  get heldCount(): number {
    return this.held.size;
  }

  /** Blocks held for a sender (a gossip peer id; `local` for the node's own and the API's). */
  heldFrom(sender: string): number {
    return this.heldBySender.get(sender) ?? 0;
  }

  private unhold(hash: string): void {
    const e = this.held.get(hash);
    if (!e) return;
    this.held.delete(hash);
    const n = (this.heldBySender.get(e.from) ?? 1) - 1;
    if (n <= 0) this.heldBySender.delete(e.from);
    else this.heldBySender.set(e.from, n);
  }

  /**
   * Admits a block; holds retryable rejections of live blocks to retry when dependencies
   * arrive — at most RETRY_QUEUE_PER_SENDER for one sender, RETRY_QUEUE_MAX in all.
   */
  async ingest(block: Block, origin: 'live' | 'sync', from = 'local'): Promise<AdmitResult> {
    const r = await this.components.ledger.addBlock(block, { origin });
    this.countBlock({ origin, result: r.status === 'rejected' ? r.code : r.status });
    if (r.status === 'accepted') {
      this.unhold(block.hash);
      if (this.held.size > 0) this.retryHeld();
    } else if (r.status === 'rejected' && r.retryable && origin === 'live') {
      const mine = this.heldBySender.get(from) ?? 0;
      if (!this.held.has(block.hash) && this.held.size < RETRY_QUEUE_MAX && (from === 'local' || mine < RETRY_QUEUE_PER_SENDER)) {
        this.held.set(block.hash, { block, atNs: this.components.clock(), from });
        this.heldBySender.set(from, mine + 1);
      }
    }
    // live or synced (a block fetched for its votes comes as sync): the certificate is asked for either way
    if (r.status === 'rejected' && r.retryable && r.code === 'UNKNOWN_CERTIFICATE' && (block.type === 'lease' || block.type === 'lease_accept')) {
      void this.fetchCertificateFor(block);
    }
    return r;
  }

  /** Admits a certificate; a new one may unblock held blocks. */
  async addCertificate(cert: Certificate): Promise<CertificateAdmitResult> {
    const r = await this.components.ledger.addCertificate(cert);
    if (r.status !== 'rejected') this.retryHeld();
    return r;
  }

  /** Retries the held blocks in the background until a pass makes no progress. */
  private retryHeld(): void {
    if (this.retrying) return;
    this.retrying = true;
    setImmediate(async () => {
      const { ledger, clock, logger } = this.components;
      try {
        let progress = true;
        while (progress && this.held.size > 0) {
          progress = false;
          for (const [hash, { block, atNs, from }] of [...this.held]) {
            if (clock() - atNs > msToNs(RETRY_TTL_MS)) {
              this.unhold(hash);
              continue;
            }
            const r = await ledger.addBlock(block, { origin: 'live' });
            if (r.status !== 'rejected' || !r.retryable) this.unhold(hash);
            if (r.status === 'accepted') {
              progress = true;
              if (from === 'local' && this.components.publish) void this.components.publish(block).catch((err) => logger.debug('publish of a held block failed', { block: hash, err }));
            }
          }
        }
      } catch (err) {
        logger.warn('retry of held blocks failed', { err });
      } finally {
        this.retrying = false;
      }
    });
  }

  private async fetchCertificateFor(block: Block): Promise<void> {
    const hash = (block as { certificate_hash?: string }).certificate_hash;
    if (!hash || this.certFetches.has(hash) || this.certFetches.size >= MAX_CERT_FETCHES) return;
    this.certFetches.add(hash);
    const provider = block.type === 'lease' ? block.destination : block.account;
    try {
      await this.addCertificate(await this.components.fetchCertificate(provider, hash));
    } catch (err) {
      this.components.logger.debug('certificate fetch failed', { certificate: hash, err });
    } finally {
      this.certFetches.delete(hash);
    }
  }
}
