import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { type BlockCheck, type BlockCheckJob, checkBlockStateless, PACKED_ANSWER_BYTES, type PreparedCheck, packChecks, unpackChecks } from './block-check.js';
import { startWorker } from './worker-start.js';

export interface VerifierPoolOptions {
  /** worker threads (default: available cores − 1, at least 1; 0 = always inline) */
  threads?: number;
  /** jobs waiting for a thread at most; beyond it a job is checked inline (default 4096) */
  maxQueue?: number;
  /** jobs sent to a thread in one message at most (default 32) */
  batchSize?: number;
  /** a batch not answered in this time counts as a stuck thread: it is replaced, its jobs run inline (default 10 s) */
  jobTimeoutMs?: number;
  /** a thread with no work for this long is stopped (its memory returned), and started again on demand (default 30 s) */
  idleMs?: number;
}

export interface VerifierPoolStats {
  threads: number;
  /** threads running now */
  live: number;
  queued: number;
  inFlight: number;
  /** jobs answered by a thread / computed inline since the start */
  byWorker: number;
  inline: number;
  /** threads lost (error, exit or deadline) */
  failures: number;
}

interface Pending {
  job: BlockCheckJob;
  resolve: (r: BlockCheck) => void;
  /** answered (by a thread or inline); a later answer is ignored */
  settled: boolean;
}

interface Slot {
  worker: Worker;
  batches: Map<number, { jobs: Pending[]; prepared: PreparedCheck[]; timer: NodeJS.Timeout }>;
  idle: NodeJS.Timeout | undefined;
}

/**
 * In-flight batches per thread. A thread's next batch goes out only when the caller's event
 * loop takes the previous answer, and a caller admitting a sync page runs for tens of ms
 * between turns; with 8 batches of 32 (256 jobs, ~30 ms of signatures) queued, the thread
 * keeps working through such a stretch instead of idling while the caller checks blocks
 * itself (measured on the sync bench: the caller's own checks fell from ~3,300 to ~1,600 of
 * 10,000 blocks).
 */
const BATCHES_PER_THREAD = 8;
/** After this many lost threads the pool stops starting new ones and checks inline. */
const MAX_FAILURES = 8;

