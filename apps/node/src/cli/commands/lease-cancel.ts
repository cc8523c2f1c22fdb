import { Command } from 'commander';
import { isHash } from '@xe/core-types';
import { action, apiClient, type CliRun, type ClientOptions, clientOptions, usage } from '../common.js';
import { printJson } from '../format.js';

/** `xe-node lease cancel HASH`: cancels a lease that was never accepted (operator route). */
export function leaseCancel(run: CliRun): Command {
  return clientOptions(new Command('cancel').description('cancel a lease that was never accepted').argument('<lease_hash>', 'the lease (64 hex)'))
    .addHelpText(
      'after',
      `
Example
  XE_OPERATOR_TOKEN_FILE=~/.xe-token xe-node lease cancel 3be7…`,
    )
    .action(
      action(run, async (hash: string, flags: ClientOptions) => {
        if (!isHash(hash)) usage('LEASE_HASH: expected 64 lowercase hex chars', 'lease cancel');
        const r = await apiClient(flags, 'lease cancel').cancelLease(hash);
        if (flags.json) printJson(r);
        else process.stdout.write(`lease cancelled: ${hash}\n`);
        return 0;
      }),
    );
}
