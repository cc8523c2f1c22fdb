import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import {
  DEFAULT_PRICE_MULTIPLIER_MILLI,
  LOG_LEVELS,
  type LogLevel,
  MAX_DISK_GB,
  MAX_MEMORY_MB,
  MAX_PRICE_MULTIPLIER_MILLI,
  MAX_VCPUS,
  MIN_PRICE_MULTIPLIER_MILLI,
  parseJson,
} from '@xe/core-types';
import { Command, type CommanderError, Option } from 'commander';
import { NodeError, NodeErrorCodes } from './errors.js';

/** The operator token's file in the data dir, read by `xe-node start` and the client commands when no other source gives one. */
export const OPERATOR_TOKEN_FILE = 'operator-token';

/** Everything `xe-node start` needs, validated. */
export interface NodeConfig {
  name: string;
  dataDir: string;
  /** Genesis bundle file; required on first start, then the copy in the data dir is used. */
  genesis: string | undefined;
  p2pHost: string;
  p2pPort: number;
  /** Addresses to announce instead of the listen ones (e.g. a public IP). */
  announce: string[];
  bootstrap: string[];
  apiBind: string;
  apiPort: number;
  operatorToken: string | undefined;
  /** Access-Control-Allow-Origin; none → no CORS headers. */
  corsOrigin: string | undefined;
  rateLimit: boolean;
  /** Serve the web console at `/ui/`. */
  ui: boolean;
  provider: boolean;
  vmBackend: 'sandbox' | 'qemu' | 'lima';
  vcpus: number;
  memoryMb: number;
  diskGb: number;
  priceMultiplierMilli: number;
  timekeeper: boolean;
  acceptTimeoutMs: number;
  offerWindowMs: number;
  logLevel: LogLevel;
  /** Lima only: path of limactl, and the VM image/template options. */
  limactl: string;
  limaImage: string | undefined;
  /** Lima only: the dedicated unprivileged user that runs Lima (its network is fenced on the host for that user). */
  limaUser: string | undefined;
  /** Sandbox only: explicit sshd path. */
  sshdPath: string | undefined;
  /** Ready lease disks the sandbox backend keeps (0..8). */
  vmPool: number;
  /** Provision even where a lease limit cannot be enforced (GET /vms/{hash} then lists them in limits_not_enforced). */
  acceptUnenforcedLimits: boolean;
  /** QEMU only: directory of the guest image; default $XE_QEMU_IMAGE_DIR, then /var/cache/xe-node/qemu-image. */
  qemuImageDir: string | undefined;
}

/** One option of `xe-node start`: its type, environment variable and help line. */
export interface StartOption {
  type: 'string' | 'boolean';
  /** repeatable (a list; its environment variable is comma-separated) */
  multiple?: boolean;
  /** the environment variable that sets it when the flag is absent */
  env?: string;
  /** the value's placeholder in the help */
  arg?: string;
  help: string;
}

/**
 * The options of `xe-node start`, the one place that defines them: the CLI's parser and
 * help, the environment names and the config-file keys all come from this table.
 * Precedence: flag, then environment, then `--config` file (camelCase or kebab keys).
 */