function workerUrl(): URL | undefined {
  const beside = new URL('./block-check-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  // Running from TypeScript sources (tests): the compiled worker, if the package was built.
  const compiled = new URL('../dist/block-check-worker.js', import.meta.url);
  return existsSync(fileURLToPath(compiled)) ? compiled : undefined;
}

/**
 * The stateless checks of blocks (hash, proof of work, signature: `checkBlockStateless`) on
 * a bounded pool of worker threads, so a node's admission uses more than one core. Jobs
 * go to threads in batches, in order; the answer for a job is exactly what
 * `checkBlockStateless` returns on the caller's thread, which is also the fallback: when
 * the pool has no threads (threads 0, the compiled worker missing, too many threads lost),
 * its queue is full, it is closed, or a thread misses its deadline, the job is computed
 * inline. `check` never rejects. Threads are started on first use and do not keep the
 * process alive when idle.
 */
export class VerifierPool {
  readonly threads: number;
  private readonly maxQueue: number;
  private readonly batchSize: number;
  private readonly jobTimeoutMs: number;
  private readonly idleMs: number;
  private readonly url: URL | undefined;
  private readonly slots: Slot[] = [];
  private queue: Pending[] = [];
  private nextBatch = 1;
  private scheduled = false;
  private closed = false;
  private counts = { byWorker: 0, inline: 0, failures: 0 };

  constructor(options: VerifierPoolOptions = {}) {
    this.threads = Math.max(0, Math.floor(options.threads ?? Math.max(1, availableParallelism() - 1)));
    this.maxQueue = Math.max(1, options.maxQueue ?? 4096);
    this.batchSize = Math.max(1, options.batchSize ?? 32);
    this.jobTimeoutMs = Math.max(1, options.jobTimeoutMs ?? 10_000);
    this.idleMs = Math.max(1, options.idleMs ?? 30_000);
    this.url = this.threads > 0 ? workerUrl() : undefined;
  }

  /** True while jobs can go to threads (not closed, the worker script found, not too many threads lost). */
  get available(): boolean {
    return !this.closed && this.url !== undefined && this.counts.failures < MAX_FAILURES;
  }

  stats(): VerifierPoolStats {
    let inFlight = 0;
    for (const s of this.slots) for (const b of s.batches.values()) inFlight += b.jobs.length;
    return { threads: this.threads, live: this.slots.length, queued: this.queue.length, inFlight, ...this.counts };
  }

  /**
   * Starts the threads now instead of on first use, so the first blocks a node is offered
   * (a sync at start) do not wait for a thread to boot. A thread given no work stops after
   * `idleMs` like any idle one.
   */
  start(): void {
    while (this.available && this.slots.length < this.threads) {
      const slot = this.spawn();
      if (slot === undefined) return;
      this.retireWhenIdle(slot);
    }
  }

  /** The checks of one block, from a thread or inline (see the class). */
  check(job: BlockCheckJob): Promise<BlockCheck> {
    if (!this.available || this.queue.length >= this.maxQueue) return Promise.resolve(this.inline(job));
    return new Promise<BlockCheck>((resolve) => {
      this.queue.push({ job, resolve, settled: false });
      if (!this.scheduled) {
        this.scheduled = true;
        // jobs submitted in one turn of the event loop travel together
        queueMicrotask(() => {
          this.scheduled = false;
          this.dispatch();
        });
      }
    });
  }

  /**
   * A caller with nothing else to do lends a hand: computes one unanswered job on its own
   * thread — the newest waiting one, else the last one of a batch a thread has not
   * answered yet (threads work from the oldest, so the two rarely meet; if they do, the
   * first answer counts). False when no job is left unanswered.
   */
  runOne(): boolean {
    const p = this.queue.pop() ?? this.lastUnanswered();
    if (p === undefined) return false;
    this.settle(p, this.inline(p.job));
    return true;
  }

  /** The last unanswered job of the newest batch that has one. */
  private lastUnanswered(): Pending | undefined {
    for (const s of this.slots) {
      const batches = [...s.batches.values()];
      for (let j = batches.length - 1; j >= 0; j--) {
        const jobs = batches[j]!.jobs;
        for (let i = jobs.length - 1; i >= 0; i--) if (!jobs[i]!.settled) return jobs[i];
      }
    }
    return undefined;
  }

  private settle(p: Pending, r: BlockCheck): void {
    if (p.settled) return;
    p.settled = true;
    p.resolve(r);
  }

  /** Stops the threads. Jobs waiting or in flight are answered inline; later jobs run inline. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const waiting = this.queue;
    this.queue = [];
    for (const p of waiting) this.settle(p, this.inline(p.job));
    const slots = this.slots.splice(0);
    for (const s of slots) {
      if (s.idle !== undefined) clearTimeout(s.idle);
      this.drainInline(s);
    }
    await Promise.all(slots.map((s) => s.worker.terminate().catch(() => undefined)));
  }

  private inline(job: BlockCheckJob): BlockCheck {
    this.counts.inline++;
    return checkBlockStateless(job, 'inline');
  }

  private dispatch(): void {
    if (!this.available) {
      const waiting = this.queue;
      this.queue = [];
      for (const p of waiting) this.settle(p, this.inline(p.job));
      return;
    }
    while (this.queue.length > 0) {
      const slot = this.freeSlot();
      if (slot === undefined) return;
      const jobs = this.queue.splice(0, this.batchSize);
      const id = this.nextBatch++;
      const timer = setTimeout(() => this.lose(slot, new Error(`verifier thread missed its ${this.jobTimeoutMs} ms deadline`)), this.jobTimeoutMs);
      timer.unref();
      // the jobs travel as bytes (see packChecks), handed over rather than copied
      const { bytes, prepared } = packChecks(jobs.map((p) => p.job));
      slot.batches.set(id, { jobs, prepared, timer });
      if (slot.idle !== undefined) clearTimeout(slot.idle);
      slot.idle = undefined;
      slot.worker.ref();
      slot.worker.postMessage({ id, bytes }, [bytes.buffer as ArrayBuffer]);
    }
  }

  /** The thread with the fewest batches in flight, below the limit; a new one while under `threads`. */
  private freeSlot(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots) if (s.batches.size < BATCHES_PER_THREAD && (best === undefined || s.batches.size < best.batches.size)) best = s;
    if (best !== undefined && best.batches.size === 0) return best;
    if (this.slots.length < this.threads) return this.spawn() ?? best;
    return best;
  }

  private spawn(): Slot | undefined {
    if (this.url === undefined) return undefined;
    let worker: Worker;
    try {
      worker = startWorker(this.url);
    } catch {
      // no threads in this process (a resource limit): inline from now on
      this.counts.failures = MAX_FAILURES;
      return undefined;
    }
    const slot: Slot = { worker, batches: new Map(), idle: undefined };
    worker.on('message', (msg: { id: number; answers: Uint8Array }) => this.answer(slot, msg));
    worker.on('error', (err) => this.lose(slot, err));
    worker.on('exit', (code) => this.lose(slot, new Error(`verifier thread exited with code ${code}`)));
    worker.unref();
    this.slots.push(slot);
    return slot;
  }

  private answer(slot: Slot, msg: { id: number; answers: Uint8Array }): void {
    const batch = slot.batches.get(msg.id);
    if (batch === undefined) return;
    slot.batches.delete(msg.id);
    clearTimeout(batch.timer);
    if (slot.batches.size === 0) {
      slot.worker.unref();
      this.retireWhenIdle(slot);
    }
    const sent = batch.prepared.filter((p) => p.hashError === undefined).length;
    const results = msg.answers instanceof Uint8Array && msg.answers.length === sent * PACKED_ANSWER_BYTES ? unpackChecks(batch.prepared, msg.answers, 'worker') : [];
    for (const [i, p] of batch.jobs.entries()) {
      if (p.settled) continue;
      const r = results[i];
      if (r === undefined) this.settle(p, this.inline(p.job));
      else {
        this.counts.byWorker++;
        this.settle(p, r);
      }
    }
    if (this.queue.length > 0) this.dispatch();
  }

  /** Retires the thread once it has had no work for `idleMs`. */
  private retireWhenIdle(slot: Slot): void {
    slot.idle = setTimeout(() => this.retire(slot), this.idleMs);
    slot.idle.unref();
  }

  /** Stops a thread that had no work for `idleMs`; a later job starts a new one. */
  private retire(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i < 0 || slot.batches.size > 0) return;
    this.slots.splice(i, 1);
    void slot.worker.terminate().catch(() => undefined);
  }

  /** A thread failed, exited or missed a deadline: its jobs run inline, it is dropped and stopped. */
  private lose(slot: Slot, _err: unknown): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    if (slot.idle !== undefined) clearTimeout(slot.idle);
    this.counts.failures++;
    this.drainInline(slot);
    void slot.worker.terminate().catch(() => undefined);
    if (this.queue.length > 0) this.dispatch();
  }

  private drainInline(slot: Slot): void {
    for (const b of slot.batches.values()) {
      clearTimeout(b.timer);
      for (const p of b.jobs) if (!p.settled) this.settle(p, this.inline(p.job));
    }
    slot.batches.clear();
  }
}
