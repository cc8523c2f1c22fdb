import { describe, expect, it } from '@jest/globals';
import { TIMEOUT_EXIT_CODE } from '../../src/index.js';
import { isProcessAlive, runCapped } from '../../src/proc.js';
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
