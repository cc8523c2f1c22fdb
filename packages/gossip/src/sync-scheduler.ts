import type { Connection, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { PROTOCOLS, RateLimiter } from '@xe/core-types';
import { asError, type NodeContext, perMinute, reasonOf } from './context.js';
import { GossipError, GossipErrorCodes } from './errors.js';
import type { Hello } from './hello.js';
import { DEFAULT_SYNC_LIMITS, requestSync, type SyncLimits, type SyncSummary, serveSync } from './sync.js';

/** When and with whom `/xe/sync/1.0.0` runs: serving slots and per-peer rate, outbound sessions. */
export class SyncScheduler {
  readonly limits: SyncLimits;
  private readonly inFlight = new Map<string, Promise<SyncSummary>>();
  private chain: Promise<unknown> = Promise.resolve();
  private inbound = 0;
  private readonly limiter: RateLimiter;

  constructor(
    private readonly ctx: NodeContext,
    private readonly hello: Hello,
    private readonly onDone: (summary: SyncSummary) => void,
  ) {
    this.limits = { ...DEFAULT_SYNC_LIMITS, ...ctx.options.syncLimits };
    this.limiter = new RateLimiter(perMinute(30), { clock: ctx.clock });
  }

  get enabled(): boolean {
    return this.ctx.components.syncSource !== undefined && this.ctx.components.syncSink !== undefined;
  }

  async start(intervalMs: number): Promise<void> {
    if (this.ctx.components.syncSource) {
      await this.ctx.node.handle(PROTOCOLS.sync, (stream, conn) => this.serve(stream, conn), { maxInboundStreams: 2 });
    }
    if (this.enabled) {
      this.ctx.timers.every(intervalMs, () => {
        for (const peer of this.hello.peers()) this.sync(peer).catch(() => undefined);
      });
    }
  }

  async stop(): Promise<void> {
    await this.chain.catch(() => undefined);
  }

  private async serve(stream: Stream, conn: Connection): Promise<void> {
    const peerId = conn.remotePeer.toString();
    const source = this.ctx.components.syncSource;
    if (!source || this.inbound >= 4 || !this.limiter.allow(peerId)) {
      this.ctx.counters.inc('xe_sync_refused_total', { reason: source ? 'busy' : 'disabled' });
      stream.abort(new Error('sync refused'));
      return;
    }
    this.inbound++;
    try {
      await this.hello.wait(peerId, AbortSignal.any([AbortSignal.timeout(10_000), this.ctx.stopSignal]));
      const n = await serveSync(stream, source, {
        log: this.ctx.log,
        counters: this.ctx.counters,
        limits: this.limits,
        signal: this.ctx.stopSignal,
      });
      await stream.close().catch(() => undefined);
      this.ctx.log.debug('sync served', { peerId, blocks: n });
    } catch (err) {
      this.ctx.counters.inc('xe_sync_failures_total', { role: 'responder', reason: reasonOf(err) });
      stream.abort(asError(err));
    } finally {
      this.inbound--;
    }
  }

  sync(peerId: string): Promise<SyncSummary> {
    const existing = this.inFlight.get(peerId);
    if (existing) return existing;
    const run = this.chain.then(() => this.run(peerId));
    this.inFlight.set(peerId, run);
    const cleanup = () => {
      if (this.inFlight.get(peerId) === run) this.inFlight.delete(peerId);
    };
    run.then(cleanup, cleanup);
    this.chain = run.catch(() => undefined);
    return run;
  }

  async syncAll(): Promise<SyncSummary[]> {
    const out: SyncSummary[] = [];
    for (const peer of this.hello.peers()) {
      try {
        out.push(await this.sync(peer));
      } catch {
        // counted in run
      }
    }
    return out;
  }

  private async run(peerId: string): Promise<SyncSummary> {
    const { syncSource, syncSink } = this.ctx.components;
    if (!syncSource || !syncSink) throw new GossipError(GossipErrorCodes.NOT_STARTED, 'sync needs a syncSource and a syncSink');
    if (!this.ctx.running) throw new GossipError(GossipErrorCodes.NOT_STARTED, 'gossip node is not started');
    const signal = this.ctx.stopSignal;
    let stream: Stream | undefined;
    try {
      stream = await this.ctx.node.dialProtocol(peerIdFromString(peerId), PROTOCOLS.sync, { signal });
      const summary = await requestSync(stream, peerId, syncSource, syncSink, {
        log: this.ctx.log,
        counters: this.ctx.counters,
        limits: this.limits,
        signal,
      });
      await stream.close().catch(() => undefined);
      if (summary.received > 0) this.ctx.log.info('sync done', { ...summary });
      this.onDone(summary);
      return summary;
    } catch (err) {
      stream?.abort(asError(err));
      this.ctx.counters.inc('xe_sync_failures_total', { role: 'requester', reason: reasonOf(err) });
      this.ctx.log.debug('sync failed', { peerId, err });
      throw err;
    }
  }
}
