import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import { expectGeneratorState, feederInput, reopenAndCheck } from '../support/feeder-input.js';
import { rng } from '../support/generator.js';

const FEEDER = fileURLToPath(new URL('../fixtures/group-feeder.mjs', import.meta.url));
const dirs: string[] = [];

afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Runs the feeder; SIGKILLs it `delayMs` after it has acknowledged `afterAcks` blocks. Returns the hashes it acknowledged. */
function runFeeder(args: string[], kill?: { afterAcks: number; delayMs: number }): Promise<{ code: number | null; signal: NodeJS.Signals | null; acked: string[]; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FEEDER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    const acked = () => [...out.matchAll(/acked ([0-9a-f]{64})\n/g)].map((m) => m[1]!);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (kill !== undefined && timer === undefined && acked().length >= kill.afterAcks) timer = setTimeout(() => child.kill('SIGKILL'), kill.delayMs);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, acked: acked(), err });
    });
  });
}

describe('crash safety with group commit', () => {
  it('every block acknowledged before a SIGKILL is stored; each reopen is consistent; the end state is exact', async () => {
    const input = await feederInput(1200, 0x6c0de, 'ledger-group-crash-');
    dirs.push(input.dir);

    const rand = rng(17);
    let kills = 0;
    let lastTotal = 0n;
    for (let i = 0; i < 8; i++) {
      // acknowledgements count from the start of each run (blocks already stored answer `duplicate`)
      const r = await runFeeder(input.args, { afterAcks: 1 + Math.floor(rand() * 40), delayMs: Math.floor(rand() * 5) });
      if (r.signal === 'SIGKILL') kills++;
      else expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
      lastTotal = await reopenAndCheck(input, lastTotal, async (ledger) => {
        const missing = [];
        for (const h of r.acked) if (!(await ledger.hasBlock(h))) missing.push(h);
        expect(missing).toEqual([]);
      });
    }
    expect(kills).toBeGreaterThanOrEqual(6);
    const final = await runFeeder(input.args);
    expect(final.code).toBe(0);
    await expectGeneratorState(input);
  }, 180_000);
});
