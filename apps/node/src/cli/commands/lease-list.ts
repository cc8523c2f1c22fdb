import { Command } from 'commander';
import type { JsonValue } from '@xe/core-types';
import { action, apiClient, type CliRun, type ClientOptions, clientOptions } from '../common.js';
import { printJson, table, units } from '../format.js';

interface ListFlags extends ClientOptions {
  state?: string;
  offset?: string;
  limit?: string;
}

/** `xe-node lease list`: the node's leases as a table (or JSON). */
export function leaseList(run: CliRun): Command {
  const cmd = new Command('list')
    .description('list leases')
    .option('--state <state>', 'only leases in this state (created, accepted, settled, …)')
    .option('--offset <n>', 'skip this many')
    .option('--limit <n>', 'at most this many');
  return clientOptions(cmd)
    .addHelpText(
      'after',
      `
Example
  xe-node lease list --state accepted --json`,
    )
    .action(
      action(run, async (flags: ListFlags) => {
        const q = new URLSearchParams();
        for (const k of ['state', 'offset', 'limit'] as const) if (flags[k]) q.set(k, flags[k]);
        const list = (await apiClient(flags, 'lease list').call('GET', `/leases${q.size ? `?${q}` : ''}`)) as Array<Record<string, JsonValue>>;
        if (flags.json) printJson(list);
        else if (list.length === 0) process.stdout.write('no leases\n');
        else
          process.stdout.write(
            `${table([
              ['LEASE', 'STATE', 'RESOURCES', 'DURATION', 'COST (XUSD)'],
              ...list.map((l) => [String(l.lease_hash), String(l.state), `${l.vcpus}c/${l.memory_mb}M/${l.disk_gb}G`, `${l.duration}s`, units(BigInt(l.cost as bigint))]),
            ])}\n`,
          );
        return 0;
      }),
    );
}
