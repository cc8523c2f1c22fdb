import { Command } from 'commander';
import { isHash, systemClock } from '@xe/core-types';
import { readAccessKeySeed } from '../../ssh-key.js';
import { openTunnel } from '../client.js';
import { action, type CliRun, nodeUrl, usage } from '../common.js';

/** `xe-node tunnel-proxy` (hidden): ssh's ProxyCommand; joins stdin/stdout to the lease's tunnel. */
export function tunnelProxy(run: CliRun): Command {
  return new Command('tunnel-proxy')
    .description("ssh's ProxyCommand: stdin/stdout to a lease's tunnel")
    .argument('<lease_hash>', 'the lease (64 hex)')
    .option('--node <url>', "the node's HTTP API")
    .option('--key <file>', 'the lease access key')
    .action(
      action(run, async (hash: string, flags: { node?: string; key?: string }) => {
        if (!isHash(hash) || !flags.key) usage('tunnel-proxy --node URL --key FILE LEASE_HASH', 'ssh');
        const { seed } = readAccessKeySeed(flags.key);
        const socket = await openTunnel(nodeUrl(flags.node), hash, seed, systemClock());
        await new Promise<void>((r) => {
          process.stdin.pipe(socket);
          socket.pipe(process.stdout);
          socket.on('close', () => r());
          process.stdin.on('end', () => socket.end());
        });
        return 0;
      }),
    );
}
