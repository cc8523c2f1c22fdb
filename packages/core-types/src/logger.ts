import { createRequire } from 'node:module';
import type pino from 'pino';
import { type Clock, systemClock } from './clock.js';

/**
 * Structured logging through pino: one JSON object per line (stderr by default), with the
 * fields `level` (a name), `t` (ISO time), `component`, `msg`, then the caller's fields.
 * No secrets in fields.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(component: string): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go (without the newline); stderr by default. */
  sink?: (line: string) => void;
  /** The time of each line (`t`); the system clock by default. */
  clock?: Clock;
}

const MAX_DEPTH = 4;

/** Field values as JSON can carry them: bigints as decimal strings, errors as `CODE: message`. */
function safe(value: unknown, depth = 0): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return code === undefined ? value.message : `${String(code)}: ${value.message}`;
  }
  if (value === null || typeof value !== 'object' || depth >= MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((v) => safe(v, depth + 1));
  if (value instanceof Uint8Array) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = safe(v, depth + 1);
  return out;
}

let loaded: typeof pino | undefined;

/** pino, loaded with the first logger: a process or thread that never logs (a verifier thread) does not load it. */
function pinoModule(): typeof pino {
  loaded ??= createRequire(import.meta.url)('pino') as typeof pino;
  return loaded;
}

function destination(sink: ((line: string) => void) | undefined): pino.DestinationStream {
  if (sink === undefined) return pinoModule().destination({ fd: 2, sync: true });
  return { write: (s: string) => sink(s.endsWith('\n') ? s.slice(0, -1) : s) };
}

function wrap(root: pino.Logger, component: string): Logger {
  const log = root.child({ component });
  // `msg` goes in the object, before the fields, so each line reads level, t, component, msg, fields.
  const emit = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: LogFields) => {
    if (!log.isLevelEnabled(level)) return;
    const rec: Record<string, unknown> = { msg };
    if (fields) for (const [k, v] of Object.entries(fields)) if (k !== 'msg') rec[k] = safe(v);
    log[level](rec);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (c) => wrap(root, `${component}.${c}`),
  };
}

export function createLogger(component: string, options: LoggerOptions = {}): Logger {
  const clock = options.clock ?? systemClock;
  const root = pinoModule()(
    {
      level: options.level ?? 'info',
      base: null,
      timestamp: () => `,"t":"${new Date(Number(clock() / 1_000_000n)).toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination(options.sink),
  );
  return wrap(root, component);
}

/** A logger that drops everything (tests, libraries used without one). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
