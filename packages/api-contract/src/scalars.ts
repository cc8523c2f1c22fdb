import { ASSETS, ErrorCodes, I64_MAX, I64_MIN, memoBytes, U64_MAX, XeError } from '@xe/core-types';
import { z } from 'zod';

/**
 * Scalars of the wire format (SPEC §1). Integers arrive from core-types' `parseJson` as
 * `bigint` (every integer literal, at any size); typed callers may also pass a number
 * that is a safe integer. 64-bit fields come out as `bigint` (never through `Number`),
 * small counts and resources as `number`. The OpenAPI document says `type: integer`
 * with `format: uint64` / `int64` for the 64-bit ones.
 */

/** An integer as the codec gives it (`bigint`), or a safe-integer `number` from a typed caller. */
const integerInput = () =>
  z.custom<bigint | number>((v) => typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v)), {
    message: 'expected an integer',
  });

const big = (v: bigint | number) => (typeof v === 'bigint' ? v : BigInt(v));

/** `params.xeCode` on an issue names the core-types code `contractError` reports for it. */
function bounded(min: bigint, max: bigint, what: string) {
  return integerInput()
    .refine((v) => big(v) >= min, { message: min === 0n ? 'must not be negative' : `must be at least ${min}` })
    .refine((v) => big(v) <= max, {
      message: `must be at most ${max}${what === '' ? '' : ` (${what})`}`,
      params: what === '' ? undefined : { xeCode: ErrorCodes.OVERFLOW },
    });
}

/** An unsigned 64-bit integer: amounts, balances, nonces, costs. Output `bigint`. */
export function u64() {
  return bounded(0n, U64_MAX, 'u64')
    .transform((v) => BigInt(v))
    .meta({ type: 'integer', format: 'uint64', minimum: 0 });
}

/** A signed 64-bit integer: unix-nanosecond times (SPEC §1). Output `bigint`. */
export function i64() {
  return bounded(I64_MIN, I64_MAX, 'int64')
    .transform((v) => BigInt(v))
    .meta({ type: 'integer', format: 'int64' });
}

/** A non-negative count or resource size that fits a JS number exactly. Output `number`. */
export function uint(max: number = Number.MAX_SAFE_INTEGER, min = 0) {
  return bounded(BigInt(min), BigInt(max), '')
    .transform((v) => Number(v))
    .meta(max === Number.MAX_SAFE_INTEGER ? { type: 'integer', minimum: min } : { type: 'integer', minimum: min, maximum: max });
}

/** Any safe integer (an exit code may be negative). Output `number`. */
export function int() {
  return bounded(BigInt(Number.MIN_SAFE_INTEGER), BigInt(Number.MAX_SAFE_INTEGER), '')
    .transform((v) => Number(v))
    .meta({ type: 'integer' });
}

/**
 * A query-string integer (`?limit=10`): decimal digits on the wire, `number` out. The
 * client writes numbers with `String(n)`.
 */
export function queryInt(min: number, max: number) {
  return z
    .string()
    .regex(/^[0-9]{1,16}$/, { message: 'expected decimal digits' })
    .refine((s) => Number(s) >= min && Number(s) <= max, { message: `expected an integer between ${min} and ${max}` })
    .transform((s) => Number(s))
    .meta(max === Number.MAX_SAFE_INTEGER ? { type: 'integer', minimum: min } : { type: 'integer', minimum: min, maximum: max });
}

/** A query-string int64 (`?since=<unix ns>`): decimal digits on the wire, `bigint` out. */
export function queryI64() {
  return z
    .string()
    .regex(/^[0-9]{1,19}$/, { message: 'expected decimal digits' })
    .refine((s) => BigInt(s) <= I64_MAX, { message: 'expected an integer within int64' })
    .transform((s) => BigInt(s))
    .meta({ type: 'integer', format: 'int64', minimum: 0 });
}

/** 32 bytes as 64 lowercase hex chars: hashes, addresses, public keys (SPEC §1). */
export const hex32 = () => z.string().regex(/^[0-9a-f]{64}$/, { message: 'expected 64 lowercase hex chars' });
export const hash = () => hex32().meta({ description: 'SHA-256 hash, 64 lowercase hex chars' });
export const address = () => hex32().meta({ description: 'account address: SHA-256("xe/account/v1" || pubkey), 64 lowercase hex chars' });
export const pubKey = () => hex32().meta({ description: 'Ed25519 public key, 64 lowercase hex chars' });
export const signature = () =>
  z
    .string()
    .regex(/^[0-9a-f]{128}$/, { message: 'expected 128 lowercase hex chars' })
    .meta({ description: 'Ed25519 signature, 128 lowercase hex chars' });

/** `previous`: a block hash, or "0" for an account's first block. */
export const previous = () =>
  z
    .string()
    .regex(/^(0|[0-9a-f]{64})$/, { message: 'expected "0" or 64 lowercase hex chars' })
    .meta({ description: 'hash of the previous block of the chain, or "0" for the first' });

export const asset = () => z.enum(ASSETS);

/** A send memo: ≤ 64 bytes of UTF-8 without control bytes but TAB and LF (SPEC §3.1). */
export const memo = () =>
  z
    .string()
    .superRefine((value, ctx) => {
      try {
        memoBytes(value, '');
      } catch (err) {
        const message = err instanceof XeError ? err.message.replace(/^: /, '') : 'invalid memo';
        ctx.addIssue({ code: 'custom', message, params: { xeCode: ErrorCodes.INVALID_MEMO } });
      }
    })
    .meta({ description: '≤ 64 bytes of UTF-8; bytes 0x00–0x1F and 0x7F forbidden except TAB and LF' });

/** Per-asset amounts `{XE, XUSD}` in micro-units. */
export const perAsset = () => z.looseObject({ XE: u64(), XUSD: u64() });