export const START_OPTIONS = {
  config: { type: 'string', arg: 'FILE', help: 'a JSON object of the same names (flags and env win over it)' },
  name: { type: 'string', env: 'XE_NAME', arg: 'NAME', help: 'name in logs and GET / (default xe-node)' },
  'data-dir': { type: 'string', env: 'XE_DATA_DIR', arg: 'DIR', help: 'node key, ledger, VM state (default ~/.xe-node)' },
  genesis: { type: 'string', env: 'XE_GENESIS', arg: 'FILE', help: 'genesis bundle; needed on first start' },
  'p2p-host': { type: 'string', env: 'XE_P2P_HOST', arg: 'HOST', help: 'libp2p listen host (default 0.0.0.0)' },
  'p2p-port': { type: 'string', env: 'XE_P2P_PORT', arg: 'PORT', help: 'libp2p TCP port (default 4001)' },
  announce: { type: 'string', multiple: true, env: 'XE_ANNOUNCE', arg: 'MULTIADDR', help: 'address to announce instead of the listen one (repeatable)' },
  bootstrap: { type: 'string', multiple: true, env: 'XE_BOOTSTRAP', arg: 'MULTIADDR', help: 'peer to dial and keep dialled (repeatable; env comma-separated)' },
  'api-bind': { type: 'string', env: 'XE_API_BIND', arg: 'HOST', help: 'HTTP bind address (default 127.0.0.1)' },
  'api-port': { type: 'string', env: 'XE_API_PORT', arg: 'PORT', help: 'HTTP port (default 8080)' },
  'operator-token-file': {
    type: 'string',
    env: 'XE_OPERATOR_TOKEN_FILE',
    arg: 'FILE',
    help: 'operator token file (or the token itself in env XE_OPERATOR_TOKEN / XE_API_ADMIN_TOKEN; else DATA_DIR/operator-token when it exists)',
  },
  'cors-origin': { type: 'string', env: 'XE_CORS_ORIGIN', arg: 'ORIGIN', help: 'Access-Control-Allow-Origin (default: none, no CORS headers)' },
  'no-rate-limit': { type: 'boolean', env: 'XE_NO_RATE_LIMIT', help: 'turn the per-IP rate limits off' },
  ui: { type: 'boolean', env: 'XE_UI', help: 'serve the web console at /ui/ (devnet nodes start with it)' },
  provider: { type: 'boolean', env: 'XE_PROVIDER', help: 'rent out VMs (with --vm-backend, --vcpus, --memory-mb, --disk-gb, --price-multiplier)' },
  'vm-backend': {
    type: 'string',
    env: 'XE_VM_BACKEND',
    arg: 'sandbox|qemu|lima',
    help: 'VM backend of a provider: qemu (a real VM per lease; KVM when a probe boot works, else TCG), sandbox (sealed bubblewrap, default) or lima',
  },
  vcpus: { type: 'string', env: 'XE_VCPUS', arg: 'N', help: 'vCPUs to rent out (provider; default 2)' },
  'memory-mb': { type: 'string', env: 'XE_MEMORY_MB', arg: 'N', help: 'memory to rent out, MB (provider; default 2048)' },
  'disk-gb': { type: 'string', env: 'XE_DISK_GB', arg: 'N', help: 'disk to rent out, GB (provider; default 20)' },
  'price-multiplier': { type: 'string', env: 'XE_PRICE_MULTIPLIER', arg: 'X', help: 'price factor 0.5..10 (or milli 500..10000; default 1.0)' },
  timekeeper: { type: 'boolean', env: 'XE_TIMEKEEPER', help: 'sign attestations (the node key must be listed in the bundle)' },
  'accept-timeout': { type: 'string', env: 'XE_ACCEPT_TIMEOUT', arg: 'SECS', help: 'how long POST /lease/request waits for the accept (default 600)' },
  'offer-window-ms': { type: 'string', env: 'XE_OFFER_WINDOW_MS', arg: 'MS', help: 'how long a lease request collects offers (default 2000)' },
  'log-level': { type: 'string', env: 'XE_LOG_LEVEL', arg: 'LEVEL', help: 'debug|info|warn|error (default info)' },
  limactl: { type: 'string', env: 'XE_LIMACTL', arg: 'PATH', help: 'limactl to run (lima backend; default limactl on PATH)' },
  'lima-image': { type: 'string', env: 'XE_LIMA_IMAGE', arg: 'URL', help: 'VM image (lima backend)' },
  'lima-user': { type: 'string', env: 'XE_LIMA_USER', arg: 'USER', help: 'unprivileged user that runs Lima; its traffic is fenced by a host firewall (lima backend; required unless --accept-unenforced-limits)' },
  'sshd-path': { type: 'string', env: 'XE_SSHD_PATH', arg: 'PATH', help: 'sshd for the sandbox backend' },
  'vm-pool': {
    type: 'string',
    env: 'XE_VM_POOL',
    arg: 'N',
    help: 'sandboxes the sandbox backend keeps started ahead of need (disk mounted, sandbox running, sshd checked), each used by one lease only (0..8; default: --vcpus, at most 8, as many as leases can start at once; 0 makes each at provisioning)',
  },
  'qemu-image-dir': { type: 'string', env: 'XE_QEMU_IMAGE_DIR', arg: 'DIR', help: 'guest image of the qemu backend (default /var/cache/xe-node/qemu-image)' },
  'accept-unenforced-limits': {
    type: 'boolean',
    env: 'XE_ACCEPT_UNENFORCED_LIMITS',
    help: 'provision even where a lease limit (memory, pids, cpu, cpuset, disk; lima: network) cannot be enforced; GET /vms/{hash} lists them',
  },
} as const satisfies Record<string, StartOption>;

export type StartOptionName = keyof typeof START_OPTIONS;

type RawValue = string | boolean | string[] | undefined;
type Raw = Record<string, RawValue>;

function bad(message: string): NodeError {
  return new NodeError(NodeErrorCodes.CONFIG_INVALID, message);
}

