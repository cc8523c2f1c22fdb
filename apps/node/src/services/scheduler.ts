/** Named one-shot timers (per lease and purpose), all cleared on stop. Long delays are chained. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class Scheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  /** Runs `fn` at `atMs` (epoch ms); replaces a timer of the same name. */
  at(name: string, atMs: number, fn: () => void): void {
    if (this.stopped) return;
    this.cancel(name);
    const delay = Math.max(0, atMs - Date.now());
    const t = setTimeout(
      () => {
        this.timers.delete(name);
        if (delay > MAX_DELAY_MS) this.at(name, atMs, fn);
        else fn();
      },
      Math.min(delay, MAX_DELAY_MS),
    );
    t.unref();
    this.timers.set(name, t);
  }

  has(name: string): boolean {
    return this.timers.has(name);
  }

  cancel(name: string): void {
    const t = this.timers.get(name);
    if (t) clearTimeout(t);
    this.timers.delete(name);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}

export function nsToEpochMs(ns: bigint): number {
  return Number(ns / 1_000_000n);
}
