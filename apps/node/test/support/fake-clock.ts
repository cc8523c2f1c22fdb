import type { Clock } from '@xe/core-types';
import type { Timers } from '../../src/services/ports.js';

interface Pending {
  atNs: bigint;
  seq: number;
  fn: () => void;
}

/**
 * A clock and timers on one hand-moved time line (unix ns). `advance` moves time
 * forward and fires each due timer at its own time, in order; what a timer starts
 * asynchronously runs on its own (wait for its effect with core-types' `waitUntil`).
 */
export class FakeClock {
  private pending: Pending[] = [];
  private seq = 0;

  constructor(public nowNs: bigint) {}

  readonly clock: Clock = () => this.nowNs;

  readonly timers: Timers = {
    after: (ms, fn) => {
      const p: Pending = { atNs: this.nowNs + BigInt(Math.max(0, Math.round(ms))) * 1_000_000n, seq: this.seq++, fn };
      this.pending.push(p);
      return () => {
        this.pending = this.pending.filter((x) => x !== p);
      };
    },
  };

  /** Milliseconds from now to each armed timer, soonest first. */
  dueInMs(): number[] {
    return this.pending.map((p) => Number((p.atNs - this.nowNs) / 1_000_000n)).sort((a, b) => a - b);
  }

  /** Moves time forward by `ms`, firing the timers that fall due on the way. */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.nowNs + BigInt(Math.round(ms)) * 1_000_000n);
  }

  /** Moves time to `targetNs` (never backwards), firing the timers that fall due on the way. */
  async advanceTo(targetNs: bigint): Promise<void> {
    for (;;) {
      const due = this.pending.filter((p) => p.atNs <= targetNs).sort((a, b) => (a.atNs === b.atNs ? a.seq - b.seq : a.atNs < b.atNs ? -1 : 1))[0];
      if (!due) break;
      this.pending = this.pending.filter((p) => p !== due);
      if (due.atNs > this.nowNs) this.nowNs = due.atNs;
      due.fn();
      // Let the promise jobs the timer started run before the next one fires.
      await new Promise((r) => setImmediate(r));
    }
    if (targetNs > this.nowNs) this.nowNs = targetNs;
  }
}
