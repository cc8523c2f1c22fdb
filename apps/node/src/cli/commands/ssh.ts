import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { isHash } from '@xe/core-types';
import { readAccessKeySeed } from '../../ssh-key.js';
import { nodeClient } from '../client.js';
import { action, type CliRun, DEFAULT_NODE_URL, nodeUrl, usage } from '../common.js';
import { pinnedHostKey } from '../host-key.js';

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
(POST /tunnel/{hash}/tcp, signed with the access key). The VM's SSH host key is pinned:
it comes in the node's VM object with the lease provider's signature, which is checked
here against the provider's key (the lease block must hash to LEASE_HASH, the key must
derive the provider's address); ssh then runs with StrictHostKeyChecking=yes and only
that key in a private known_hosts. No signed key, a bad signature, or a VM that shows
another key: no connection.

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
        // the VM's host key, checked against the lease provider's signature before any connection
        const pinned = await pinnedHostKey(nodeClient(node), hash);
        const alias = `xe-lease-${hash}`;
        const dir = mkdtempSync(join(tmpdir(), 'xe-ssh-'));
        const removeDir = () => rmSync(dir, { recursive: true, force: true });
        process.once('exit', removeDir);
        const knownHosts = join(dir, 'known_hosts');
        writeFileSync(knownHosts, `${alias} ${pinned.line}\n`, { mode: 0o600 });
        const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
        const proxy = `${q(process.execPath)} ${q(CLI_ENTRY)} tunnel-proxy --node ${q(node)} --key ${q(keyFile)} ${hash}`;
        // biome-ignore format: option/value pairs
        const args = [
          '-i', keyFile,
          '-o', 'IdentitiesOnly=yes',
          '-o', `ProxyCommand=${proxy}`,
          '-o', `HostKeyAlias=${alias}`,
          '-o', `UserKnownHostsFile=${knownHosts}`,
          '-o', 'GlobalKnownHostsFile=/dev/null',
          '-o', 'StrictHostKeyChecking=yes',
          '-o', 'UpdateHostKeys=no',
          '-o', 'CheckHostIP=no',
          '-o', 'LogLevel=ERROR',
          `root@${alias}`,
          ...extra,
        ];
        const child = spawn(process.env.XE_SSH ?? 'ssh', args, { stdio: 'inherit' });
        return new Promise<number>((r) => {
          child.on('exit', (code, sig) => {
            removeDir();
            r(code ?? (sig ? 128 : 1));
          });
          child.on('error', (err) => {
            removeDir();
            process.stderr.write(`cannot run ssh: ${err.message} (install openssh-client)\n`);
            r(127);
          });
        });
      }),
    );
}