function int(raw: RawValue, name: string, min: number, max: number, fallback: number): number {
  if (raw === undefined) return fallback;
  const s = String(raw).trim();
  if (!/^\d+$/.test(s)) throw bad(`--${name}: expected a whole number, got ${JSON.stringify(raw)}`);
  const n = Number(s);
  if (n < min || n > max) throw bad(`--${name}: must be between ${min} and ${max}, got ${n}`);
  return n;
}

function bool(raw: RawValue, name: string, fallback: boolean): boolean {
  if (raw === undefined) return fallback;
  if (typeof raw === 'boolean') return raw;
  const s = String(raw).toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
  throw bad(`--${name}: expected true or false, got ${JSON.stringify(raw)}`);
}

function list(raw: RawValue): string[] {
  if (raw === undefined) return [];
  const items = Array.isArray(raw) ? raw : String(raw).split(',');
  return items.flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter(Boolean);
}

/** `--price-multiplier 1.5` (or milli `1500`) → 1500. */
export function parseMultiplier(raw: RawValue): number {
  if (raw === undefined) return DEFAULT_PRICE_MULTIPLIER_MILLI;
  const s = String(raw).trim();
  let milli: number;
  if (/^\d+(\.\d{1,3})?$/.test(s) && Number(s) <= 10) milli = Math.round(Number(s) * 1000);
  else if (/^\d+$/.test(s)) milli = Number(s);
  else throw bad(`--price-multiplier: expected a factor like 1.5 (or milli like 1500), got ${JSON.stringify(raw)}`);
  if (milli < MIN_PRICE_MULTIPLIER_MILLI || milli > MAX_PRICE_MULTIPLIER_MILLI) {
    throw bad(`--price-multiplier: must be between 0.5 and 10 (${MIN_PRICE_MULTIPLIER_MILLI}..${MAX_PRICE_MULTIPLIER_MILLI} milli), got ${s}`);
  }
  return milli;
}

const ENV: Record<string, string | undefined> = Object.fromEntries(
  Object.entries(START_OPTIONS as Record<string, StartOption>).map(([name, o]) => [name, o.env]),
);

function readConfigFile(path: string): Raw {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw bad(`--config: cannot read ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = parseJson(text);
  } catch (err) {
    throw bad(`--config: ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad(`--config: ${path} must hold a JSON object`);
  const out: Raw = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const key = k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).replace(/_/g, '-');
    if (!(key in START_OPTIONS) || key === 'config') throw bad(`--config: unknown key ${JSON.stringify(k)} in ${path}`);
    if (Array.isArray(v)) out[key] = v.map(String);
    else if (typeof v === 'boolean') out[key] = v;
    else if (v !== null && v !== undefined) out[key] = String(v);
  }
  return out;
}

/**
 * Builds the config: flags win over the environment, which wins over the config file.
 * Every value is validated here, at start, with a message naming the option.
 */
