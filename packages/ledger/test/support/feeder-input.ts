import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleToJson, stringifyJson } from '@xe/core-types';
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
