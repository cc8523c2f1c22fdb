import { describe, expect, it, jest } from '@jest/globals';
import { TIMEOUT_EXIT_CODE } from '../../src/index.js';
import { isProcessAlive, pollUntil, runCapped } from '../../src/proc.js';
import { isOurSandbox } from '../../src/sandbox/sandbox.js';

describe('runCapped', () => {
  it('never cuts inside a UTF-8 character', async () => {
    const r = await runCapped('/bin/sh', ['-c', "printf 'ééé'"], { timeoutMs: 5000, capBytes: 5 });
    expect(r.stdout).toBe('éé');
    expect(r.stdout_truncated).toBe(true);
  });
  it('reports a signal death as 128 + signal and a timeout as 124', async () => {
    const killed = await runCapped('/bin/sh', ['-c', 'kill -TERM $$'], { timeoutMs: 5000 });
    expect(killed.exit_code).toBe(143);
    const slow = await runCapped('/bin/sh', ['-c', 'sleep 5'], { timeoutMs: 100 });
    expect(slow).toEqual({ exit_code: TIMEOUT_EXIT_CODE, stdout: '', stderr: '', timed_out: true });
  });
  it('with closeStdinGraceMs, a timeout closes stdin first and the command ends by itself', async () => {
    // The command notices its stdin closing, cleans up and says so: it is not killed.
    const script = 'cat >/dev/null; echo cleaned; exit 3';
    const r = await runCapped('/bin/sh', ['-c', script], { timeoutMs: 100, stdin: 'pipe', closeStdinGraceMs: 5000 });
    expect(r).toEqual({ exit_code: TIMEOUT_EXIT_CODE, stdout: 'cleaned\n', stderr: '', timed_out: true });
    // Without it the group is killed at once and the clean-up never runs.
    const killed = await runCapped('/bin/sh', ['-c', script], { timeoutMs: 100, stdin: 'pipe' });
    expect(killed.stdout).toBe('');
  });
  it('with closeStdinGraceMs, a command that ignores stdin is killed after the grace', async () => {
    const started = Date.now();
    const r = await runCapped('/bin/sh', ['-c', 'sleep 20'], { timeoutMs: 100, stdin: 'pipe', closeStdinGraceMs: 300 });
    expect(r.timed_out).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
  });
  it('rejects with ABORTED on abort', async () => {
    const ac = new AbortController();
    const p = runCapped('/bin/sh', ['-c', 'sleep 5'], { timeoutMs: 5000, signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

describe('sandbox identity', () => {
  it('a live PID that is not our sandbox is never adopted', () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isOurSandbox({ pid: process.pid, pidStartTime: '0', dir: '/nowhere' })).toBe(false);
    expect(isOurSandbox({ pid: 2 ** 22 + 7, pidStartTime: '0', dir: '/nowhere' })).toBe(false);
  });
});

describe('pollUntil', () => {
  it('keeps its deadline on the monotonic clock: a wall-clock jump ends the wait neither early nor late', async () => {
    const wall = Date.now;
    let jumped = 0;
    // the wall clock jumps an hour ahead after the first reading
    const spy = jest.spyOn(Date, 'now').mockImplementation(() => wall() + (jumped++ > 0 ? 3_600_000 : 0));
    try {
      let calls = 0;
      expect(await pollUntil(() => (++calls >= 5 ? 'ready' : undefined), { timeoutMs: 5000, intervalMs: 1 })).toBe('ready');
      expect(calls).toBe(5);
      // and an hour back: the deadline still ends a check that never succeeds
      spy.mockImplementation(() => wall() - 3_600_000 * jumped++);
      const t0 = performance.now();
      expect(await pollUntil(() => undefined, { timeoutMs: 100, intervalMs: 5 })).toBeUndefined();
      expect(performance.now() - t0).toBeLessThan(2000);
    } finally {
      spy.mockRestore();
    }
  });
});
