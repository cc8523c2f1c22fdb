#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { balance } from './cli/commands/balance.js';
import { devnet } from './cli/commands/devnet.js';
import { genesisNew } from './cli/commands/genesis-new.js';
import { keysNew } from './cli/commands/keys-new.js';
import { leaseCancel } from './cli/commands/lease-cancel.js';
import { leaseList } from './cli/commands/lease-list.js';
import { leaseRequest } from './cli/commands/lease-request.js';
import { leaseShow } from './cli/commands/lease-show.js';
import { send } from './cli/commands/send.js';
import { ssh } from './cli/commands/ssh.js';
import { start } from './cli/commands/start.js';
import { tunnelProxy } from './cli/commands/tunnel-proxy.js';
import { type CliRun, commanderError, failure, isCleanExit, usage } from './cli/common.js';
import { NODE_VERSION } from './version.js';

/** A command that only groups subcommands (`keys`, `genesis`, `lease`). */
function group(name: string, description: string, subcommands: Command[], examples: string): Command {
  const g = new Command(name).description(description).usage('<command> [options]').argument('[command]');
  for (const s of subcommands) g.addCommand(s);
  const expected = `\`xe-node ${name} ${subcommands.map((s) => s.name()).join('|')}\``;
  return g
    .addHelpText('after', `\n${examples}`)
    .action((sub: string | undefined) => usage(sub === undefined ? `expected ${expected}` : `unknown command ${JSON.stringify(sub)}; expected ${expected}`, name));
}

/** Commander reports parse errors through the CLI's own errors (see `commanderError`); `start` has its own. */
function wire(cmd: Command): void {
  if (cmd.name() !== 'start') {
    cmd.configureOutput({ outputError: () => {} });
    cmd.exitOverride((err) => {
      throw isCleanExit(err) ? err : commanderError(err, cmd);
    });
  }
  for (const c of cmd.commands) wire(c);
}

/** The whole command line of `xe-node`: one file per command under `cli/commands/`. */
export function buildProgram(run: CliRun): Command {
  const program = new Command('xe-node')
    .description('xe-node — node of the XE compute-lease marketplace')
    .version(NODE_VERSION, '--version', 'print the version')
    .addCommand(start(run))
    .addCommand(devnet(run))
    .addCommand(
      group(
        'keys',
        'make a node key, or (--access) an SSH access key for leases',
        [keysNew(run)],
        `Examples
  xe-node keys new --out /var/lib/xe-node/node.key
  ACCESS=$(xe-node keys new --access --out ~/.ssh/xe_lease)`,
      ),
    )
    .addCommand(
      group(
        'genesis',
        'make a genesis bundle (network parameters and initial funds)',
        [genesisNew(run)],
        `Example
  xe-node genesis new --network-id mynet --timekeeper $(cat tk.pub) --alloc 3f2a…:XUSD:1000 --out genesis.json`,
      ),
    )
    .addCommand(send(run))
    .addCommand(balance(run))
    .addCommand(
      group(
        'lease',
        'lease VMs: request one, list, show, cancel one never accepted',
        [leaseRequest(run), leaseList(run), leaseShow(run), leaseCancel(run)],
        `All take --node URL and --json. The operator token (lease request, lease cancel) comes from
--token-file FILE, $XE_OPERATOR_TOKEN, the file named by $XE_OPERATOR_TOKEN_FILE, or the data
dir's operator-token file ($XE_DATA_DIR, default ~/.xe-node); never from the command line.

Examples
  xe-node lease request --vcpus 1 --memory-mb 512 --disk-gb 1 --duration 300 --access-key ./xe_lease_key
  xe-node lease list --state accepted --json`,
      ),
    )
    .addCommand(ssh(run))
    .addCommand(tunnelProxy(run), { hidden: true });
  program
    .command('version', { hidden: true })
    .description('print the version')
    .action(() => void process.stdout.write(`${NODE_VERSION}\n`));
  program.addHelpText(
    'after',
    `
The client commands (send, balance, lease, ssh) talk to a node's HTTP API: --node URL,
default $XE_NODE or http://127.0.0.1:8080.

Examples
  xe-node devnet --dir ./devnet
  xe-node keys new --access --out ./lease_key
  xe-node lease request --vcpus 1 --memory-mb 512 --disk-gb 1 --duration 300 --access-key ./lease_key
  xe-node ssh -i ./lease_key <lease_hash> -- hostname`,
  );
  wire(program);
  return program;
}

/** Runs the CLI on `argv` (without node and script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const run: CliRun = { exitCode: 0 };
  try {
    await buildProgram(run).parseAsync(argv.length === 0 ? ['--help'] : argv, { from: 'user' });
  } catch (err) {
    if (isCleanExit(err)) return 0;
    throw err;
  }
  return run.exitCode;
}

function realpathOr(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

// Run as a program (also through a symlink such as an npm bin), not imported.
const isEntry = process.argv[1] !== undefined && realpathOr(process.argv[1]) === realpathOr(fileURLToPath(import.meta.url));
if (isEntry) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      const f = failure(err);
      process.stderr.write(`xe-node: ${f.line}\n`);
      process.exitCode = f.exitCode;
    },
  );
}
