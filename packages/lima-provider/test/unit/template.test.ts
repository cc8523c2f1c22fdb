import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderTemplate } from '../../src/index.js';
import { provisionScript } from '../../src/lima/template.js';

// An authorized_keys line (the checked output of the injected key writer).
const LINE = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8f xe-lease';

describe('renderTemplate', () => {
  it('sizes the VM from the lease and embeds the system provision script', () => {
    const t = renderTemplate({ name: 'xe-0123456789ab', resources: { vcpus: 2, memory_mb: 2048, disk_gb: 20 }, authorizedKey: LINE });
    expect(t).toMatch(/^cpus: 2$/m);
    expect(t).toMatch(/^memory: "2048MiB"$/m);
    expect(t).toMatch(/^disk: "20GiB"$/m);
    expect(t).toMatch(/^- mode: system\n {2}script: \|\n {4}#!\/bin\/sh$/m);
    expect(t.includes(`printf '%s\\n' '${LINE}' > /root/.ssh/authorized_keys`)).toBeTruthy();
    expect(t).toMatch(/loadDotSSHPubKeys: false/);
  });
  it("gives Lima's floor where the lease asks for 0", () => {
    const t = renderTemplate({ name: 'xe-0123456789ab', resources: { vcpus: 0, memory_mb: 0, disk_gb: 1 }, authorizedKey: LINE });
    expect(t).toMatch(/^cpus: 1$/m);
    expect(t).toMatch(/^memory: "512MiB"$/m);
    expect(t).toMatch(/^disk: "4GiB"$/m);
  });
});

describe('provisionScript', () => {
  it('installs the key for root with key-only login when run by sh', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xe-prov-'));
    try {
      // Run the script with its absolute paths moved under a scratch directory.
      const script = provisionScript('xe-0123456789ab', LINE)
        .replaceAll('/root/', `${dir}/root/`)
        .replaceAll('/etc/', `${dir}/etc/`)
        .replace(/^hostname .*$/m, ':');
      writeFileSync(join(dir, 'p.sh'), script);
      execFileSync('/bin/sh', [join(dir, 'p.sh')]);
      expect(readFileSync(join(dir, 'root/.ssh/authorized_keys'), 'utf8')).toBe(`${LINE}\n`);
      const conf = readFileSync(join(dir, 'etc/ssh/sshd_config.d/00-xe-lease.conf'), 'utf8');
      expect(conf).toMatch(/^PermitRootLogin prohibit-password$/m);
      expect(conf).toMatch(/^PasswordAuthentication no$/m);
      expect(readFileSync(join(dir, 'etc/hostname'), 'utf8')).toBe('xe-0123456789ab\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
