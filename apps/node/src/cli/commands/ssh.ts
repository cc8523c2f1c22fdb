import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { isHash } from '@xe/core-types';
import { readAccessKeySeed } from '../../ssh-key.js';
import { action, type CliRun, DEFAULT_NODE_URL, nodeUrl, usage } from '../common.js';

/** The CLI's entry file, which the ssh ProxyCommand runs as `tunnel-proxy`. */
const CLI_ENTRY = fileURLToPath(new URL('../../cli.js', import.meta.url));

/** `xe-node ssh`: the system ssh as root@ the lease's VM, through the node's tunnel. */
export function ssh(run: CliRun): Command {
  return new Command('ssh')
    .description("ssh into a lease's VM through the node's tunnel")
    .usage('[-i KEY] LEASE_HASH [--node URL] [-- ssh args]')
    .argument('<lease_hash>', 'the lease (64 hex)')
    .argument('[ssh_args...]', 'passed to ssh (after --)')
    .option('-i, --identity <key>', 'the lease access key (default ./xe_lease_key)')
    .option('--node <url>', `the node's HTTP API (env XE_NODE; default ${DEFAULT_NODE_URL})`)
    .addHelpText(
      'after',
      `
Runs the system ssh (or $XE_SSH) as root@ the lease's VM, through the node's tunnel
(POST /tunnel/{hash}/tcp, signed with the access key).

Examples
  xe-node ssh -i ./xe_lease_key 3be7…
  xe-node ssh -i ./xe_lease_key 3be7… -- uname -a`,
    )
    .action(
      action(run, async (hash: string, extra: string[], flags: { identity?: string; node?: string }) => {
        if (!isHash(hash)) usage('LEASE_HASH: expected 64 lowercase hex chars', 'ssh');
        const keyFile = resolve(flags.identity ?? 'xe_lease_key');
        readAccessKeySeed(keyFile); // fail early with a clear message
        const node = nodeUrl(flags.node);
        const { vmName } = await import('@xe/lima-provider');
        const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
        const proxy = `${q(process.execPath)} ${q(CLI_ENTRY)} tunnel-proxy --node ${q(node)} --key ${q(keyFile)} ${hash}`;
        // biome-ignore format: option/value pairs
        const args = [
          '-i', keyFile,
          '-o', 'IdentitiesOnly=yes',
          '-o', `ProxyCommand=${proxy}`,
          '-o', 'StrictHostKeyChecking=no',
          '-o', 'UserKnownHostsFile=/dev/null',
          '-o', 'LogLevel=ERROR',
          `root@${vmName(hash)}`,
          ...extra,
        ];
        const child = spawn(process.env.XE_SSH ?? 'ssh', args, { stdio: 'inherit' });
        return new Promise<number>((r) => {
          child.on('exit', (code, sig) => r(code ?? (sig ? 128 : 1)));
          child.on('error', (err) => {
            process.stderr.write(`cannot run ssh: ${err.message} (install openssh-client)\n`);
            r(127);
          });
        });
      }),
    );
}
