import { describe, expect, it } from '@jest/globals';
import { pause, waitUntil } from '../../src/index.js';

describe('waitUntil', () => {
  it('resolves with the first truthy value of the check', async () => {
    let n = 0;
    await expect(waitUntil(() => (++n >= 3 ? `after ${n}` : undefined), { timeoutMs: 1000, what: 'three checks', intervalMs: 1 })).resolves.toBe('after 3');
  });

  it('awaits async checks and counts a throwing check as "not yet"', async () => {
    let n = 0;
    const v = await waitUntil(
      async () => {
        n++;
        if (n < 2) throw new Error('not up');
        return n;
      },
      { timeoutMs: 1000, what: 'a server', intervalMs: 1 },
    );
    expect(v).toBe(2);
  });

  it('fails with TIMEOUT naming what it waited for, the last error as the cause', async () => {
    const started = performance.now();
    const err = await waitUntil(
      () => {
        throw new Error('connection refused');
      },
      { timeoutMs: 60, what: 'the provider advert', intervalMs: 10 },
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/waiting for the provider advert \(last check failed: connection refused\)/) });
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });

  it('rethrows at once a check error that stopOn picks', async () => {
    const dead = new Error('node 1 exited early');
    const err = await waitUntil(
      () => {
        throw dead;
      },
      { timeoutMs: 10_000, what: 'a node', stopOn: (e) => e instanceof Error && e.message.includes('exited early') },
    ).catch((e: unknown) => e);
    expect(err).toBe(dead);
  });

  it('stops at once when its signal aborts', async () => {
    const ctrl = new AbortController();
    const p = waitUntil(() => false, { timeoutMs: 10_000, what: 'never', signal: ctrl.signal });
    ctrl.abort();
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

describe('pause', () => {
  it('resolves after its time, and rejects ABORTED when the signal aborts first or already has', async () => {
    const t = performance.now();
    await pause(30);
    expect(performance.now() - t).toBeGreaterThanOrEqual(25);
    const ac = new AbortController();
    const waiting = pause(60_000, ac.signal);
    ac.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(pause(10, ac.signal)).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
