import { describe, expect, it } from '@jest/globals';
import {
  abortError,
  bytesToHex,
  ErrorCodes,
  hexToBytes,
  isHash,
  isHex,
  isXeError,
  OverflowError,
  throwIfAborted,
  ValidationError,
  XeError,
} from '../../src/index.js';

describe('XeError', () => {
  it('carries a typed code, field, retryable flag, details and cause', () => {
    const cause = new Error('inner');
    const err = new XeError('LEASE_NOT_FOUND', 'no such lease', { field: 'lease_hash', retryable: true, details: { n: 1 }, cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('LEASE_NOT_FOUND');
    expect(err.field).toBe('lease_hash');
    expect(err.retryable).toBe(true);
    expect(err.details).toEqual({ n: 1 });
    expect(err.cause).toBe(cause);
    expect(err.name).toBe('XeError');
    expect(isXeError(err)).toBe(true);
    expect(isXeError(new Error('x'))).toBe(false);
  });

  it('is extended by package error classes, which keep their own name', () => {
    class LedgerError extends XeError<'FORK' | 'RETRY'> {}
    const e = new LedgerError('FORK', 'fork');
    expect(e.name).toBe('LedgerError');
    expect(e.retryable).toBe(false);
    expect(e).toBeInstanceOf(XeError);
    expect(new ValidationError(ErrorCodes.INVALID_FIELD, 'x').name).toBe('ValidationError');
    expect(new OverflowError('o', 'amount').field).toBe('amount');
  });

  it('turns an abort into an ABORTED error, or passes a coded reason through', () => {
    const c = new AbortController();
    expect(() => throwIfAborted(c.signal)).not.toThrow();
    c.abort();
    expect(abortError(c.signal).code).toBe(ErrorCodes.ABORTED);
    expect(() => throwIfAborted(c.signal)).toThrow(XeError);
    const reason = new XeError(ErrorCodes.TIMEOUT, 'slow');
    expect(abortError(AbortSignal.abort(reason))).toBe(reason);
  });
});

describe('hex', () => {
  it('accepts only lowercase hex of the right length', () => {
    expect(isHex('00ff')).toBe(true);
    expect(isHex('00FF')).toBe(false);
    expect(isHex('0f0')).toBe(false);
    expect(isHex('ab', 4)).toBe(false);
    expect(isHex(5)).toBe(false);
    expect(isHash('a'.repeat(64))).toBe(true);
    expect(isHash('a'.repeat(63))).toBe(false);
  });

  it('round-trips bytes and rejects bad hex with a coded error naming the field', () => {
    const bytes = new Uint8Array(256).map((_, i) => i);
    expect(hexToBytes(bytesToHex(bytes))).toEqual(bytes);
    for (const bad of ['abc', 'AB', 'zz', '0x']) {
      try {
        hexToBytes(bad, 'thing');
        throw new Error('expected a throw');
      } catch (err) {
        expect((err as XeError).code).toBe(ErrorCodes.INVALID_FIELD);
        expect((err as XeError).field).toBe('thing');
      }
    }
  });
});
