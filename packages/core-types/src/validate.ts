import { ASSETS, type Asset, MAX_MEMO_BYTES } from './constants.js';
import { ErrorCodes, ValidationError } from './errors.js';
import { isHex } from './hex.js';
import { parseJson, type JsonValue } from './json.js';
import { I64_MAX, I64_MIN, U64_MAX } from './u64.js';

/** Field readers: each returns the typed value or throws a coded error naming the field. */

export type JsonObject = { [key: string]: JsonValue | undefined };

export function invalid(field: string, message: string, code: string = ErrorCodes.INVALID_FIELD): ValidationError {
  return new ValidationError(code, `${field}: ${message}`, { field });
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'bigint') return `the integer ${value}`;
  if (typeof value === 'number') return Number.isInteger(value) ? `the integer ${value}` : `the non-integer ${value}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `a ${typeof value}`;
}

/** Parses text with the codec, or passes an already-parsed value through. */
export function asJsonValue(input: unknown): unknown {
  return typeof input === 'string' ? parseJson(input) : input;
}

export function expectObject(value: unknown, field: string): JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(field, `expected an object, got ${describe(value)}`);
  }
  return value as JsonObject;
}

export function requireField(obj: JsonObject, field: string, path = field): JsonValue {
  const v = obj[field];
  if (v === undefined) throw invalid(path, 'is required', ErrorCodes.MISSING_FIELD);
  return v;
}

/** Rejects any key not in `allowed`. */
export function onlyFields(obj: JsonObject, allowed: ReadonlySet<string>, what: string, prefix = ''): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.has(key)) {
      throw new ValidationError(ErrorCodes.UNKNOWN_FIELD, `${prefix}${key}: field not allowed on ${what}`, { field: `${prefix}${key}` });
    }
  }
}

function toBigInt(value: unknown, field: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return BigInt(value);
    throw invalid(field, `expected an integer, got ${describe(value)}`);
  }
  throw invalid(field, `expected an integer, got ${describe(value)}`);
}

export function u64(value: unknown, field: string): bigint {
  const v = toBigInt(value, field);
  if (v < 0n) throw invalid(field, `must not be negative, got ${v}`);
  if (v > U64_MAX) throw invalid(field, `${v} exceeds u64 (max ${U64_MAX})`, ErrorCodes.OVERFLOW);
  return v;
}

export function i64(value: unknown, field: string): bigint {
  const v = toBigInt(value, field);
  if (v < I64_MIN || v > I64_MAX) throw invalid(field, `${v} is outside int64`, ErrorCodes.OVERFLOW);
  return v;
}

/** A u64 that must also fit a JS number safely and lie in [min, max]. */
export function boundedInt(value: unknown, field: string, min: number, max: number): number {
  const v = u64(value, field);
  if (v < BigInt(min) || v > BigInt(max)) throw invalid(field, `must be between ${min} and ${max}, got ${v}`);
  return Number(v);
}

export function hexField(value: unknown, field: string, chars: number): string {
  if (typeof value !== 'string') throw invalid(field, `expected ${chars} lowercase hex chars, got ${describe(value)}`);
  if (value.length !== chars || !isHex(value, chars)) {
    if (value.length !== chars) throw invalid(field, `expected ${chars} lowercase hex chars, got ${value.length} chars`);
    throw invalid(field, `expected lowercase hex (0-9, a-f)`);
  }
  return value;
}

export function hash(value: unknown, field: string): string {
  return hexField(value, field, 64);
}

export function signature(value: unknown, field: string): string {
  return hexField(value, field, 128);
}

export function asset(value: unknown, field: string): Asset {
  if (typeof value !== 'string' || !(ASSETS as readonly string[]).includes(value)) {
    throw invalid(field, `expected one of ${ASSETS.join(', ')}, got ${describe(value)}`);
  }
  return value as Asset;
}

export function str(value: unknown, field: string, maxLen = 4096): string {
  if (typeof value !== 'string') throw invalid(field, `expected a string, got ${describe(value)}`);
  if (value.length > maxLen) throw invalid(field, `longer than ${maxLen} chars`);
  return value;
}

export function bool(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw invalid(field, `expected a boolean, got ${describe(value)}`);
  return value;
}

export function array(value: unknown, field: string, maxLen: number): JsonValue[] {
  if (!Array.isArray(value)) throw invalid(field, `expected an array, got ${describe(value)}`);
  if (value.length > maxLen) throw invalid(field, `more than ${maxLen} entries`);
  return value;
}

const encoder = new TextEncoder();

/** UTF-8 bytes of a memo, validated per SPEC §3.1. */
export function memoBytes(memo: unknown, field = 'memo'): Uint8Array {
  if (typeof memo !== 'string') throw invalid(field, `expected a string, got ${describe(memo)}`, ErrorCodes.INVALID_MEMO);
  if (!memo.isWellFormed()) throw invalid(field, 'is not valid UTF-8 (lone surrogate)', ErrorCodes.INVALID_MEMO);
  const bytes = encoder.encode(memo);
  if (bytes.length > MAX_MEMO_BYTES) {
    throw invalid(field, `is ${bytes.length} bytes of UTF-8, the limit is ${MAX_MEMO_BYTES}`, ErrorCodes.INVALID_MEMO);
  }
  for (const b of bytes) {
    if ((b < 0x20 && b !== 0x09 && b !== 0x0a) || b === 0x7f) {
      throw invalid(field, `contains the forbidden byte 0x${b.toString(16).padStart(2, '0')}`, ErrorCodes.INVALID_MEMO);
    }
  }
  return bytes;
}
