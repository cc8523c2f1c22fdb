import { describe, expect, it } from '@jest/globals';
import { bytesToHex, hexEqualsBytes, hexToBytes } from '../../src/index.js';

describe('hexEqualsBytes', () => {
  const bytes = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 5) & 0xff);
  const hex = bytesToHex(bytes);

  it('matches the lowercase hex of the bytes, every byte value included', () => {
    expect(hexEqualsBytes(hex, bytes)).toBe(true);
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(hexEqualsBytes(bytesToHex(all), all)).toBe(true);
    expect(hexEqualsBytes('', new Uint8Array(0))).toBe(true);
  });

  it('refuses another byte anywhere, upper case, a length mismatch and non-hex', () => {
    for (const i of [0, 1, 31, 62, 63]) {
      const c = hex[i] === '0' ? '1' : '0';
      expect(hexEqualsBytes(hex.slice(0, i) + c + hex.slice(i + 1), bytes)).toBe(false);
    }
    expect(hexEqualsBytes('AB'.repeat(32), hexToBytes('ab'.repeat(32)))).toBe(false);
    expect(hexEqualsBytes('ab'.repeat(31), hexToBytes('ab'.repeat(32)))).toBe(false);
    expect(hexEqualsBytes(`${hex}00`, bytes)).toBe(false);
    expect(hexEqualsBytes('zz'.repeat(32), bytes)).toBe(false);
  });
});
