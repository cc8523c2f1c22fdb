import { abortError, ErrorCodes, XeError } from './errors.js';

export interface WaitUntilOptions {
  /** Give up after this long (a TIMEOUT error naming `what`). */
  timeoutMs: number;
  /** What is awaited, for the error message: "the provider advert". */
  what: string;
  /** Pause between checks (default 50 ms). */
  intervalMs?: number;
  /** A check error for which this is true ends the wait at once (it is rethrown), e.g. "the process exited". */
  stopOn?: (err: unknown) => boolean;
  signal?: AbortSignal;
}

/**
 * Polls `check` until it returns a truthy value (which it resolves with), with a deadline:
 * the one poll-with-deadline of the code base, for tests (waiting on another process, a
 * socket, a background job) and for tools that wait on a node. A check that throws counts as
 * "not yet"; its last error is the cause of the TIMEOUT.
 */
export async function waitUntil<T>(check: () => T | Promise<T>, options: WaitUntilOptions): Promise<NonNullable<T>> {
  const { timeoutMs, what, intervalMs = 50, stopOn, signal } = options;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    if (signal?.aborted) throw abortError(signal);
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      if (stopOn?.(err)) throw err;
      lastError = err;
    }
    const left = deadline - performance.now();
    if (left <= 0) {
      const why = lastError instanceof Error ? ` (last check failed: ${lastError.message})` : '';
      throw new XeError(ErrorCodes.TIMEOUT, `timed out after ${timeoutMs} ms waiting for ${what}${why}`, lastError === undefined ? {} : { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, left)));
  }
}

/** Resolves after `ms`, or rejects with `abortError(signal)` as soon as `signal` aborts (at once when it already has). */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError(signal));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
