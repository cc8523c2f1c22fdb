import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
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
import { NodeError, NodeErrorCodes } from './errors.js';

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
  provider: boolean;
  vmBackend: 'lima' | 'sandbox';
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
  /** Sandbox only: explicit sshd path. */
  sshdPath: string | undefined;
  /** Provision even where a lease limit cannot be enforced (GET /vms/{hash} then lists them in limits_not_enforced). */
  acceptUnenforcedLimits: boolean;
}

export const START_OPTIONS = {
  config: { type: 'string' },
  name: { type: 'string' },
  'data-dir': { type: 'string' },
  genesis: { type: 'string' },
  'p2p-host': { type: 'string' },
  'p2p-port': { type: 'string' },
  announce: { type: 'string', multiple: true },
  bootstrap: { type: 'string', multiple: true },
  'api-bind': { type: 'string' },
  'api-port': { type: 'string' },
  'operator-token-file': { type: 'string' },
  'cors-origin': { type: 'string' },
  'no-rate-limit': { type: 'boolean' },
  provider: { type: 'boolean' },
  'vm-backend': { type: 'string' },
  vcpus: { type: 'string' },
  'memory-mb': { type: 'string' },
  'disk-gb': { type: 'string' },
  'price-multiplier': { type: 'string' },
  timekeeper: { type: 'boolean' },
  'accept-timeout': { type: 'string' },
  'offer-window-ms': { type: 'string' },
  'log-level': { type: 'string' },
  limactl: { type: 'string' },
  'lima-image': { type: 'string' },
  'sshd-path': { type: 'string' },
  'accept-unenforced-limits': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

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

const ENV: Record<string, string> = {
  name: 'XE_NAME',
  'data-dir': 'XE_DATA_DIR',
  genesis: 'XE_GENESIS',
  'p2p-host': 'XE_P2P_HOST',
  'p2p-port': 'XE_P2P_PORT',
  announce: 'XE_ANNOUNCE',
  bootstrap: 'XE_BOOTSTRAP',
  'api-bind': 'XE_API_BIND',
  'api-port': 'XE_API_PORT',
  'operator-token-file': 'XE_OPERATOR_TOKEN_FILE',
  'cors-origin': 'XE_CORS_ORIGIN',
  'no-rate-limit': 'XE_NO_RATE_LIMIT',
  provider: 'XE_PROVIDER',
  'vm-backend': 'XE_VM_BACKEND',
  vcpus: 'XE_VCPUS',
  'memory-mb': 'XE_MEMORY_MB',
  'disk-gb': 'XE_DISK_GB',
  'price-multiplier': 'XE_PRICE_MULTIPLIER',
  timekeeper: 'XE_TIMEKEEPER',
  'accept-timeout': 'XE_ACCEPT_TIMEOUT',
  'offer-window-ms': 'XE_OFFER_WINDOW_MS',
  'log-level': 'XE_LOG_LEVEL',
  limactl: 'XE_LIMACTL',
  'lima-image': 'XE_LIMA_IMAGE',
  'sshd-path': 'XE_SSHD_PATH',
  'accept-unenforced-limits': 'XE_ACCEPT_UNENFORCED_LIMITS',
};

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
    if (!(key in START_OPTIONS) || key === 'config' || key === 'help') throw bad(`--config: unknown key ${JSON.stringify(k)} in ${path}`);
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
    const e = ENV[k] ? env[ENV[k]] : undefined;
    if (e !== undefined && e !== '') return e;
    return file[k];
  };
  const backend = String(get('vm-backend') ?? 'sandbox');
  if (backend !== 'lima' && backend !== 'sandbox') throw bad(`--vm-backend: expected sandbox or lima, got ${JSON.stringify(backend)}`);
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
  const dataDir = resolve(String(get('data-dir') ?? resolve(homedir(), '.xe-node')));
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
    provider,
    vmBackend: backend,
    vcpus: int(get('vcpus'), 'vcpus', provider ? 1 : 0, MAX_VCPUS, provider ? 2 : 0),
    memoryMb: int(get('memory-mb'), 'memory-mb', 0, MAX_MEMORY_MB, provider ? 2048 : 0),
    diskGb: int(get('disk-gb'), 'disk-gb', 0, MAX_DISK_GB, provider ? 20 : 0),
    priceMultiplierMilli: parseMultiplier(get('price-multiplier')),
    timekeeper: bool(get('timekeeper'), 'timekeeper', false),
    acceptTimeoutMs: int(get('accept-timeout'), 'accept-timeout', 1, 86400, 600) * 1000,
    offerWindowMs: int(get('offer-window-ms'), 'offer-window-ms', 100, 60000, 2000),
    logLevel,
    limactl: String(get('limactl') ?? 'limactl'),
    limaImage: typeof get('lima-image') === 'string' ? String(get('lima-image')) : undefined,
    sshdPath: typeof get('sshd-path') === 'string' ? String(get('sshd-path')) : undefined,
    acceptUnenforcedLimits: bool(get('accept-unenforced-limits'), 'accept-unenforced-limits', false),
  };
  if (cfg.p2pPort !== 0 && cfg.p2pPort === cfg.apiPort) throw bad('--p2p-port and --api-port must differ');
  return cfg;
}

/** Parses `xe-node start` argv (strict: an unknown flag is an error naming it). */
export function parseStartArgs(argv: string[]): Raw {
  try {
    const { values } = parseArgs({ args: argv, options: START_OPTIONS, strict: true, allowPositionals: false });
    return values as Raw;
  } catch (err) {
    throw bad(`${(err as Error).message}. Run \`xe-node start --help\` for the options.`);
  }
}
