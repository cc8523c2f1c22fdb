import { ErrorCodes, XeError } from './errors.js';

export const U64_MAX = (1n << 64n) - 1n;
export const I64_MIN = -(1n << 63n);
export const I64_MAX = (1n << 63n) - 1n;

export class OverflowError extends XeError<'OVERFLOW'> {
  constructor(message: string, field?: string) {
    super(ErrorCodes.OVERFLOW, message, field === undefined ? {} : { field });
  }
}

function check(value: bigint, what: string): bigint {
  if (value < 0n || value > U64_MAX) throw new OverflowError(`${what} overflows u64`);
  return value;
}

export function isU64(value: unknown): value is bigint {
  return typeof value === 'bigint' && value >= 0n && value <= U64_MAX;
}

export function addU64(a: bigint, b: bigint): bigint {
  return check(a + b, 'addition');
}

export function subU64(a: bigint, b: bigint): bigint {
  if (b > a) throw new OverflowError('subtraction underflows u64');
  return a - b;
}

export function mulU64(a: bigint, b: bigint): bigint {
  return check(a * b, 'multiplication');
}

/** Integer ceiling division of non-negative integers. */
export function ceilDiv(a: bigint, b: bigint): bigint {
  if (b <= 0n) throw new XeError(ErrorCodes.INVALID_FIELD, 'ceilDiv by zero or a negative divisor');
  return (a + b - 1n) / b;
}

export function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

export function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
