/** Validations running at once, over all peers (default). */
export const VALIDATION_CONCURRENCY = 32;
/** Validations of one relaying peer running at once (default). */
export const VALIDATION_CONCURRENCY_PER_PEER = 8;
/** Messages of one relaying peer waiting for validation at most (default); past it they are dropped. */
export const VALIDATION_QUEUE_PER_PEER = 256;
/** Peers with messages waiting at most (default); a new peer past it is dropped. */
export const VALIDATION_QUEUE_PEERS = 1024;
/** A message that waited this long for validation is dropped unvalidated (default). */
export const VALIDATION_MAX_WAIT_MS = 10_000;

export interface FairQueueLimits {
  concurrency?: number;
  perPeerConcurrency?: number;
  perPeer?: number;
  peers?: number;
  maxWaitMs?: number;
}

/** Why a message was not validated: its peer's queue was full, or it waited too long. */
export type Dropped = { dropped: 'peer_queue_full' | 'queue_timeout' };

interface Job {
  run: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  queuedAt: number;
}

/**
 * Validation slots shared fairly between the peers that relay messages. Each peer has a FIFO
 * queue and at most `perPeerConcurrency` jobs running; a free slot goes to the waiting peer
 * with the fewest jobs running (round robin among equals), so a peer flooding messages waits
 * behind its own backlog while another peer's message starts at once. The work is bounded:
 * `concurrency` jobs at once, `perPeer` waiting per peer, `peers` peers waiting, and a job not
 * started within `maxWaitMs` is dropped.
 */
export class FairQueue {
  /** peer → its waiting jobs; Map order is the round-robin order */
  private readonly queues = new Map<string, Job[]>();
  private active = 0;
  /** peer → its running jobs */
  private readonly running = new Map<string, number>();
  private waiting = 0;
  private readonly concurrency: number;
  private readonly perPeerConcurrency: number;
  private readonly perPeer: number;
  private readonly peers: number;
  private readonly maxWaitMs: number;

  constructor(
    limits: FairQueueLimits = {},
    private readonly now: () => number = () => performance.now(),
  ) {
    this.concurrency = Math.max(1, limits.concurrency ?? VALIDATION_CONCURRENCY);
    this.perPeerConcurrency = Math.max(1, limits.perPeerConcurrency ?? VALIDATION_CONCURRENCY_PER_PEER);
    this.perPeer = Math.max(1, limits.perPeer ?? VALIDATION_QUEUE_PER_PEER);
    this.peers = Math.max(1, limits.peers ?? VALIDATION_QUEUE_PEERS);
    this.maxWaitMs = limits.maxWaitMs ?? VALIDATION_MAX_WAIT_MS;
  }

  /** Jobs waiting (not running) in all. */
  get queued(): number {
    return this.waiting;
  }

  /** Jobs waiting for `peer`. */
  queuedFor(peer: string): number {
    return this.queues.get(peer)?.length ?? 0;
  }

  /** Runs `fn` in `peer`'s turn; resolves with its result, or with `{dropped}` when it was not run. */
  run<T>(peer: string, fn: () => Promise<T>): Promise<T | Dropped> {
    let q = this.queues.get(peer);
    if (q === undefined) {
      if (this.queues.size >= this.peers) return Promise.resolve({ dropped: 'peer_queue_full' });
      q = [];
      this.queues.set(peer, q);
    }
    if (q.length >= this.perPeer) return Promise.resolve({ dropped: 'peer_queue_full' });
    const queue = q;
    const result = new Promise<T | Dropped>((resolve, reject) => {
      queue.push({ run: fn, resolve: resolve as (v: unknown) => void, reject, queuedAt: this.now() });
      this.waiting++;
    });
    this.pump();
    return result;
  }

  private start(peer: string, fn: () => Promise<unknown>): Promise<unknown> {
    this.active++;
    this.running.set(peer, (this.running.get(peer) ?? 0) + 1);
    let p: Promise<unknown>;
    try {
      p = fn();
    } catch (err) {
      p = Promise.reject(err);
    }
    return p.finally(() => {
      this.active--;
      const n = (this.running.get(peer) ?? 1) - 1;
      if (n > 0) this.running.set(peer, n);
      else this.running.delete(peer);
      this.pump();
    });
  }

  /** The waiting peer with the fewest running jobs (under its own cap); among equals the one served longest ago. */
  private nextPeer(): [string, Job[]] | undefined {
    let best: [string, Job[]] | undefined;
    let fewest = this.perPeerConcurrency;
    for (const [peer, q] of this.queues) {
      const n = this.running.get(peer) ?? 0;
      if (n < fewest) {
        best = [peer, q];
        fewest = n;
        if (n === 0) break;
      }
    }
    return best;
  }

  /** Hands free slots to waiting jobs, one peer after another. */
  private pump(): void {
    while (this.active < this.concurrency && this.waiting > 0) {
      const next = this.nextPeer();
      if (next === undefined) return;
      const [peer, q] = next;
      const job = q.shift()!;
      this.waiting--;
      // the peer goes to the back of the round
      this.queues.delete(peer);
      if (q.length > 0) this.queues.set(peer, q);
      if (this.now() - job.queuedAt > this.maxWaitMs) {
        job.resolve({ dropped: 'queue_timeout' });
        continue;
      }
      this.start(peer, job.run).then(job.resolve, job.reject);
    }
  }
}

export function isDropped(v: unknown): v is Dropped {
  return typeof v === 'object' && v !== null && 'dropped' in v && Object.keys(v).length === 1;
}
