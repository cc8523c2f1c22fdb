import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from '@jest/globals';
import { bundleToJson, stringifyJson } from '@xe/core-types';
import { Ledger, LevelStore, stateDigest } from '../../src/index.js';
import { world } from '../helpers.js';
import { certificates, generate } from './generator.js';

/**
 * The input of a crash-test feeder process: a generated history of `count` blocks (seeded),
 * preceded by the users' opening blocks, written with the bundle and certificates into a
 * fresh directory under `prefix`. `args` are the feeder's arguments (data dir, then files).
 */
export async function feederInput(count: number, seed: number, prefix: string) {
  const gen = await world();
  const g = await generate(gen.ledger, count, seed);
  const inGen = new Set(g.all.map((b) => b.hash));
  const treasuries = new Set(gen.bundle.blocks.map((b) => b.account));
  const initial = [];
  for (const f of await gen.ledger.frontiers()) {
    if (treasuries.has(f.account)) continue;
    initial.push(...(await gen.ledger.blocksAfter(f.account, 0n, 10)).filter((b) => !inGen.has(b.hash)));
  }
  const blocks = [...initial, ...g.all];
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const files = [join(dir, 'bundle.json'), join(dir, 'certs.json'), join(dir, 'blocks.jsonl')];
  await writeFile(files[0]!, stringifyJson(bundleToJson(gen.bundle)));
  await writeFile(files[1]!, stringifyJson(certificates()));
  await writeFile(files[2]!, blocks.map((b) => stringifyJson(b)).join('\n'));
  const dataDir = join(dir, 'db');
  return { gen, g, blocks, treasuries, dir, dataDir, args: [dataDir, ...files] };
}

type FeederInput = Awaited<ReturnType<typeof feederInput>>;

/**
 * Reopens the feeder's LevelDB after a run: consistent, and the users' chains (treasuries
 * left out) at least `lastTotal` blocks long. Returns that total; `check` sees the open ledger.
 */
export async function reopenAndCheck(input: FeederInput, lastTotal: bigint, check?: (ledger: Ledger) => Promise<void>): Promise<bigint> {
  const ledger = await Ledger.open(await LevelStore.open(input.dataDir), input.gen.bundle);
  try {
    expect((await ledger.checkConsistency()).problems).toEqual([]);
    await check?.(ledger);
    const total = (await ledger.frontiers()).filter((f) => !input.treasuries.has(f.account)).reduce((n, f) => n + f.height, 0n);
    expect(total).toBeGreaterThanOrEqual(lastTotal);
    return total;
  } finally {
    await ledger.close();
  }
}

/** After the feeder ran to the end: the ledger is consistent and its state is the generator's. */
export async function expectGeneratorState(input: FeederInput): Promise<void> {
  const store = await LevelStore.open(input.dataDir);
  const ledger = await Ledger.open(store, input.gen.bundle);
  try {
    expect((await ledger.checkConsistency()).problems).toEqual([]);
    expect(await stateDigest(store)).toBe(await stateDigest(input.gen.store));
  } finally {
    await ledger.close();
  }
}
