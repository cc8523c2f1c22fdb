import { describe, expect, it } from '@jest/globals';
import { bytesToHex, hexEqualsBytes, hexToBytes, pooledBytes } from '../../src/index.js';

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

describe('pooledBytes', () => {
  it('gives zeroed plain Uint8Arrays of the length asked, though the views before them were written', () => {
    for (const n of [0, 1, 65, 300, 4095, 4096, 4097, 5000, 9000]) {
      const b = pooledBytes(n);
      expect(b.length).toBe(n);
      expect(Buffer.isBuffer(b)).toBe(false);
      expect(b.every((x) => x === 0)).toBe(true);
      b.fill(0xff);
    }
    // enough to start new slabs: none hands out bytes written before
    for (let i = 0; i < 100; i++) {
      const b = pooledBytes(300);
      expect(b.every((x) => x === 0)).toBe(true);
      b.fill(0xab);
    }
  });

  it('never overlaps another live view, and its slice is a copy of its own', () => {
    const a = pooledBytes(100).fill(1);
    const b = pooledBytes(100).fill(2);
    expect(a.every((x) => x === 1)).toBe(true);
    expect(b.every((x) => x === 2)).toBe(true);
    // a small view sits in a shared slab (why a long-lived copy is sliced)...
    expect(a.buffer.byteLength).toBeGreaterThan(a.length);
    expect(a.byteOffset % 8).toBe(0);
    // ...and slice copies it out
    const c = a.slice();
    expect(c.buffer.byteLength).toBe(100);
    c[0] = 9;
    expect(a[0]).toBe(1);
    // more than half a slab gets an array of its own
    expect(pooledBytes(5000).buffer.byteLength).toBe(5000);
  });
});
