import { describe, expect, it } from '@jest/globals';
import {
  addU64,
  ceilDiv,
  ErrorCodes,
  leaseCost,
  leaseEmission,
  leaseStake,
  mulU64,
  pricePerHour,
  subU64,
  U64_MAX,
  type XeError,
} from '../../src/index.js';
import { errorOf } from '../support/fixtures.js';

const codeOf = (fn: () => unknown): string => errorOf(fn).code;

describe('leaseCost (SPEC §6)', () => {
  it('reproduces the four examples of the spec', () => {
    expect(leaseCost({ vcpus: 1, memory_mb: 1024, disk_gb: 10, duration: 86400 })).toBe(960000n);
    expect(leaseCost({ vcpus: 1, memory_mb: 1024, disk_gb: 1, duration: 300 })).toBe(2584n);
    expect(leaseCost({ vcpus: 0, memory_mb: 0, disk_gb: 1, duration: 60, multiplier_milli: 500 })).toBe(9n);
    expect(leaseCost({ vcpus: 1n, memory_mb: 1024n, disk_gb: 1n, duration: 3600n, multiplier_milli: 2500n })).toBe(77500n);
  });

  it('rounds minutes and memory up', () => {
    // 61 s → 2 minutes; 1025 MB → 2 GB
    expect(pricePerHour({ vcpus: 0, memory_mb: 1025, disk_gb: 0 })).toBe(20000n);
    expect(leaseCost({ vcpus: 1, memory_mb: 0, disk_gb: 0, duration: 61 })).toBe(leaseCost({ vcpus: 1, memory_mb: 0, disk_gb: 0, duration: 120 }));
    expect(leaseCost({ vcpus: 1, memory_mb: 0, disk_gb: 0, duration: 60 })).toBe(334n); // ceil(20000/60)
  });

  it('is at least 1', () => {
    expect(leaseCost({ vcpus: 0, memory_mb: 0, disk_gb: 0, duration: 60 })).toBe(1n);
    expect(leaseCost({ vcpus: 0, memory_mb: 0, disk_gb: 0, duration: 0 })).toBe(1n);
  });

  it('overflow is an OVERFLOW error, never a wrap', () => {
    expect(codeOf(() => leaseCost({ vcpus: U64_MAX, memory_mb: 0, disk_gb: 0, duration: 60 }))).toBe(ErrorCodes.OVERFLOW);
    expect(codeOf(() => leaseCost({ vcpus: 4096, memory_mb: 0, disk_gb: 0, duration: U64_MAX }))).toBe(ErrorCodes.OVERFLOW);
    expect(codeOf(() => leaseCost({ vcpus: 1, memory_mb: 0, disk_gb: 0, duration: 60, multiplier_milli: U64_MAX }))).toBe(ErrorCodes.OVERFLOW);
    expect(codeOf(() => leaseCost({ vcpus: U64_MAX + 1n, memory_mb: 0, disk_gb: 0, duration: 60 }))).toBe(ErrorCodes.OVERFLOW);
  });

  it('rejects negative and non-integer inputs with the field name', () => {
    for (const [f, v] of [
      ['vcpus', -1],
      ['memory_mb', 1.5],
      ['disk_gb', -1n],
      ['duration', Number.NaN],
      ['multiplier_milli', 2 ** 60],
    ] as const) {
      try {
        leaseCost({ vcpus: 1, memory_mb: 1, disk_gb: 1, duration: 60, [f]: v });
        throw new Error('expected a throw');
      } catch (err) {
        expect((err as XeError).code).toBe(ErrorCodes.INVALID_FIELD);
        expect((err as XeError).field).toBe(f);
      }
    }
  });
});

describe('leaseStake and leaseEmission', () => {
  it('stake is ceil(cost / divisor), at least 1, and 0 when the divisor is 0', () => {
    expect(leaseStake(960000n, 5n)).toBe(192000n);
    expect(leaseStake(2584n, 5)).toBe(517n);
    expect(leaseStake(1n, 5n)).toBe(1n);
    expect(leaseStake(4n, 5n)).toBe(1n);
    expect(leaseStake(0n, 5n)).toBe(1n);
    expect(leaseStake(960000n, 0n)).toBe(0n);
    expect(leaseStake(U64_MAX, 1n)).toBe(U64_MAX);
    expect(codeOf(() => leaseStake(U64_MAX + 1n, 1n))).toBe(ErrorCodes.OVERFLOW);
    expect(codeOf(() => leaseStake(5n, -1n))).toBe(ErrorCodes.INVALID_FIELD);
  });

  it('emission is ceil(cost · R / 1000), at least 1, overflow is an error', () => {
    expect(leaseEmission(960000n, 2000n)).toBe(1920000n);
    expect(leaseEmission(9n, 2000)).toBe(18n);
    expect(leaseEmission(1n, 1n)).toBe(1n);
    expect(leaseEmission(1n, 1500n)).toBe(2n);
    expect(leaseEmission(0n, 2000n)).toBe(1n);
    // every step is checked u64, the product cost · R included
    const largest = U64_MAX / 2000n;
    expect(leaseEmission(largest, 2000n)).toBe(largest * 2n);
    expect(codeOf(() => leaseEmission(largest + 1n, 2000n))).toBe(ErrorCodes.OVERFLOW);
    expect(codeOf(() => leaseEmission(U64_MAX, 2000n))).toBe(ErrorCodes.OVERFLOW);
    expect(codeOf(() => leaseEmission(U64_MAX / 2n, 2000n))).toBe(ErrorCodes.OVERFLOW);
  });
});

describe('checked u64 arithmetic', () => {
  it('adds, subtracts and multiplies within u64 and refuses to wrap', () => {
    expect(addU64(U64_MAX - 1n, 1n)).toBe(U64_MAX);
    expect(codeOf(() => addU64(U64_MAX, 1n))).toBe(ErrorCodes.OVERFLOW);
    expect(subU64(5n, 5n)).toBe(0n);
    expect(codeOf(() => subU64(4n, 5n))).toBe(ErrorCodes.OVERFLOW);
    expect(mulU64(1n << 32n, (1n << 32n) - 1n)).toBe(U64_MAX - ((1n << 32n) - 1n));
    expect(codeOf(() => mulU64(1n << 32n, 1n << 32n))).toBe(ErrorCodes.OVERFLOW);
    expect(ceilDiv(0n, 7n)).toBe(0n);
    expect(ceilDiv(7n, 7n)).toBe(1n);
    expect(ceilDiv(8n, 7n)).toBe(2n);
    expect(ceilDiv(U64_MAX, 2n)).toBe(1n << 63n);
    expect(codeOf(() => ceilDiv(1n, 0n))).toBe(ErrorCodes.INVALID_FIELD);
  });
});
