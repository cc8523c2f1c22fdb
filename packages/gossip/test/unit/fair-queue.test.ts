import { describe, expect, it } from '@jest/globals';
import { FairQueue } from '../../src/fair-queue.js';

/** A job that finishes when the test says so, recording when it started. */
function gate(started: string[], name: string) {
  let open = () => {};
  const done = new Promise<string>((resolve) => {
    open = () => resolve(name);
  });
  return {
    fn: () => {
      started.push(name);
      return done;
    },
    open: () => open(),
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('FairQueue: validation slots shared between relaying peers', () => {
  it("a flooding peer's backlog does not hold back another peer's message: it takes the next free slot", async () => {
    const q = new FairQueue({ concurrency: 2, perPeerConcurrency: 2, perPeer: 1000 });
    const started: string[] = [];
    const flood = Array.from({ length: 100 }, (_, i) => gate(started, `a${i}`));
    const results = flood.map((g) => q.run('attacker', g.fn));
    await tick();
    expect(started).toEqual(['a0', 'a1']);
    expect(q.queued).toBe(98);
    const honest = gate(started, 'h');
    const answer = q.run('honest', honest.fn);
    flood[0]!.open();
    await tick();
    // FIFO would start a2; the honest peer's turn comes first
    expect(started).toEqual(['a0', 'a1', 'h']);
    honest.open();
    expect(await answer).toBe('h');
    await tick();
    expect(started.slice(3)).toEqual(['a2']);
    for (const g of flood) g.open();
    expect(await Promise.all(results)).toEqual(flood.map((_, i) => `a${i}`));
  });

  it('one peer runs at most its own share of the slots, so another peer starts at once', async () => {
    const q = new FairQueue({ concurrency: 4, perPeerConcurrency: 2 });
    const started: string[] = [];
    const flood = Array.from({ length: 10 }, (_, i) => gate(started, `a${i}`));
    const results = flood.map((g) => q.run('attacker', g.fn));
    const honest = gate(started, 'h');
    const answer = q.run('honest', honest.fn);
    await tick();
    expect(started).toEqual(['a0', 'a1', 'h']);
    honest.open();
    expect(await answer).toBe('h');
    for (const g of flood) g.open();
    await Promise.all(results);
    expect(started).toHaveLength(11);
  });

  it('drops past the per-peer bound and after the wait deadline, without running the job', async () => {
    let now = 0;
    const q = new FairQueue({ concurrency: 1, perPeer: 3, maxWaitMs: 100 }, () => now);
    const started: string[] = [];
    const first = gate(started, 'x0');
    void q.run('p', first.fn);
    const waiting = [1, 2, 3].map((i) => q.run('p', gate(started, `x${i}`).fn));
    expect(await q.run('p', gate(started, 'x4').fn)).toEqual({ dropped: 'peer_queue_full' });
    expect(q.queuedFor('p')).toBe(3);
    now = 101;
    first.open();
    expect(await Promise.all(waiting)).toEqual([{ dropped: 'queue_timeout' }, { dropped: 'queue_timeout' }, { dropped: 'queue_timeout' }]);
    expect(started).toEqual(['x0']);
    expect(q.queued).toBe(0);
  });

  it('a job that throws frees its slot and rejects its caller', async () => {
    const q = new FairQueue({ concurrency: 1 });
    await expect(q.run('p', () => Promise.reject(new Error('bad')))).rejects.toThrow('bad');
    expect(await q.run('p', async () => 'next')).toBe('next');
  });
});
