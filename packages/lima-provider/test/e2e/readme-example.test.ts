import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { makeLeaseKey, makeTempDir, removeDir, testKeyLine as sshAuthorizedKeyLine } from '../support/helpers.js';
// The README's example, verbatim from here to the end marker (imports adjusted to the package source;
// the key writer, @xe/crypto's sshAuthorizedKeyLine in the README, is the test's ssh-keygen-made line).
import { createVmManager, vmName } from '../../src/index.js';

async function example(dataDir: string, leaseHash: string, accessPubKey: string) {
  const vms = createVmManager({ backend: 'sandbox', dataDir }, { authorizedKeyLine: sshAuthorizedKeyLine });
  // On start-up: keep the VMs of active leases, remove the rest.
  await vms.reconcile(async () => true);

  const vm = await vms.provision(leaseHash, { vcpus: 1, memory_mb: 512, disk_gb: 1 }, accessPubKey);
  console.log(vm.status); // "running"

  const r = await vms.exec(leaseHash, 'hostname; echo oops >&2; exit 3', { timeoutMs: 10_000 });
  console.log(r.exit_code, r.stdout, r.stderr); // 3 "xe-<12 hex>\n" "oops\n"

  const ssh = await vms.dialSsh(leaseHash); // a stream to the VM's sshd (the tunnel pipes it to the tenant)
  ssh.once('data', (banner) => console.log(banner.toString())); // "SSH-2.0-OpenSSH_…"
  await vms.teardown(leaseHash);
  return { vm, r, ssh };
}
// end of README example

describe('README example', () => {
  it('runs', async () => {
    const dir = await makeTempDir('xe-readme-');
    try {
      const key = await makeLeaseKey(dir);
      const lease = 'ab'.repeat(32);
      const log = console.log;
      console.log = () => {};
      let out: Awaited<ReturnType<typeof example>>;
      try {
        out = await example(join(dir, 'data'), lease, key.pubHex);
      } finally {
        console.log = log;
      }
      expect(out.vm.status).toBe('running');
      expect(out.r).toEqual({ exit_code: 3, stdout: `${vmName(lease)}\n`, stderr: 'oops\n' });
      // Teardown ended the SSH stream with the VM.
      if (!out.ssh.destroyed) await new Promise((resolve) => out.ssh.once('close', resolve));
      expect(out.ssh.destroyed).toBe(true);
    } finally {
      await removeDir(dir);
    }
  });
});
