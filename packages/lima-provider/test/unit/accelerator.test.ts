import { describe, expect, it } from '@jest/globals';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, silentLogger } from '@xe/core-types';
import { probeAccelerator } from '../../src/qemu/image.js';

/** A stand-in for qemu-system-x86_64 whose "guest" behaves as `script` says. */
function fakeQemu(dir: string, script: string): string {
  const file = join(dir, 'qemu-system-x86_64');
  writeFileSync(file, `#!/bin/sh\n${script}\n`);
  chmodSync(file, 0o755);
  return file;
}

function logInto(lines: string[]): Logger {
  const l: Logger = { ...silentLogger, child: () => l, info: (m: string) => void lines.push(m) };
  return l;
}

describe('the KVM probe boot', () => {
  const image = { kernel: '/nonexistent/vmlinuz', initrd: '/nonexistent/initrd.img' };

  it('a /dev/kvm whose guests hang means TCG, decided within the deadline and logged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xe-accel-'));
    try {
      const kvm = join(dir, 'kvm');
      writeFileSync(kvm, '');
      const lines: string[] = [];
      const started = Date.now();
      const accel = await probeAccelerator({ qemu: fakeQemu(dir, 'exec sleep 30') }, image, 500, logInto(lines), kvm);
      expect(accel).toBe('tcg');
      expect(Date.now() - started).toBeLessThan(5000);
      expect(lines).toEqual(['qemu accelerator: tcg (a KVM probe boot did not reach the guest init within 500 ms)']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a guest that reaches its init under KVM means KVM; no device means TCG without a probe', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xe-accel-'));
    try {
      const kvm = join(dir, 'kvm');
      writeFileSync(kvm, '');
      const lines: string[] = [];
      const qemu = fakeQemu(dir, 'case "$*" in *"-accel kvm"*) echo XE-PROBE-OK; exec sleep 30;; esac; exit 1');
      expect(await probeAccelerator({ qemu }, image, 5000, logInto(lines), kvm)).toBe('kvm');
      expect(await probeAccelerator({ qemu }, image, 5000, logInto(lines), join(dir, 'absent'))).toBe('tcg');
      expect(lines).toEqual(['qemu accelerator: kvm (a KVM probe boot reached the guest init)', 'qemu accelerator: tcg (no /dev/kvm)']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