export function loadConfig(args: Raw, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  const file = typeof args.config === 'string' ? readConfigFile(args.config) : {};
  const get = (k: string): RawValue => {
    if (args[k] !== undefined) return args[k];
    const name = ENV[k];
    const e = name ? env[name] : undefined;
    if (e !== undefined && e !== '') return e;
    return file[k];
  };
  const backend = String(get('vm-backend') ?? 'sandbox');
  if (backend !== 'lima' && backend !== 'sandbox' && backend !== 'qemu') {
    throw bad(`--vm-backend: expected sandbox, qemu or lima, got ${JSON.stringify(backend)}`);
  }
  const logLevel = String(get('log-level') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw bad(`--log-level: expected one of ${LOG_LEVELS.join(', ')}`);
  let operatorToken = env.XE_OPERATOR_TOKEN || env.XE_API_ADMIN_TOKEN || undefined;
  const tokenFile = get('operator-token-file');
  if (typeof tokenFile === 'string') {
    try {
      operatorToken = readFileSync(tokenFile, 'utf8').trim();
    } catch (err) {
      throw bad(`--operator-token-file: cannot read ${tokenFile}: ${(err as Error).message}`);
    }
    if (!operatorToken) throw bad(`--operator-token-file: ${tokenFile} is empty`);
  }
  if (operatorToken !== undefined && operatorToken.length < 16) {
    throw bad('operator token: use at least 16 characters (e.g. `openssl rand -hex 32`)');
  }
  const provider = bool(get('provider'), 'provider', false);
  const vcpus = int(get('vcpus'), 'vcpus', provider ? 1 : 0, MAX_VCPUS, provider ? 2 : 0);
  const dataDir = resolve(String(get('data-dir') ?? resolve(homedir(), '.xe-node')));
  const dataDirToken = resolve(dataDir, OPERATOR_TOKEN_FILE);
  if (operatorToken === undefined && existsSync(dataDirToken)) {
    operatorToken = readFileSync(dataDirToken, 'utf8').trim();
    if (operatorToken.length < 16) throw bad(`${dataDirToken}: the operator token there needs at least 16 characters`);
  }
  const cfg: NodeConfig = {
    name: String(get('name') ?? 'xe-node'),
    dataDir,
    genesis: typeof get('genesis') === 'string' ? resolve(String(get('genesis'))) : undefined,
    p2pHost: String(get('p2p-host') ?? '0.0.0.0'),
    p2pPort: int(get('p2p-port'), 'p2p-port', 0, 65535, 4001),
    announce: list(get('announce')),
    bootstrap: list(get('bootstrap')),
    apiBind: String(get('api-bind') ?? '127.0.0.1'),
    apiPort: int(get('api-port'), 'api-port', 0, 65535, 8080),
    operatorToken,
    corsOrigin: typeof get('cors-origin') === 'string' ? String(get('cors-origin')) : undefined,
    rateLimit: !bool(get('no-rate-limit'), 'no-rate-limit', false),
    ui: bool(get('ui'), 'ui', false),
    provider,
    vmBackend: backend,
    vcpus,
    memoryMb: int(get('memory-mb'), 'memory-mb', 0, MAX_MEMORY_MB, provider ? 2048 : 0),
    diskGb: int(get('disk-gb'), 'disk-gb', 0, MAX_DISK_GB, provider ? 20 : 0),
    priceMultiplierMilli: parseMultiplier(get('price-multiplier')),
    timekeeper: bool(get('timekeeper'), 'timekeeper', false),
    acceptTimeoutMs: int(get('accept-timeout'), 'accept-timeout', 1, 86400, 600) * 1000,
    offerWindowMs: int(get('offer-window-ms'), 'offer-window-ms', 100, 60000, 2000),
    logLevel,
    limactl: String(get('limactl') ?? 'limactl'),
    limaImage: typeof get('lima-image') === 'string' ? String(get('lima-image')) : undefined,
    limaUser: typeof get('lima-user') === 'string' ? String(get('lima-user')) : undefined,
    sshdPath: typeof get('sshd-path') === 'string' ? String(get('sshd-path')) : undefined,
    // default: one started sandbox per lease the provider has room for at the smallest size (1 vCPU), at most 8
    vmPool: int(get('vm-pool'), 'vm-pool', 0, 8, Math.min(8, vcpus)),
    acceptUnenforcedLimits: bool(get('accept-unenforced-limits'), 'accept-unenforced-limits', false),
    qemuImageDir: typeof get('qemu-image-dir') === 'string' ? resolve(String(get('qemu-image-dir'))) : undefined,
  };
  if (cfg.p2pPort !== 0 && cfg.p2pPort === cfg.apiPort) throw bad('--p2p-port and --api-port must differ');
  return cfg;
}

/**
 * The `start` command with its options generated from `START_OPTIONS` (help lines name
 * each option's environment variable). A parse error throws CONFIG_INVALID naming the
 * flag. `startArgs(cmd)` reads back what the command line set.
 */
export function startCommand(): Command {
  const cmd = new Command('start').description('run a node (ledger, p2p, API; optionally provider and timekeeper)');
  for (const [name, o] of Object.entries(START_OPTIONS as Record<string, StartOption>)) {
    const flags = o.type === 'boolean' ? `--${name}` : `--${name} <${o.arg ?? 'VALUE'}>`;
    const opt = new Option(flags, `${o.help}${o.env ? ` [env ${o.env}]` : ''}`);
    if (o.multiple) opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    cmd.addOption(opt);
  }
  cmd.configureOutput({ outputError: () => {} });
  cmd.exitOverride((err: CommanderError) => {
    if (err.code === 'commander.helpDisplayed') throw err;
    throw bad(`${err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')}. Run \`xe-node start --help\` for the options.`);
  });
  return cmd;
}

/** The values the command line gave `start` (flag names as in `START_OPTIONS`), for `loadConfig`. */
export function startArgs(cmd: Command): Raw {
  const out: Raw = {};
  for (const o of cmd.options) {
    const key = o.attributeName();
    if (cmd.getOptionValueSource(key) !== 'cli') continue;
    const name = o.long!.slice(2);
    out[name] = o.negate ? cmd.getOptionValue(key) === false : (cmd.getOptionValue(key) as RawValue);
  }
  return out;
}

/** Parses `xe-node start` argv (strict: an unknown flag is an error naming it). */
export function parseStartArgs(argv: string[]): Raw {
  const cmd = startCommand().helpOption(false).action(() => {});
  cmd.parse(argv, { from: 'user' });
  return startArgs(cmd);
}
