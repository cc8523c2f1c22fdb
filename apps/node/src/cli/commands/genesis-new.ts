import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command } from 'commander';
import {
  bundleToJson,
  DEFAULT_POW_DIFFICULTY,
  DEVNET_LEASE_PARAMS,
  isHash,
  isHex,
  type JsonValue,
  parseFinalityParams,
  parseJson,
  parseLeaseParams,
  stringifyJson,
  validateNetworkParams,
} from '@xe/core-types';
import { generateKeyPair } from '@xe/crypto';
import type { GenesisAllocation } from '@xe/ledger';
import { writeAtomic, writeSecret } from '../../datadir.js';
import { action, type CliRun, usage } from '../common.js';
import { parseUnits } from '../format.js';

interface GenesisFlags {
  networkId?: string;
  timekeeper?: string[];
  threshold?: string;
  difficulty?: string;
  devnetTiming?: boolean;
  alloc?: string[];
  representative?: string[];
  quorum?: string;
  spec?: string;
  treasuryDir?: string;
  out?: string;
}

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

/** `xe-node genesis new`: a genesis bundle (network parameters and initial funds) and its treasury keys. */
export function genesisNew(run: CliRun): Command {
  return new Command('new')
    .description('make a genesis bundle (network parameters and initial funds)')
    .option('--network-id <id>', 'network name')
    .option('--timekeeper <pubkey>', "a timekeeper's node public key (64 hex; repeatable)", collect)
    .option('--threshold <n>', 'attestations needed (default 1)')
    .option('--difficulty <hex>', `PoW difficulty, 16 hex chars (default ${DEFAULT_POW_DIFFICULTY.toString(16)})`)
    .option('--devnet-timing', 'the short devnet lease timings (default: production timings)')
    .option('--alloc <address:asset:amount>', 'initial funds, AMOUNT in whole units (repeatable)', collect)
    .option('--representative <address[:weight]>', 'a representative that votes on forks (SPEC §12), weight default 1 (repeatable; at least one)', collect)
    .option('--quorum <pct>', 'share of the total weight a confirmation needs, 51..100 (default 67)')
    .option(
      '--spec <file>',
      'JSON {network_id, timekeepers:{keys,threshold}, pow_difficulty, lease, finality:{representatives:[{address,weight}],quorum_pct}, allocations:[{address,asset,amount}]}',
    )
    .option('--treasury-dir <dir>', 'where to write the treasury keys (default: beside --out)')
    .option('--out <file>', 'bundle file (default ./genesis.json)')
    .addHelpText(
      'after',
      `
Example
  xe-node genesis new --network-id mynet --timekeeper $(cat tk.pub) --representative 3f2a…:1 --alloc 3f2a…:XUSD:1000 --out genesis.json`,
    )
    .action(action(run, (flags: GenesisFlags) => runGenesisNew(flags)));
}

async function runGenesisNew(flags: GenesisFlags): Promise<number> {
  const topic = 'genesis new';
  let spec: Record<string, JsonValue> = {};
  if (flags.spec) spec = parseJson(readFileSync(flags.spec, 'utf8')) as Record<string, JsonValue>;
  const tkSpec = (spec.timekeepers ?? {}) as { keys?: string[]; threshold?: bigint };
  const networkId = String(flags.networkId ?? spec.network_id ?? '');
  if (!networkId) usage('--network-id is required', topic);
  const keys = flags.timekeeper ?? tkSpec.keys ?? [];
  for (const k of keys) if (!isHash(k)) usage(`--timekeeper: expected a 64-hex public key, got ${JSON.stringify(k)}`, topic);
  const threshold = Number(flags.threshold ?? tkSpec.threshold ?? 1);
  const diffHex = String(flags.difficulty ?? spec.pow_difficulty ?? DEFAULT_POW_DIFFICULTY.toString(16));
  if (!isHex(diffHex, 16)) usage('--difficulty: expected 16 lowercase hex chars', topic);
  const lease = flags.devnetTiming ? { ...DEVNET_LEASE_PARAMS } : parseLeaseParams(spec.lease ?? {});
  const allocations: GenesisAllocation[] = [];
  for (const a of flags.alloc ?? []) {
    const [address, asset, amount] = a.split(':');
    if (!isHash(address) || (asset !== 'XUSD' && asset !== 'XE') || !amount) usage(`--alloc: expected ADDRESS:XUSD|XE:AMOUNT, got ${JSON.stringify(a)}`, topic);
    allocations.push({ address, asset, amount: parseUnits(amount, '--alloc amount') });
  }
  for (const a of (spec.allocations as Array<Record<string, JsonValue>> | undefined) ?? []) {
    allocations.push({ address: String(a.address), asset: a.asset === 'XE' ? 'XE' : 'XUSD', amount: BigInt(a.amount as bigint) });
  }
  const params = { network_id: networkId, pow_difficulty: BigInt(`0x${diffHex}`), timekeepers: { keys, threshold }, lease };
  validateNetworkParams(params);
  const specFinality = (spec.finality ?? {}) as { representatives?: JsonValue[]; quorum_pct?: bigint };
  const reps: JsonValue[] = [...(specFinality.representatives ?? [])];
  for (const r of flags.representative ?? []) {
    const [address, weight = '1'] = r.split(':');
    if (!isHash(address) || !/^[1-9][0-9]{0,18}$/.test(weight)) usage(`--representative: expected ADDRESS[:WEIGHT], got ${JSON.stringify(r)}`, topic);
    reps.push({ address, weight: BigInt(weight) });
  }
  if (reps.length === 0) usage('at least one --representative is required (SPEC §4: finality)', topic);
  const quorum = flags.quorum ?? specFinality.quorum_pct ?? 67n;
  if (!/^[0-9]{1,3}$/.test(String(quorum))) usage(`--quorum: expected 51..100, got ${JSON.stringify(String(quorum))}`, topic);
  const finality = parseFinalityParams({ representatives: reps, quorum_pct: BigInt(String(quorum)) });
  const out = resolve(flags.out ?? 'genesis.json');
  const tdir = resolve(flags.treasuryDir ?? dirname(out));
  mkdirSync(tdir, { recursive: true });
  const treasury = { XE: generateKeyPair(), XUSD: generateKeyPair() };
  for (const [asset, k] of Object.entries(treasury)) writeSecret(join(tdir, `treasury-${asset}.key`), `${Buffer.from(k.seed).toString('hex')}\n`);
  process.stderr.write(`solving proof of work for ${allocations.length} allocation(s)…\n`);
  const { createGenesisBundle } = await import('@xe/ledger');
  const bundle = await createGenesisBundle({
    networkId,
    difficulty: params.pow_difficulty,
    timekeepers: params.timekeepers,
    lease,
    representatives: finality.representatives,
    quorumPct: finality.quorum_pct,
    treasuryKeys: treasury,
    allocations,
  });
  writeAtomic(out, `${stringifyJson(bundleToJson(bundle), 2)}\n`);
  process.stderr.write(`genesis bundle written: ${out}; treasury keys in ${tdir}\n`);
  return 0;
}
