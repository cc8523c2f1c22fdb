import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copySparse, ext4Template } from '../../src/sandbox/disk.js';

describe('ext4 templates and sparse copies', () => {
  it('makes a template of exactly N GiB once, and copies it byte for byte while keeping the holes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xe-disk-'));
    try {
      const [a, b] = await Promise.all([ext4Template(join(dir, 't'), 1), ext4Template(join(dir, 't'), 1)]);
      expect(a).toBe(b);
      expect(statSync(a).size).toBe(1024 ** 3);
      const copy = join(dir, 'copy.img');
      await copySparse(a, copy);
      expect(statSync(copy).size).toBe(1024 ** 3);
      // Sparse: far fewer blocks on disk than the size.
      expect(statSync(copy).blocks * 512).toBeLessThan(64 * 1024 * 1024);
      expect(() => execFileSync('cmp', [a, copy], { stdio: 'ignore' })).not.toThrow();
      // And it is a valid file system.
      expect(() => execFileSync('e2fsck', ['-n', '-f', copy], { stdio: 'ignore' })).not.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
