import { describe, expect, it } from '@jest/globals';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findSandboxDeps } from '../../src/index.js';

function fakeSshd(prefix: string): string {
  const sshd = join(prefix, 'usr/sbin/sshd');
  mkdirSync(join(prefix, 'usr/sbin'), { recursive: true });
  writeFileSync(sshd, '#!/bin/sh\n');
  chmodSync(sshd, 0o755);
  return sshd;
}

describe('findSandboxDeps', () => {
  it('takes sshd from the option, then XE_SSHD_PATH, and binds its unpacked prefix read-only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xe-deps-'));
    try {
      const a = fakeSshd(join(dir, 'a'));
      const b = fakeSshd(join(dir, 'b'));
      mkdirSync(join(dir, 'b/usr/lib/x86_64-linux-gnu'), { recursive: true });
      mkdirSync(join(dir, 'b/usr/lib/aarch64-linux-gnu'), { recursive: true });
      const env = { PATH: process.env.PATH, XE_SSHD_PATH: b };
      const fromEnv = findSandboxDeps({ env });
      expect(fromEnv.sshd).toBe(b);
      expect(fromEnv.binds).toEqual([join(dir, 'b')]);
      expect(fromEnv.libraryPath).toMatch(new RegExp(`^${join(dir, 'b/usr/lib/')}(x86_64|aarch64)-linux-gnu$`));
      const fromOption = findSandboxDeps({ env, sshdPath: a });
      expect(fromOption.sshd).toBe(a);
      expect(fromOption.libraryPath).toBe('');
      expect(fromOption.bwrap).toMatch(/bwrap$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
