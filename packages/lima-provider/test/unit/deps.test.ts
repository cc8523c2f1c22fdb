import assert from 'node:assert/strict';
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
      assert.equal(fromEnv.sshd, b);
      assert.deepEqual(fromEnv.binds, [join(dir, 'b')]);
      assert.match(fromEnv.libraryPath, new RegExp(`^${join(dir, 'b/usr/lib/')}(x86_64|aarch64)-linux-gnu$`));
      const fromOption = findSandboxDeps({ env, sshdPath: a });
      assert.equal(fromOption.sshd, a);
      assert.equal(fromOption.libraryPath, '');
      assert.match(fromOption.bwrap, /bwrap$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
