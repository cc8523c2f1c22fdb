/** The one clock abstraction: unix nanoseconds as bigint. Inject it; tests pass their own. */
export type Clock = () => bigint;

const origin = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

/** Wall clock in ns with sub-millisecond resolution. */
export const systemClock: Clock = () => origin + process.hrtime.bigint();

export function nsToMs(ns: bigint): number {
  return Number(ns / 1_000_000n);
}

export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms)) * 1_000_000n;
}
