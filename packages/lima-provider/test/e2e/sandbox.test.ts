import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxVmManager, vmName } from '../../src/index.js';
import { isProcessAlive } from '../../src/proc.js';
import { makeLeaseKey, makeTempDir, processesMentioning, randomLeaseHash, removeDir, sshRun } from '../../src/testing/index.js';

const RES = { vcpus: 1, memory_mb: 256, disk_gb: 1 };

describe('SandboxVmManager specifics', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await makeTempDir('xe-sbx-');
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it('missing bubblewrap or sshd is SANDBOX_DEPS_MISSING naming the install script', () => {
    const check = (fn: () => unknown, missing: string) =>
      assert.throws(fn, (e: { code?: string; message: string; details?: { missing?: string } }) => {
        assert.equal(e.code, 'SANDBOX_DEPS_MISSING');
        assert.equal(e.details?.missing, missing);
        if (missing !== 'nsenter') assert.match(e.message, /install-sandbox-deps\.sh/);
        return true;
      });
    check(() => new SandboxVmManager({ dataDir: dir, searchPath: '/nonexistent' }), 'bwrap');
    check(() => new SandboxVmManager({ dataDir: dir, sshdPath: '/nonexistent/sshd' }), 'sshd');
  });

  it('reports how memory/CPU limits are applied, and a VM whose sandbox died is "stopped", then lost on reconcile', async () => {
    const m = new SandboxVmManager({ dataDir: join(dir, 'd1') });
    const key = await makeLeaseKey(dir, 'k1');
    const lease = randomLeaseHash();
    await m.provision(lease, RES, key.pubHex);
    const d = await m.details(lease);
    assert.ok(d);
    if (existsSync('/sys/fs/cgroup/cgroup.controllers') && d.limits.enforced) {
      assert.ok(d.limits.cgroup && existsSync(d.limits.cgroup));
    } else {
      assert.equal(d.limits.enforced, false);
      assert.ok(d.limits.reason.length > 0);
    }
    // The VM's processes vanish behind the provider's back (e.g. a host reboot).
    for (const pid of d.pids) process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 5000;
    while (d.pids.some(isProcessAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal((await m.get(lease))?.status, 'stopped');
    await assert.rejects(m.exec(lease, 'true'), (e: { code?: string }) => e.code === 'VM_NOT_RUNNING');
    const result = await new SandboxVmManager({ dataDir: join(dir, 'd1') }).reconcile(() => true);
    assert.deepEqual(result, { adopted: [], removed: [], lost: [lease] });
    assert.equal(await m.get(lease), undefined);
    assert.deepEqual(processesMentioning(vmName(lease)), []);
    // It can be provisioned again.
    await m.provision(lease, RES, key.pubHex);
    const again = await m.details(lease);
    assert.equal((await sshRun(again!.ssh_port!, key.keyFile, 'echo back')).stdout, 'back\n');
    await m.teardown(lease);
  });

  it('two VMs are isolated from each other: own hostname, own files, own PID namespace', async () => {
    const m = new SandboxVmManager({ dataDir: join(dir, 'd2') });
    const key = await makeLeaseKey(dir, 'k2');
    const a = randomLeaseHash();
    const b = randomLeaseHash();
    await m.provision(a, RES, key.pubHex);
    await m.provision(b, RES, key.pubHex);
    try {
      await m.exec(a, 'echo secret > /root/a.txt');
      assert.equal((await m.exec(b, 'cat /root/a.txt')).exit_code, 1);
      assert.equal((await m.exec(b, 'hostname')).stdout, `${vmName(b)}\n`);
      // Only the VM's own processes are visible: its init (1), sshd, and this shell.
      const ps = await m.exec(a, 'ls /proc | grep -c "^[0-9]"');
      assert.ok(Number(ps.stdout.trim()) < 10, ps.stdout);
    } finally {
      await m.teardown(a);
      await m.teardown(b);
    }
  });
});
