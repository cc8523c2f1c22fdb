import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderTemplate, sshAuthorizedKeyLine } from '../../src/index.js';
import { provisionScript } from '../../src/lima/template.js';

const KEY = '1f'.repeat(32);

describe('renderTemplate', () => {
  it('sizes the VM from the lease and embeds the system provision script', () => {
    const t = renderTemplate({ name: 'xe-0123456789ab', resources: { vcpus: 2, memory_mb: 2048, disk_gb: 20 }, accessPubKey: KEY });
    expect(t).toMatch(/^cpus: 2$/m);
    expect(t).toMatch(/^memory: "2048MiB"$/m);
    expect(t).toMatch(/^disk: "20GiB"$/m);
    expect(t).toMatch(/^- mode: system\n {2}script: \|\n {4}#!\/bin\/sh$/m);
    expect(t.includes(sshAuthorizedKeyLine(KEY))).toBeTruthy();
    expect(t).toMatch(/loadDotSSHPubKeys: false/);
  });
  it("gives Lima's floor where the lease asks for 0", () => {
    const t = renderTemplate({ name: 'xe-0123456789ab', resources: { vcpus: 0, memory_mb: 0, disk_gb: 1 }, accessPubKey: KEY });
    expect(t).toMatch(/^cpus: 1$/m);
    expect(t).toMatch(/^memory: "512MiB"$/m);
    expect(t).toMatch(/^disk: "4GiB"$/m);
  });
  it('refuses a key that is not 64 hex before it reaches the script', () => {
    expect(() =>
      renderTemplate({ name: 'xe-0123456789ab', resources: { vcpus: 1, memory_mb: 1, disk_gb: 1 }, accessPubKey: `${'a'.repeat(61)}';x` }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_ACCESS_KEY' }));
  });
});

describe('provisionScript', () => {
  it('installs the key for root with key-only login when run by sh', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xe-prov-'));
    try {
      // Run the script with its absolute paths moved under a scratch directory.
      const script = provisionScript('xe-0123456789ab', KEY)
        .replaceAll('/root/', `${dir}/root/`)
        .replaceAll('/etc/', `${dir}/etc/`)
        .replace(/^hostname .*$/m, ':');
      writeFileSync(join(dir, 'p.sh'), script);
      execFileSync('/bin/sh', [join(dir, 'p.sh')]);
      expect(readFileSync(join(dir, 'root/.ssh/authorized_keys'), 'utf8')).toBe(`${sshAuthorizedKeyLine(KEY)}\n`);
      const conf = readFileSync(join(dir, 'etc/ssh/sshd_config.d/00-xe-lease.conf'), 'utf8');
      expect(conf).toMatch(/^PermitRootLogin prohibit-password$/m);
      expect(conf).toMatch(/^PasswordAuthentication no$/m);
      expect(readFileSync(join(dir, 'etc/hostname'), 'utf8')).toBe('xe-0123456789ab\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
