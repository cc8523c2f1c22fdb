import { abortError, type Clock, ErrorCodes, nsToMs, XeError } from '@xe/core-types';
import type { Timers } from './ports.js';

/** setTimeout's longest delay; longer ones are chained. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** The process's timers (unref'd, long delays chained). */
export const systemTimers: Timers = {
  after(ms, fn) {
    let t: NodeJS.Timeout;
    const arm = (left: number) => {
      t = setTimeout(() => (left > MAX_DELAY_MS ? arm(left - MAX_DELAY_MS) : fn()), Math.min(Math.max(0, left), MAX_DELAY_MS));
      t.unref();
    };
    arm(ms);
    return () => clearTimeout(t);
  },
};

/** The time a service runs on: the injected clock and timers on the same time line. */
export interface Time {
  clock: Clock;
  timers: Timers;
}

/** Named one-shot timers (per lease and purpose), all cleared on stop. */
export class Scheduler {
  private readonly timers = new Map<string, () => void>();
  private stopped = false;

  constructor(private readonly time: Time) {}

  /** Runs `fn` at clock time `atNs` (unix ns); replaces a timer of the same name. */
  at(name: string, atNs: bigint, fn: () => void): void {
    this.after(name, Math.max(0, nsToMs(atNs - this.time.clock())), fn);
  }

  /** Runs `fn` `ms` from now; replaces a timer of the same name. */
  after(name: string, ms: number, fn: () => void): void {
    if (this.stopped) return;
    this.cancel(name);
    const cancel = this.time.timers.after(ms, () => {
      this.timers.delete(name);
      fn();
    });
    this.timers.set(name, cancel);
  }

  has(name: string): boolean {
    return this.timers.has(name);
  }

  cancel(name: string): void {
    this.timers.get(name)?.();
    this.timers.delete(name);
  }

  stop(): void {
    this.stopped = true;
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
  }
}

/** Resolves after `ms` on `timers`; an aborted `signal` rejects with its coded abort error. */
export function sleep(timers: Timers, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => {
      cancel();
      reject(abortError(signal));
    };
    const cancel = timers.after(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A signal that aborts `ms` from now on `timers` (reason: a `TIMEOUT` error saying `what`)
 * or when `parent` aborts. Call `clear` when done so the timer goes away.
 */
export function deadline(timers: Timers, ms: number, what: string, parent?: AbortSignal): { signal: AbortSignal; clear: () => void } {
  const ac = new AbortController();
  const cancel = timers.after(ms, () => ac.abort(new XeError(ErrorCodes.TIMEOUT, `${what} timed out after ${Math.round(ms)} ms`)));
  const signal = parent ? AbortSignal.any([parent, ac.signal]) : ac.signal;
  return { signal, clear: cancel };
}
