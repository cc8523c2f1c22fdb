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
