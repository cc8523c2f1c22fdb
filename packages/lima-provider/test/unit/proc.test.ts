import assert from 'node:assert/strict';
import { TIMEOUT_EXIT_CODE } from '../../src/index.js';
import { isProcessAlive, runCapped } from '../../src/proc.js';
import { isOurSandbox } from '../../src/sandbox/sandbox.js';

describe('runCapped', () => {
  it('never cuts inside a UTF-8 character', async () => {
    const r = await runCapped('/bin/sh', ['-c', "printf 'ééé'"], { timeoutMs: 5000, capBytes: 5 });
    assert.equal(r.stdout, 'éé');
    assert.equal(r.stdout_truncated, true);
  });
  it('reports a signal death as 128 + signal and a timeout as 124', async () => {
    const killed = await runCapped('/bin/sh', ['-c', 'kill -TERM $$'], { timeoutMs: 5000 });
    assert.equal(killed.exit_code, 143);
    const slow = await runCapped('/bin/sh', ['-c', 'sleep 5'], { timeoutMs: 100 });
    assert.deepEqual(slow, { exit_code: TIMEOUT_EXIT_CODE, stdout: '', stderr: '', timed_out: true });
  });
  it('rejects with ABORTED on abort', async () => {
    const ac = new AbortController();
    const p = runCapped('/bin/sh', ['-c', 'sleep 5'], { timeoutMs: 5000, signal: ac.signal });
    ac.abort();
    await assert.rejects(p, (e: { code?: string }) => e.code === 'ABORTED');
  });
});

describe('sandbox identity', () => {
  it('a live PID that is not our sandbox is never adopted', () => {
    assert.equal(isProcessAlive(process.pid), true);
    assert.equal(isOurSandbox({ pid: process.pid, pidStartTime: '0', dir: '/nowhere' }), false);
    assert.equal(isOurSandbox({ pid: 2 ** 22 + 7, pidStartTime: '0', dir: '/nowhere' }), false);
  });
});
