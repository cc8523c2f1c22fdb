import type { Command } from 'commander';
import { loadConfig, startArgs, startCommand } from '../../config.js';
import { action, type CliRun } from '../common.js';

/** `xe-node start`: its options come from `START_OPTIONS` in config.ts. */
export function start(run: CliRun): Command {
  return startCommand()
    .addHelpText(
      'after',
      `
A flag wins over its environment variable, which wins over the --config file (a JSON object
of the same names, camelCase or kebab-case).

Examples
  xe-node start --data-dir /var/lib/xe-node --genesis genesis.json --bootstrap /ip4/203.0.113.7/tcp/4001/p2p/12D3KooW...
  XE_OPERATOR_TOKEN=$(openssl rand -hex 32) xe-node start --provider --vm-backend qemu --vcpus 8 --memory-mb 16384 --disk-gb 200
    (a real VM per lease under QEMU/KVM; bash packages/lima-provider/scripts/install-qemu.sh installs QEMU and builds the guest image)`,
    )
    .action(
      action(run, async (_opts: unknown, cmd: Command) => {
        const config = loadConfig(startArgs(cmd));
        // The daemon (libp2p, ledger, VM backends) loads only when a node starts, not for the client commands.
        const { runNode } = await import('../../start.js');
        return runNode(config);
      }),
    );
}
