import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type Command, CommanderError, Option } from 'commander';
import { XeApiError, type XeClient } from '@xe/client';
import { XeError } from '@xe/core-types';
import { OPERATOR_TOKEN_FILE } from '../config.js';
import { nodeClient } from './client.js';

/** A mistake in the command line: printed with a pointer to the command's help, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly topic: string,
  ) {
    super(message);
  }
}

/** Throws a usage error for `xe-node <topic>`. */
export function usage(message: string, topic: string): never {
  throw new UsageError(message, topic);
}

/** What a command's action hands back: the process's exit code. */
export type Run<A extends unknown[]> = (...args: A) => Promise<number>;

/** Where actions report their exit code (one per program run). */
export interface CliRun {
  exitCode: number;
}

/** Wraps a command's action so its exit code reaches `main`. */
export function action<A extends unknown[]>(run: CliRun, fn: Run<A>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    run.exitCode = await fn(...args);
  };
}

export const DEFAULT_NODE_URL = 'http://127.0.0.1:8080';

export function nodeUrl(v: string | undefined): string {
  return v ?? process.env.XE_NODE ?? DEFAULT_NODE_URL;
}

/** The options every client of a node's HTTP API takes. */
export interface ClientOptions {
  node?: string;
  /** Refused: a token on the command line shows in `ps` (see `operatorToken`). */
  token?: string;
  tokenFile?: string;
  json?: boolean;
}

/** Where the operator token may come from, in the order read (for help and errors). */
export const TOKEN_SOURCES = `--token-file FILE, $XE_OPERATOR_TOKEN, $XE_OPERATOR_TOKEN_FILE, or the data dir's ${OPERATOR_TOKEN_FILE} file ($XE_DATA_DIR, default ~/.xe-node)`;

/** Adds --node, --token-file and --json to a client command (and a hidden --token, refused with a pointer to those). */
export function clientOptions(cmd: Command, opts: { json?: boolean } = {}): Command {
  cmd.addOption(new Option('--node <url>', `the node's HTTP API (env XE_NODE; default ${DEFAULT_NODE_URL})`));
  cmd.addOption(new Option('--token-file <file>', 'file holding the operator token (env XE_OPERATOR_TOKEN_FILE; or env XE_OPERATOR_TOKEN)'));
  cmd.addOption(new Option('--token <token>').hideHelp());
  if (opts.json !== false) cmd.addOption(new Option('--json', 'print the JSON answer'));
  return cmd;
}

/**
 * The operator token: --token-file, else $XE_OPERATOR_TOKEN, else the file named by
 * $XE_OPERATOR_TOKEN_FILE, else `<data dir>/operator-token` when it exists (the data dir
 * is $XE_DATA_DIR, default ~/.xe-node; `xe-node start` reads the same file). Undefined
 * when none is given. `--token` is a usage error: a token on the command line shows in
 * `ps` to every user of the machine.
 */
export function operatorToken(o: ClientOptions, topic: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (o.token !== undefined) usage(`--token is not accepted (the command line shows in ps); give the operator token by ${TOKEN_SOURCES}`, topic);
  const readToken = (file: string, what: string) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch (err) {
      return usage(`${what}: cannot read ${file}: ${(err as Error).message}`, topic);
    }
    if (!text) usage(`${what}: ${file} is empty`, topic);
    return text;
  };
  if (o.tokenFile !== undefined) return readToken(o.tokenFile, '--token-file');
  if (env.XE_OPERATOR_TOKEN) return env.XE_OPERATOR_TOKEN;
  if (env.XE_OPERATOR_TOKEN_FILE) return readToken(env.XE_OPERATOR_TOKEN_FILE, 'XE_OPERATOR_TOKEN_FILE');
  const dataDirFile = join(env.XE_DATA_DIR || join(homedir(), '.xe-node'), OPERATOR_TOKEN_FILE);
  if (existsSync(dataDirFile)) return readToken(dataDirFile, 'the data dir\'s token file');
  return undefined;
}

/** The node's client for a command: `@xe/client` at --node with the operator token, if any. */
export function apiClient(o: ClientOptions, topic: string): XeClient {
  return nodeClient(nodeUrl(o.node), operatorToken(o, topic));
}

/** The command's path below the program, e.g. `lease show`. */
export function topicOf(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Turns commander's parse errors into the CLI's usage error (exit 2) naming the command
 * (`start` reports its own as CONFIG_INVALID, see `startCommand`).
 */
export function commanderError(err: CommanderError, cmd: Command): Error {
  const topic = topicOf(cmd);
  const message = err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').replace(/unknown command '([^']*)'/, 'unknown command "$1"');
  if (err.code === 'commander.help' && cmd.commands.length > 0) {
    return new UsageError(`expected \`xe-node ${topic} ${cmd.commands.map((c) => c.name()).join('|')}\``, topic);
  }
  return new UsageError(message, topic);
}

/** True for commander's "help or version was printed" exits. */
export function isCleanExit(err: unknown): boolean {
  return err instanceof CommanderError && (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || (err.code === 'commander.help' && err.exitCode === 0));
}

/** The one line printed for a failure, and the exit code. */
export function failure(err: unknown): { line: string; exitCode: number } {
  if (err instanceof UsageError) return { line: `${err.message}\n\nRun \`xe-node ${err.topic}${err.topic ? ' ' : ''}--help\` for usage.`, exitCode: 2 };
  // A node's answer names its HTTP status: "409 LEASE_NOT_CANCELLABLE: …".
  if (err instanceof XeApiError && err.status > 0) return { line: `${err.status} ${err.code}: ${err.message}`, exitCode: 1 };
  if (err instanceof XeError) return { line: `${err.code}: ${err.message}`, exitCode: 1 };
  return { line: (err as Error)?.stack ?? String(err), exitCode: 1 };
}
