import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import { expectGeneratorState, feederInput, reopenAndCheck } from '../support/feeder-input.js';
import { rng } from '../support/generator.js';

const FEEDER = fileURLToPath(new URL('../fixtures/feeder.mjs', import.meta.url));
const dirs: string[] = [];

afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/**
 * Runs the feeder. With `kill`, SIGKILLs it `delayMs` after it reports reaching block
 * index `atIndex` (a random point while it writes); without, lets it finish.
 */
function runFeeder(args: string[], kill?: { atIndex: number; delayMs: number }): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FEEDER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (kill !== undefined && timer === undefined) {
        const last = [...out.matchAll(/progress (\d+)/g)].pop();
        if (last && Number(last[1]) >= kill.atIndex) timer = setTimeout(() => child.kill('SIGKILL'), kill.delayMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, out, err });
    });
  });
}

describe('crash safety', () => {
  it('survives 20 SIGKILLs mid-write: each reopen is consistent and continues from its frontier', async () => {
    const input = await feederInput(700, 0xc0ffee, 'ledger-crash-');
    dirs.push(input.dir);
    const { blocks, args } = input;

    const rand = rng(7);
    let lastTotal = 0n;
    let kills = 0;
    for (let i = 0; i < 20; i++) {
      const done = Number(lastTotal); // file blocks admitted so far (all on user chains)
      const atIndex = Math.min(blocks.length - 40, done + 1 + Math.floor(rand() * (blocks.length / 30)));
      const r = await runFeeder(args, { atIndex, delayMs: Math.floor(rand() * 4) });
      if (r.signal === 'SIGKILL') kills++;
      else expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
      lastTotal = await reopenAndCheck(input, lastTotal);
    }
    expect(kills).toBe(20);
    const final = await runFeeder(args);
    expect(final.code).toBe(0);
    await expectGeneratorState(input);
  }, 120_000);
});
