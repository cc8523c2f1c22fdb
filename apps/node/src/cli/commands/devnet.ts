import { Command } from 'commander';
import { createLogger } from '@xe/core-types';
import { action, type CliRun, usage } from '../common.js';

interface DevnetFlags {
  dir?: string;
  nodes?: string;
  basePort?: string;
  fresh?: boolean;
  logLevel?: string;
  vmBackend?: string;
}

/** `xe-node devnet`: a local network of nodes on 127.0.0.1 until Ctrl-C or SIGTERM. */
export function devnet(run: CliRun): Command {
  return new Command('devnet')
    .description('start a local network of nodes on 127.0.0.1')
    .option('--dir <dir>', 'where keys, genesis, data and devnet.json go (default ./devnet)')
    .option('--nodes <n>', 'number of nodes, 3..16 (default 3)')
    .option('--base-port <port>', 'first port; each node takes ports from here (default 7100)')
    .option('--fresh', 'remove an existing devnet in --dir first')
    .option('--log-level <level>', 'the log level of the nodes (default info)')
    .option('--vm-backend <backend>', 'VM backend of the providers: sandbox (default) or qemu')
    .addHelpText(
      'after',
      `
Makes keys and a genesis bundle (short timings, low difficulty, 1,000 XUSD for every node), starts
the nodes on 127.0.0.1 (a timekeeper, a provider with the sandbox or qemu backend, a consumer; more nodes
add providers and timekeepers, threshold 2 from three timekeepers; every node a representative of
weight 1, quorum 60; each node dials node 0 and the two nodes before it), waits until they are ready,
writes DIR/devnet.json and stops everything on Ctrl-C or SIGTERM. Needs bubblewrap and sshd, and
for --vm-backend qemu QEMU and its guest image (scripts/bootstrap.sh installs them).

Examples
  xe-node devnet --dir ./devnet --nodes 5
  xe-node devnet --dir ./devnet-12 --nodes 12   (1 consumer, 6 providers, 5 timekeepers; about 200 MB of RAM a node)
  xe-node devnet --dir ./devnet-qemu --vm-backend qemu   (each lease a real VM; TCG where KVM does not work)`,
    )
    .action(action(run, (flags: DevnetFlags) => runDevnet(flags)));
}

async function runDevnet(flags: DevnetFlags): Promise<number> {
  const nodes = Number(flags.nodes ?? 3);
  if (!Number.isInteger(nodes) || nodes < 3 || nodes > 16) usage('--nodes: between 3 and 16', 'devnet');
  const basePort = Number(flags.basePort ?? 7100);
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort > 65000) usage('--base-port: between 1024 and 65000', 'devnet');
  const dir = flags.dir ?? 'devnet';
  const log = createLogger('devnet', { level: 'info' });
  const { startDevnet, tryThis } = await import('../../devnet.js');
  const vmBackend = flags.vmBackend ?? 'sandbox';
  if (vmBackend !== 'sandbox' && vmBackend !== 'qemu') usage('--vm-backend: sandbox or qemu', 'devnet');
  const net = await startDevnet({ dir, nodes, basePort, fresh: Boolean(flags.fresh), logLevel: flags.logLevel ?? 'info', vmBackend }, log);
  process.stdout.write(`${tryThis(net.info, dir)}\n`);
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) process.exit(130);
    stopping = true;
    log.info('stopping devnet', { reason: why });
    await net.stop();
    log.info('devnet stopped');
  };
  const signal = new Promise<string>((r) => {
    process.once('SIGINT', () => r('SIGINT'));
    process.once('SIGTERM', () => r('SIGTERM'));
  });
  const why = await Promise.race([signal, net.exited.then(() => 'a node exited')]);
  process.on('SIGINT', () => process.exit(130));
  process.on('SIGTERM', () => process.exit(143));
  await stop(why);
  return why === 'a node exited' ? 1 : 0;
}
