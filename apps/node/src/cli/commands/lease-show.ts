import { Command } from 'commander';
import { isHash } from '@xe/core-types';
import { action, apiClient, type CliRun, type ClientOptions, clientOptions, usage } from '../common.js';
import { leaseLines, printJson } from '../format.js';

/** `xe-node lease show HASH`: one lease. */
export function leaseShow(run: CliRun): Command {
  return clientOptions(new Command('show').description('show one lease').argument('<lease_hash>', 'the lease (64 hex)'))
    .addHelpText(
      'after',
      `
Example
  xe-node lease show 3be7… --node http://127.0.0.1:7105`,
    )
    .action(
      action(run, async (hash: string, flags: ClientOptions) => {
        if (!isHash(hash)) usage('LEASE_HASH: expected 64 lowercase hex chars', 'lease show');
        const l = await apiClient(flags, 'lease show').getLease(hash);
        if (flags.json) printJson(l);
        else process.stdout.write(`${leaseLines(l)}\n`);
        return 0;
      }),
    );
}
