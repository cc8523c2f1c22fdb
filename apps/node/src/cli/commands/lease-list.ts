import { Command } from 'commander';
import { LEASE_STATES } from '@xe/core-types';
import { action, apiClient, type CliRun, type ClientOptions, clientOptions, usage } from '../common.js';
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
        const topic = 'lease list';
        const whole = (name: string, v: string | undefined) => {
          if (v === undefined) return undefined;
          if (!/^\d{1,15}$/.test(v)) usage(`--${name}: expected a whole number`, topic);
          return Number(v);
        };
        const state = flags.state === undefined ? undefined : LEASE_STATES.find((s) => s === flags.state);
        if (flags.state !== undefined && state === undefined) usage(`--state: one of ${LEASE_STATES.join(', ')}`, topic);
        const offset = whole('offset', flags.offset);
        const limit = whole('limit', flags.limit);
        const list = await apiClient(flags, topic).listLeases({
          ...(state === undefined ? {} : { state }),
          ...(offset === undefined ? {} : { offset }),
          ...(limit === undefined ? {} : { limit }),
        });
        if (flags.json) printJson(list);
        else if (list.length === 0) process.stdout.write('no leases\n');
        else
          process.stdout.write(
            `${table([
              ['LEASE', 'STATE', 'RESOURCES', 'DURATION', 'COST (XUSD)'],
              ...list.map((l) => [l.lease_hash, l.state, `${l.vcpus}c/${l.memory_mb}M/${l.disk_gb}G`, `${l.duration}s`, units(l.cost)]),
            ])}\n`,
          );
        return 0;
      }),
    );
}
