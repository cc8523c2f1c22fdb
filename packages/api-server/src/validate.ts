import {
  durationBounds,
  fields,
  type Hash,
  type JsonValue,
  LEASE_STATES,
  LEASES_PAGE_DEFAULT,
  LEASES_PAGE_MAX,
  type LeaseState,
  MAX_DISK_GB,
  MAX_MEMORY_MB,
  MAX_VCPUS,
  type NetworkParams,
} from '@xe/core-types';
import type { LeaseQuery, LeaseRequest } from './deps.js';
import { ApiError, ApiErrorCodes } from './errors.js';

/** Request validation. Each failure is a coded 400 whose message starts with the field. */

type JsonObject = { [key: string]: JsonValue | undefined };

function body(value: JsonValue, allowed: readonly string[], what: string): JsonObject {
  const o = fields.expectObject(value, 'body');
  fields.onlyFields(o, new Set(allowed), what);
  return o;
}

/**
 * A JSON integer as written (the codec gives bigint for integer literals). A literal
 * with a fraction or exponent (`1.0`, `1e3`) is refused even when its value is whole.
 */
export function integer(value: JsonValue | undefined, field: string): bigint {
  if (value === undefined) throw fields.invalid(field, 'is required', ApiErrorCodes.MISSING_FIELD);
  if (typeof value === 'number') throw fields.invalid(field, `expected an integer, got the number ${value} (fraction or exponent)`);
  return fields.u64(value, field);
}

function bounded(value: JsonValue | undefined, field: string, min: number, max: number): number {
  const v = integer(value, field);
  if (v < BigInt(min) || v > BigInt(max)) throw fields.invalid(field, `must be between ${min} and ${max}, got ${v}`);
  return Number(v);
}

const LEASE_REQUEST_FIELDS = ['vcpus', 'memory_mb', 'disk_gb', 'duration', 'access_pub_key'] as const;

export function parseLeaseRequest(value: JsonValue, network: Pick<NetworkParams, 'lease'>): LeaseRequest {
  const o = body(value, LEASE_REQUEST_FIELDS, 'a lease request');
  for (const f of LEASE_REQUEST_FIELDS) if (o[f] === undefined) throw fields.invalid(f, 'is required', ApiErrorCodes.MISSING_FIELD);
  const vcpus = bounded(o.vcpus, 'vcpus', 0, MAX_VCPUS);
  const memory_mb = bounded(o.memory_mb, 'memory_mb', 0, MAX_MEMORY_MB);
  const disk_gb = bounded(o.disk_gb, 'disk_gb', 0, MAX_DISK_GB);
  if (vcpus === 0 && memory_mb === 0 && disk_gb === 0) {
    throw fields.invalid('vcpus', 'vcpus, memory_mb and disk_gb are all 0; at least one must be greater than 0', ApiErrorCodes.INVALID_RESOURCES);
  }
  const { min, max } = durationBounds(network);
  const duration = bounded(o.duration, 'duration', min, max);
  const access_pub_key = fields.hash(o.access_pub_key, 'access_pub_key');
  return { vcpus, memory_mb, disk_gb, duration, access_pub_key };
}

export const MAX_COMMAND_CHARS = 64 * 1024;
export const MAX_EXEC_TIMEOUT_MS = 3_600_000;

export function parseExecRequest(value: JsonValue): { command: string; timeout_ms?: number } {
  const o = body(value, ['command', 'timeout_ms'], 'an exec request');
  if (o.command === undefined) throw fields.invalid('command', 'is required', ApiErrorCodes.MISSING_FIELD);
  const command = fields.str(o.command, 'command', MAX_COMMAND_CHARS);
  if (command.trim() === '') throw fields.invalid('command', 'must not be empty');
  if (o.timeout_ms === undefined) return { command };
  return { command, timeout_ms: bounded(o.timeout_ms, 'timeout_ms', 1, MAX_EXEC_TIMEOUT_MS) };
}

export function parseAttestationRequest(value: JsonValue): Hash {
  const o = body(value, ['lease_hash'], 'an attestation request');
  if (o.lease_hash === undefined) throw fields.invalid('lease_hash', 'is required', ApiErrorCodes.MISSING_FIELD);
  return fields.hash(o.lease_hash, 'lease_hash');
}

/** A 64-hex path parameter. */
export function pathHash(value: string, field: string): Hash {
  return fields.hash(value, field);
}

const DIGITS = /^[0-9]{1,16}$/;
const LEASE_QUERY_KEYS = new Set(['state', 'offset', 'limit']);

function queryError(field: string, message: string): ApiError {
  return new ApiError(ApiErrorCodes.INVALID_QUERY, `${field}: ${message}`, { field });
}

function queryInt(raw: string, field: string, min: number, max: number): number {
  if (!DIGITS.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw queryError(field, `expected an integer between ${min} and ${max}, got ${JSON.stringify(raw.slice(0, 40))}`);
  }
  return Number(raw);
}

const DEFAULT_QUERY: LeaseQuery = Object.freeze({ offset: 0, limit: LEASES_PAGE_DEFAULT });

/** `GET /leases` query: `state` ∈ LEASE_STATES, `offset` ≥ 0, `limit` 1..LEASES_PAGE_MAX (default LEASES_PAGE_DEFAULT). */
export function parseLeaseQuery(url: string): LeaseQuery {
  const q = url.indexOf('?');
  if (q < 0 || q === url.length - 1) return { ...DEFAULT_QUERY };
  const params = new URLSearchParams(url.slice(q + 1));
  const seen = new Set<string>();
  const out: LeaseQuery = { ...DEFAULT_QUERY };
  for (const [key, raw] of params) {
    if (!LEASE_QUERY_KEYS.has(key)) throw queryError(key, `unknown query parameter; allowed: ${[...LEASE_QUERY_KEYS].join(', ')}`);
    if (seen.has(key)) throw queryError(key, 'given more than once');
    seen.add(key);
    if (key === 'state') {
      if (!(LEASE_STATES as readonly string[]).includes(raw)) {
        throw queryError('state', `expected one of ${LEASE_STATES.join(', ')}, got ${JSON.stringify(raw.slice(0, 40))}`);
      }
      out.state = raw as LeaseState;
    } else if (key === 'offset') out.offset = queryInt(raw, 'offset', 0, Number.MAX_SAFE_INTEGER);
    else out.limit = queryInt(raw, 'limit', 1, LEASES_PAGE_MAX);
  }
  return out;
}
