import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import { bundleToJson, stringifyJson } from '@xe/core-types';
import { Ledger, LevelStore, stateDigest } from '../../src/index.js';
import { world } from '../helpers.js';
import { certificates, generate, rng } from '../support/generator.js';

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
    const gen = await world();
    const g = await generate(gen.ledger, 1200, 0x6c0de);
    const inGen = new Set(g.all.map((b) => b.hash));
    const treasuries = new Set(gen.bundle.blocks.map((b) => b.account));
    const initial = [];
    for (const f of await gen.ledger.frontiers()) {
      if (treasuries.has(f.account)) continue;
      initial.push(...(await gen.ledger.blocksAfter(f.account, 0n, 10)).filter((b) => !inGen.has(b.hash)));
    }
    const blocks = [...initial, ...g.all];
    const dir = await mkdtemp(join(tmpdir(), 'ledger-group-crash-'));
    dirs.push(dir);
    const files = [join(dir, 'bundle.json'), join(dir, 'certs.json'), join(dir, 'blocks.jsonl')];
    await writeFile(files[0]!, stringifyJson(bundleToJson(gen.bundle)));
    await writeFile(files[1]!, stringifyJson(certificates()));
    await writeFile(files[2]!, blocks.map((b) => stringifyJson(b)).join('\n'));
    const dataDir = join(dir, 'db');
    const args = [dataDir, ...files];

    const rand = rng(17);
    let kills = 0;
    let lastTotal = 0n;
    for (let i = 0; i < 8; i++) {
      // acknowledgements count from the start of each run (blocks already stored answer `duplicate`)
      const r = await runFeeder(args, { afterAcks: 1 + Math.floor(rand() * 40), delayMs: Math.floor(rand() * 5) });
      if (r.signal === 'SIGKILL') kills++;
      else expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
      const ledger = await Ledger.open(await LevelStore.open(dataDir), gen.bundle);
      expect((await ledger.checkConsistency()).problems).toEqual([]);
      const missing = [];
      for (const h of r.acked) if (!(await ledger.hasBlock(h))) missing.push(h);
      expect(missing).toEqual([]);
      const total = (await ledger.frontiers()).filter((f) => !treasuries.has(f.account)).reduce((n, f) => n + f.height, 0n);
      expect(total).toBeGreaterThanOrEqual(lastTotal);
      lastTotal = total;
      await ledger.close();
    }
    expect(kills).toBeGreaterThanOrEqual(6);
    const final = await runFeeder(args);
    expect(final.code).toBe(0);
    const store = await LevelStore.open(dataDir);
    const ledger = await Ledger.open(store, gen.bundle);
    expect((await ledger.checkConsistency()).problems).toEqual([]);
    expect(await stateDigest(store)).toBe(await stateDigest(gen.store));
    await ledger.close();
  }, 180_000);
});
