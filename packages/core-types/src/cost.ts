import { ErrorCodes, XeError } from './errors.js';
import { addU64, ceilDiv, maxBig, mulU64, OverflowError, U64_MAX } from './u64.js';

/** Lease pricing (SPEC §6). All arithmetic is checked u64; overflow throws OVERFLOW. */

export interface CostInput {
  vcpus: bigint | number;
  memory_mb: bigint | number;
  disk_gb: bigint | number;
  /** seconds */
  duration: bigint | number;
  /** the provider certificate's multiplier, default 1000 (×1.0) */
  multiplier_milli?: bigint | number;
}

function big(v: bigint | number, field: string): bigint {
  if (typeof v === 'bigint') {
    if (v < 0n) throw new XeError(ErrorCodes.INVALID_FIELD, `${field}: must not be negative`, { field });
    if (v > U64_MAX) throw new OverflowError(`${field}: ${v} exceeds u64`, field);
    return v;
  }
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new XeError(ErrorCodes.INVALID_FIELD, `${field}: expected a non-negative integer, got ${v}`, { field });
  }
  return BigInt(v);
}

/** µXUSD per hour for the resources. */
export function pricePerHour(r: Pick<CostInput, 'vcpus' | 'memory_mb' | 'disk_gb'>): bigint {
  const memGb = ceilDiv(big(r.memory_mb, 'memory_mb'), 1024n);
  return addU64(
    addU64(mulU64(big(r.vcpus, 'vcpus'), 20000n), mulU64(memGb, 10000n)),
    mulU64(big(r.disk_gb, 'disk_gb'), 1000n),
  );
}

/** The lease cost in µXUSD. */
export function leaseCost(input: CostInput): bigint {
  const minutes = ceilDiv(big(input.duration, 'duration'), 60n);
  const perHour = pricePerHour(input);
  const base = ceilDiv(mulU64(perHour, minutes), 60n);
  const mult = big(input.multiplier_milli ?? 1000n, 'multiplier_milli');
  return maxBig(1n, ceilDiv(mulU64(base, mult), 1000n));
}

/** The provider's stake in µXUSD: 0 when the divisor is 0, else at least 1. */
export function leaseStake(cost: bigint, stakeDivisor: bigint | number): bigint {
  const d = big(stakeDivisor, 'stake_divisor');
  if (d === 0n) return 0n;
  return maxBig(1n, ceilDiv(big(cost, 'cost'), d));
}

/** The provider's emission reward in µXE. */
export function leaseEmission(cost: bigint, rMilli: bigint | number): bigint {
  return maxBig(1n, ceilDiv(mulU64(big(cost, 'cost'), big(rMilli, 'emission_r_milli')), 1000n));
}
