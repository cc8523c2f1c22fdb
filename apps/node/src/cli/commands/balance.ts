import { Command } from 'commander';
import { isHash } from '@xe/core-types';
import { action, apiClient, type CliRun, type ClientOptions, clientOptions, usage } from '../common.js';
import { printJson, units } from '../format.js';

/** `xe-node balance [ADDRESS]`: an account's balances (default: the node's own). */
export function balance(run: CliRun): Command {
  return clientOptions(new Command('balance').description("show an account's balances").argument('[address]', "the account (default: the node's own)"))
    .addHelpText(
      'after',
      `
Examples
  xe-node balance --node http://127.0.0.1:7105
  xe-node balance 5be1… --json`,
    )
    .action(
      action(run, async (given: string | undefined, flags: ClientOptions) => {
        const client = apiClient(flags, 'balance');
        const address = given ?? (await client.node()).address;
        if (!isHash(address)) usage('ADDRESS: expected 64 lowercase hex chars', 'balance');
        const a = await client.getAccount(address);
        if (flags.json) printJson(a);
        else {
          // confirmed balances; the head's beside them while blocks wait for confirmation
          const unconfirmed = a.head.height !== BigInt(a.block_count);
          const line = (asset: 'XUSD' | 'XE') =>
            `${units(a.balances[asset])}${a.pending[asset] ? `  (+${units(a.pending[asset])} pending)` : ''}${
              unconfirmed && a.head.balances[asset] !== a.balances[asset] ? `  (${units(a.head.balances[asset])} with unconfirmed blocks)` : ''
            }`;
          const note = unconfirmed ? `${a.head.height - BigInt(a.block_count)} block(s) not confirmed yet\n` : '';
          process.stdout.write(`${address}\nXUSD  ${line('XUSD')}\nXE    ${line('XE')}\n${note}`);
        }
        return 0;
      }),
    );
}
