import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeLeaseKey, makeTempDir, removeDir, sshRun } from '../../src/testing/index.js';
// The README's example, verbatim from here to the end marker (imports adjusted to the package source).
import { createVmManager, vmName } from '../../src/index.js';

async function example(dataDir: string, leaseHash: string, accessPubKey: string) {
  const vms = createVmManager({ backend: 'sandbox', dataDir });
  // On start-up: keep the VMs of active leases, remove the rest.
  await vms.reconcile(async () => true);

  const vm = await vms.provision(leaseHash, { vcpus: 1, memory_mb: 512, disk_gb: 1 }, accessPubKey);
  console.log(vm.status); // "running"

  const r = await vms.exec(leaseHash, 'hostname; echo oops >&2; exit 3', { timeoutMs: 10_000 });
  console.log(r.exit_code, r.stdout, r.stderr); // 3 "xe-<12 hex>\n" "oops\n"

  const sshPort = (await vms.details(leaseHash))?.ssh_port; // ssh -p <port> root@127.0.0.1 with the lease key
  await vms.teardown(leaseHash);
  return { vm, r, sshPort };
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
      assert.equal(out.vm.status, 'running');
      assert.deepEqual(out.r, { exit_code: 3, stdout: `${vmName(lease)}\n`, stderr: 'oops\n' });
      assert.ok(out.sshPort && out.sshPort > 0);
      // After teardown nobody answers there.
      assert.equal((await sshRun(out.sshPort, key.keyFile, 'true', 5000)).exit_code, 255);
    } finally {
      await removeDir(dir);
    }
  });
});
