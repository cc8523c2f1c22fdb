import { LedgerErrorCodes as C, LedgerStoreError } from './errors.js';
import type { GroupStore, WriteLayer } from './store.js';

/** Runs tasks one after another: admissions, sweeps and checks never interleave. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` after every earlier task has finished. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

/**
 * Tasks in one group at most, and writes (ops) in one group's batch at most. A task's writes
 * and result live until its group is written: with groups of 256 (three alive at once) they
 * were, with the sync pages, most of what each of V8's scavenges copied and promoted; 64
 * halves that, and a group still makes dozens of blocks one LevelDB write.
 */
export const GROUP_MAX_TASKS = 64;
export const GROUP_MAX_OPS = 8192;
/** Sealed groups waiting for their write at most before the next task waits too. */
const MAX_UNWRITTEN = 2;

interface Task {
  fn: () => Promise<unknown>;
  /** settles when the task's inputs are ready (its block's checks on a verifier thread) */
  ready: Promise<unknown> | undefined;
  isReady: boolean;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface Group {
  done: { task: Task; ok: boolean; value: unknown }[];
  /** work held back until the group is written (events), in order */
  after: (() => void)[];
}

export interface CommitQueueComponents {
  store: GroupStore;
  /** After a failed write: drop what memory holds of unwritten state (caches). */
  reset(): Promise<void>;
  /** While the next task is not ready: do one piece of the work tasks wait for (false: none left). */
  help?(): boolean;
}

/**
 * A serial queue with group commit. Tasks run one after another, in the order they were
 * queued; the writes of consecutive tasks gather in one layer of the GroupStore and go
 * to the store as one atomic batch when the queue runs dry, when the next task is not
 * ready yet, or when the group is full. A task's result (or error) and the work it
 * deferred with `afterCommit` (its events) are released only after the batch holding its
 * writes is written, so nothing is acknowledged before it is stored. While a group is
 * being written the next one already runs, reading the unwritten layers. A crash between
 * batches leaves the store as it was after some whole group: every group is a run of
 * whole tasks. A failed write fails its group and every later unwritten group (they
 * were built on it), then `reset` drops the caches before the next task runs.
 */
export class CommitQueue {
  private readonly tasks: Task[] = [];
  private group: Group | undefined;
  private running = false;
  /** a task is running now (its group must not be sealed under it) */
  private inTask = false;
  private unwritten = 0;
  private writeTail: Promise<void> = Promise.resolve();
  private failure: LedgerStoreError | undefined;

  constructor(private readonly components: CommitQueueComponents) {}

  /** Runs `fn` after every earlier task, and not before `ready` settles; settles once its writes are stored. */
  run<T>(fn: () => Promise<T>, ready?: Promise<unknown>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const task: Task = { fn, ready, isReady: ready === undefined, resolve: resolve as (v: unknown) => void, reject };
      if (ready !== undefined) {
        ready.then(
          () => (task.isReady = true),
          () => (task.isReady = true),
        );
      }
      this.tasks.push(task);
      if (!this.running) void this.drain();
    });
  }

  /** Inside a task: runs `fn` once the task's group is written (at once outside a task). */
  afterCommit(fn: () => void): void {
    if (this.group === undefined || !this.running) fn();
    else this.group.after.push(fn);
  }

  /** Resolves when every queued task has run and every group is written. */
  async idle(): Promise<void> {
    while (this.running || this.unwritten > 0) {
      await this.writeTail;
      if (this.running) await new Promise((r) => setImmediate(r));
    }
  }

  private async drain(): Promise<void> {
    this.running = true;
    const { store } = this.components;
    try {
      for (;;) {
        if (this.failure !== undefined) await this.recover();
        const task = this.tasks[0];
        if (task === undefined) break;
        if (!task.isReady) {
          // write what is gathered rather than hold it while this task's checks finish
          this.sealIfNoWrite();
          const help = this.components.help;
          // lend a hand with the checks still waiting for a thread, yielding between them so
          // the answers that make this task ready are taken in
          while (!task.isReady && help?.() === true) await new Promise((r) => setImmediate(r));
          if (!task.isReady) await task.ready!.catch(() => undefined);
          continue;
        }
        this.tasks.shift();
        if (this.group === undefined) {
          this.group = { done: [], after: [] };
          store.begin();
        }
        const group = this.group;
        this.inTask = true;
        try {
          group.done.push({ task, ok: true, value: await task.fn() });
        } catch (err) {
          group.done.push({ task, ok: false, value: err });
        } finally {
          this.inTask = false;
        }
        if (group.done.length >= GROUP_MAX_TASKS || store.openOps >= GROUP_MAX_OPS) this.seal();
        while (this.unwritten >= MAX_UNWRITTEN) await this.writeTail;
      }
      this.sealIfNoWrite();
    } finally {
      this.running = false;
    }
    if (this.tasks.length > 0) void this.drain();
  }

  /**
   * Seals the open group when no write is under way; otherwise the group keeps gathering
   * and is sealed when that write ends (so groups grow to what one write's time gathers).
   */
  private sealIfNoWrite(): void {
    if (this.unwritten === 0) this.seal();
  }

  /** Closes the open group and queues its write behind the earlier ones. */
  private seal(): void {
    const group = this.group;
    if (group === undefined) return;
    this.group = undefined;
    const layer = this.components.store.seal();
    this.unwritten++;
    this.writeTail = this.writeTail.then(() => this.write(group, layer));
  }

  private async write(group: Group, layer: WriteLayer | undefined): Promise<void> {
    if (this.failure === undefined && layer !== undefined) {
      try {
        await this.components.store.write(layer);
      } catch (err) {
        this.failure = new LedgerStoreError(C.STORE_FAILURE, `batch failed: ${(err as Error).message}`, { cause: err });
      }
    }
    this.unwritten--;
    const failure = this.failure;
    if (failure !== undefined) {
      for (const d of group.done) d.task.reject(failure);
      if (!this.running) void this.drain();
      return;
    }
    for (const fn of group.after) fn();
    for (const d of group.done) {
      if (d.ok) d.task.resolve(d.value);
      else d.task.reject(d.value);
    }
    // the group gathered during this write goes next, unless a task is still adding to it
    if (!this.inTask) this.sealIfNoWrite();
  }

  /** After a failed write: fail the open group too, wait out the queued writes, forget the layers, reset. */
  private async recover(): Promise<void> {
    this.seal();
    while (this.unwritten > 0) await this.writeTail;
    this.components.store.drop();
    await this.components.reset().catch(() => undefined);
    this.failure = undefined;
  }
}
