import type { Connection, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { PROTOCOLS, RateLimiter } from '@xe/core-types';
import { asError, type NodeContext, perMinute, reasonOf } from './context.js';
import { GossipError, GossipErrorCodes } from './errors.js';
import type { Hello } from './hello.js';
import { DEFAULT_SYNC_LIMITS, requestSync, type SyncLimits, type SyncSummary, serveSync } from './sync.js';

/** Peers waiting for an outbound session at most (one entry per peer). */
const MAX_QUEUED_PEERS = 1024;

/**
 * One sync session's deadlines: the whole session (`sessionTimeoutMs`) and no frame moved
 * for `idleTimeoutMs`. `signal` aborts with TIMEOUT on either, or when the node stops.
 */
export class SyncSession {
  readonly signal: AbortSignal;
  lastProgress = performance.now();
  private readonly ctl = new AbortController();
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly deadline: NodeJS.Timeout;

  constructor(
    readonly peerId: string,
    private readonly limits: SyncLimits,
    stop: AbortSignal,
  ) {
    this.signal = AbortSignal.any([this.ctl.signal, stop]);
    this.deadline = setTimeout(() => this.abort(`session longer than ${limits.sessionTimeoutMs} ms`), limits.sessionTimeoutMs);
    this.deadline.unref();
    this.armIdle(limits.idleTimeoutMs);
  }

  private armIdle(ms: number): void {
    this.idleTimer = setTimeout(() => {
      const idle = performance.now() - this.lastProgress;
      if (idle >= this.limits.idleTimeoutMs) this.abort(`no frame for ${this.limits.idleTimeoutMs} ms`);
      else this.armIdle(this.limits.idleTimeoutMs - idle);
    }, Math.max(1, ms));
    this.idleTimer.unref();
  }

  touch = (): void => {
    this.lastProgress = performance.now();
  };

  idleMs(): number {
    return performance.now() - this.lastProgress;
  }

  abort(why: string): void {
    if (!this.ctl.signal.aborted) this.ctl.abort(new GossipError(GossipErrorCodes.TIMEOUT, `sync: ${why}`));
  }

  close(): void {
    clearTimeout(this.deadline);
    if (this.idleTimer) clearTimeout(this.idleTimer);
  }
}

/**
 * When and with whom `/xe/sync/1.0.0` runs. Serving: at most `maxInbound` sessions, 30 a
 * minute per peer, an idle session evicted when a new one needs its slot. Requesting: up
 * to `maxOutbound` sessions at once, each with a different peer, the rest queued. Every
 * session has a whole-session and an idle deadline.
 */
export class SyncScheduler {
  readonly limits: SyncLimits;
  private readonly inFlight = new Map<string, Promise<SyncSummary>>();
  private readonly queue: Array<() => void> = [];
  private running = 0;
  private readonly inbound = new Set<SyncSession>();
  private readonly outbound = new Set<SyncSession>();
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

  /** Sessions open now, by side (for tests and status). */
  sessions(): { inbound: number; outbound: number; queued: number } {
    return { inbound: this.inbound.size, outbound: this.outbound.size, queued: this.queue.length };
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
    for (const s of [...this.inbound, ...this.outbound]) s.abort('node stopping');
    for (const start of this.queue.splice(0)) start();
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /** A free serving slot, evicting the session idle longest when it has been idle `evictIdleMs`. */
  private takeSlot(): boolean {
    if (this.inbound.size < this.limits.maxInbound) return true;
    let idlest: SyncSession | undefined;
    for (const s of this.inbound) if (!idlest || s.idleMs() > idlest.idleMs()) idlest = s;
    if (!idlest || idlest.idleMs() < this.limits.evictIdleMs) return false;
    idlest.abort('evicted while idle');
    this.inbound.delete(idlest);
    this.ctx.counters.inc('xe_sync_refused_total', { reason: 'evicted_idle' });
    return true;
  }

  private async serve(stream: Stream, conn: Connection): Promise<void> {
    const peerId = conn.remotePeer.toString();
    const source = this.ctx.components.syncSource;
    if (!source || !this.limiter.allow(peerId) || !this.takeSlot()) {
      this.ctx.counters.inc('xe_sync_refused_total', { reason: source ? 'busy' : 'disabled' });
      stream.abort(new Error('sync refused'));
      return;
    }
    const session = new SyncSession(peerId, this.limits, this.ctx.stopSignal);
    this.inbound.add(session);
    const onAbort = () => stream.abort(asError(session.signal.reason));
    session.signal.addEventListener('abort', onAbort, { once: true });
    try {
      await this.hello.wait(peerId, AbortSignal.any([AbortSignal.timeout(10_000), session.signal]));
      const n = await serveSync(stream, source, {
        log: this.ctx.log,
        counters: this.ctx.counters,
        limits: this.limits,
        signal: session.signal,
        onProgress: session.touch,
      });
      await stream.close({ signal: session.signal }).catch(() => undefined);
      this.ctx.log.debug('sync served', { peerId, blocks: n });
    } catch (err) {
      const e = session.signal.aborted ? session.signal.reason : err;
      this.ctx.counters.inc('xe_sync_failures_total', { role: 'responder', reason: reasonOf(e) });
      stream.abort(asError(e));
    } finally {
      session.signal.removeEventListener('abort', onAbort);
      session.close();
      this.inbound.delete(session);
    }
  }

  /** Runs a session with `peerId` (queued when `maxOutbound` run); a second call for a queued or running peer joins it. */
  sync(peerId: string): Promise<SyncSummary> {
    const existing = this.inFlight.get(peerId);
    if (existing) return existing;
    if (this.inFlight.size >= MAX_QUEUED_PEERS) {
      return Promise.reject(new GossipError(GossipErrorCodes.RATE_LIMITED, 'too many peers waiting for sync'));
    }
    const run = this.slot().then((release) => this.run(peerId).finally(release));
    this.inFlight.set(peerId, run);
    const cleanup = () => {
      if (this.inFlight.get(peerId) === run) this.inFlight.delete(peerId);
    };
    // Listeners of `sync:done` see the session finished: a new sync() starts a new one.
    run.then((summary) => {
      cleanup();
      this.onDone(summary);
    }, cleanup);
    return run;
  }

  private slot(): Promise<() => void> {
    const release = () => {
      this.running--;
      this.queue.shift()?.();
    };
    if (this.running < this.limits.maxOutbound) {
      this.running++;
      return Promise.resolve(release);
    }
    return new Promise((resolve) =>
      this.queue.push(() => {
        this.running++;
        resolve(release);
      }),
    );
  }

  async syncAll(): Promise<SyncSummary[]> {
    const results = await Promise.allSettled(this.hello.peers().map((peer) => this.sync(peer)));
    return results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }

  private async run(peerId: string): Promise<SyncSummary> {
    const { syncSource, syncSink } = this.ctx.components;
    if (!syncSource || !syncSink) throw new GossipError(GossipErrorCodes.NOT_STARTED, 'sync needs a syncSource and a syncSink');
    if (!this.ctx.running) throw new GossipError(GossipErrorCodes.NOT_STARTED, 'gossip node is not started');
    const session = new SyncSession(peerId, this.limits, this.ctx.stopSignal);
    this.outbound.add(session);
    let stream: Stream | undefined;
    const onAbort = () => stream?.abort(asError(session.signal.reason));
    session.signal.addEventListener('abort', onAbort, { once: true });
    try {
      stream = await this.ctx.node.dialProtocol(peerIdFromString(peerId), PROTOCOLS.sync, { signal: session.signal });
      const summary = await requestSync(stream, peerId, syncSource, syncSink, {
        log: this.ctx.log,
        counters: this.ctx.counters,
        limits: this.limits,
        signal: session.signal,
        onProgress: session.touch,
      });
      await stream.close({ signal: session.signal }).catch(() => undefined);
      if (summary.received > 0) this.ctx.log.info('sync done', { ...summary });
      return summary;
    } catch (err) {
      const e = session.signal.aborted && !this.ctx.stopSignal.aborted ? session.signal.reason : err;
      stream?.abort(asError(e));
      this.ctx.counters.inc('xe_sync_failures_total', { role: 'requester', reason: reasonOf(e) });
      this.ctx.log.debug('sync failed', { peerId, err: e });
      throw e;
    } finally {
      session.signal.removeEventListener('abort', onAbort);
      session.close();
      this.outbound.delete(session);
    }
  }
}
