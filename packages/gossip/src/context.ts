import type { GossipSub } from '@libp2p/gossipsub';
import type { Libp2p } from '@libp2p/interface';
import { type Clock, isXeError, type Logger, type NodeRole, nsToMs, type RateLimit } from '@xe/core-types';
import type { KeyPair } from '@xe/crypto';
import type { Registry } from 'prom-client';
import { GossipError, GossipErrorCodes } from './errors.js';
import type { Counters } from './metrics.js';
import type { SyncLimits, SyncSink, SyncSource } from './sync.js';
import type { FairQueueLimits } from './fair-queue.js';

export interface GossipNodeOptions {
  /** The node's Ed25519 key; its seed is also the libp2p identity (SPEC §2). */
  key: KeyPair;
  networkId: string;
  /** 64 hex: the network hash of the genesis bundle (SPEC §4). */
  networkHash: string;
  /** Software version sent in hello; informational. Default: core-types' PROTOCOL_VERSION. */
  version?: string;
  /** TCP listen address; default 0.0.0.0, port 0 (any free port). */
  listen?: { host?: string; port?: number };
  /** Multiaddrs to put in the node record instead of the listen addresses. */
  announce?: string[];
  /** Multiaddrs (with `/p2p/<id>` or without) dialled at start and redialled when lost. */
  bootstrap?: string[];
  roles?: NodeRole[];
  /** Catch-up sync with every peer this often (default SYNC_INTERVAL_MS, 30 s). */
  syncIntervalMs?: number;
  /** Own node record republished this often (default 5 min). */
  nodeRecordIntervalMs?: number;
  /** Records unseen this long are dropped (default 15 min). */
  nodeRecordExpiryMs?: number;
  /** A connection whose hello has not completed in this time is closed (default 10 s). */
  helloTimeoutMs?: number;
  /** Bootstrap redial backoff bounds (default 1 s → 60 s). */
  redialMinMs?: number;
  redialMaxMs?: number;
  /** GossipSub heartbeat (default 1000 ms). Lower only for latency in tests and benches. */
  gossipHeartbeatMs?: number;
  syncLimits?: Partial<SyncLimits>;
  /** Topic validation shared fairly between relaying peers (defaults in fair-queue.ts: 32 at once, 8 per peer, 256 waiting per peer, 10 s). */
  validationLimits?: FairQueueLimits;
  /** A local policy: peers it names are refused like banned ones (dials and connections both ways); e.g. a test's partition. */
  denyPeer?: (peerId: string) => boolean;
}

export interface GossipNodeComponents {
  logger?: Logger;
  clock?: Clock;
  /** Serves `/xe/sync/1.0.0` and provides our frontiers when we request. */
  syncSource?: SyncSource;
  /** Receives blocks and certificates from sync (origin `sync`). Requires `syncSource`. */
  syncSink?: SyncSink;
  /** Where gossip registers its Prometheus counters (the node's one registry); a private one by default. */
  registry?: Registry;
}

export type Host = Libp2p<{ pubsub: GossipSub }>;

/** Timers that die with the node: intervals and one-shots, all unref'd and cleared on stop. */
export class Timers {
  private readonly all = new Set<NodeJS.Timeout>();

  constructor(private readonly running: () => boolean) {}

  every(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setInterval(fn, ms);
    t.unref();
    this.all.add(t);
    return t;
  }

  later(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.all.delete(t);
      if (this.running()) fn();
    }, ms);
    t.unref();
    this.all.add(t);
    return t;
  }

  has(t: NodeJS.Timeout | undefined): boolean {
    return t !== undefined && this.all.has(t);
  }

  clear(): void {
    for (const t of this.all) {
      clearTimeout(t);
      clearInterval(t);
    }
    this.all.clear();
  }
}

/** What every part of a gossip node shares: options, logger, clock, counters, the host and the stop signal. */
export class NodeContext {
  host: Host | undefined;
  running = false;
  ownPeerId = '';
  stopController = new AbortController();
  readonly timers: Timers;

  constructor(
    readonly options: GossipNodeOptions,
    readonly components: GossipNodeComponents,
    readonly log: Logger,
    readonly clock: Clock,
    readonly counters: Counters,
  ) {
    this.timers = new Timers(() => this.running);
  }

  /** The libp2p host; NOT_STARTED before `start()`. */
  get node(): Host {
    if (!this.host) throw new GossipError(GossipErrorCodes.NOT_STARTED, 'gossip node is not started');
    return this.host;
  }

  get stopSignal(): AbortSignal {
    return this.stopController.signal;
  }

  get helloTimeoutMs(): number {
    return this.options.helloTimeoutMs ?? 10_000;
  }

  nowMs(): number {
    return nsToMs(this.clock());
  }
}

/** `n` per minute, all of them at once if unused (the bucket holds a minute's worth). */
export function perMinute(n: number): RateLimit {
  return { ratePerSec: n / 60, burst: n };
}

/** A failure's counter label: its code in lower case, or `error`. */
export function reasonOf(err: unknown): string {
  if (isXeError(err)) return err.code.toLowerCase();
  return 'error';
}

export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
