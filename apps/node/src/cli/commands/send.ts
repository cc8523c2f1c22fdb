import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { isHash, systemClock, XeError } from '@xe/core-types';
import { XeApiError } from '@xe/client';
import { attachPow, type KeyPair, signBlock } from '@xe/crypto';
import { readGenesis, readKeyFile } from '../../datadir.js';
import { action, apiClient, type CliRun, type ClientOptions, clientOptions, usage } from '../common.js';
import { parseUnits, printJson, units } from '../format.js';

interface SendFlags extends ClientOptions {
  to?: string;
  amount?: string;
  asset?: string;
  memo?: string;
  dataDir?: string;
  key?: string;
  genesis?: string;
}

/** `xe-node send`: builds, signs and solves a send block locally and submits it. */
export function send(run: CliRun): Command {
  const cmd = new Command('send')
    .description('send XUSD or XE from a key to an address')
    .option('--to <address>', 'the destination address (64 hex)')
    .option('--amount <n>', 'whole units (12.5 = 12,500,000 µ)')
    .option('--asset <asset>', 'XUSD or XE (default XUSD)')
    .option('--memo <text>', 'a memo on the block')
    .option('--data-dir <dir>', "a node's data dir: its node.key and genesis.json sign and shape the block")
    .option('--key <file>', 'a node key file (with --genesis)')
    .option('--genesis <file>', 'the genesis bundle (with --key)');
  return clientOptions(cmd)
    .addHelpText(
      'after',
      `
Builds, signs and solves the send block locally and submits it with POST /blocks.

Example
  xe-node send --data-dir ./devnet/node-2-consumer --to 5be1… --amount 10 --node http://127.0.0.1:7105`,
    )
    .action(action(run, (flags: SendFlags) => runSend(flags)));
}

function signingKey(flags: SendFlags): { key: KeyPair; genesisFile: string } {
  if (flags.dataDir) {
    const d = resolve(flags.dataDir);
    return { key: readKeyFile(join(d, 'node.key')), genesisFile: flags.genesis ?? join(d, 'genesis.json') };
  }
  if (!flags.key || !flags.genesis) usage('pass --data-dir DIR, or --key FILE and --genesis FILE', 'send');
  return { key: readKeyFile(flags.key), genesisFile: flags.genesis };
}

async function runSend(flags: SendFlags): Promise<number> {
  const to = flags.to ?? '';
  if (!isHash(to)) usage('--to: expected a 64-hex address', 'send');
  if (!flags.amount) usage('--amount is required', 'send');
  const given = flags.asset ?? 'XUSD';
  if (given !== 'XUSD' && given !== 'XE') usage('--asset: XUSD or XE', 'send');
  const asset: 'XUSD' | 'XE' = given;
  const amount = parseUnits(flags.amount);
  const { key, genesisFile } = signingKey(flags);
  const bundle = readGenesis(genesisFile);
  const client = apiClient(flags, 'send');
  const acct = await client.getAccount(key.address).catch((err: unknown) => {
    if (err instanceof XeApiError && err.code === 'ACCOUNT_NOT_FOUND') return undefined;
    throw err;
  });
  if (!acct) throw new XeError('CLIENT', `account ${key.address} has no blocks yet on this node; it must receive funds first`);
  // Built on the head (the chain as applied, confirmed or not), so a send may follow the
  // last block at once; the confirmed `balances` may lag it.
  const { head } = acct;
  const have = head.balances[asset];
  if (have < amount) throw new XeError('INSUFFICIENT_BALANCE', `balance ${units(have)} ${asset} is less than ${units(amount)}`);
  const unsigned = {
    type: 'send' as const,
    account: key.address,
    previous: head.frontier,
    balance: have - amount,
    timestamp: systemClock(),
    asset,
    destination: to,
    amount,
    ...(flags.memo ? { memo: flags.memo } : {}),
  };
  const block = await attachPow(signBlock(unsigned, key, bundle.network_id), bundle.pow_difficulty);
  const res = await client.submitBlock(block);
  if (flags.json) printJson(res);
  else process.stdout.write(`sent ${units(amount)} ${asset} to ${to}\nblock ${block.hash}\n`);
  return 0;
}
