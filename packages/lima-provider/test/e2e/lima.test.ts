import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LIMA_SOCKET_PATH_MAX, LimaVmManager, createVmManager, vmName } from '../../src/index.js';
import { makeLeaseKey, makeTempDir, processesMentioning, randomLeaseHash, removeDir } from '../../src/testing/index.js';

const limactlPath = fileURLToPath(new URL('../fixtures/limactl', import.meta.url));
const RES = { vcpus: 1, memory_mb: 512, disk_gb: 1 };

describe('LimaVmManager specifics (fake limactl)', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await makeTempDir('xe-lima-');
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it('refuses a LIMA_HOME whose socket paths would be too long', () => {
    const long = join(dir, 'x'.repeat(LIMA_SOCKET_PATH_MAX));
    assert.throws(
      () => createVmManager({ backend: 'lima', dataDir: long, limactlPath }),
      (e: { code?: string }) => e.code === 'LIMA_HOME_TOO_LONG',
    );
    // A short limaHome makes a long data directory usable.
    const m = new LimaVmManager({ dataDir: long, limaHome: join(dir, 'lh'), limactlPath });
    assert.equal(m.limaHome, join(dir, 'lh'));
  });

  it("a failing limactl call is LIMACTL_FAILED carrying limactl's stderr", async () => {
    const m = new LimaVmManager({ dataDir: join(dir, 'd1'), limactlPath });
    await assert.rejects(m.limactl.start('xe-000000000000'), (e: { code?: string; message: string; details?: Record<string, unknown> }) => {
      assert.equal(e.code, 'LIMACTL_FAILED');
      assert.match(String(e.details?.stderr), /does not exist/);
      assert.match(e.message, /does not exist/);
      assert.equal(e.details?.exit_code, 1);
      return true;
    });
  });

  it('each limactl command has its own timeout', async () => {
    const slow = join(dir, 'slow-limactl');
    await writeFile(slow, '#!/bin/sh\nexec sleep 30\n');
    await chmod(slow, 0o755);
    const m = new LimaVmManager({ dataDir: join(dir, 'd2'), limactlPath: slow, timeouts: { list: 300 } });
    const started = Date.now();
    await assert.rejects(m.reconcile(() => true), (e: { code?: string; details?: Record<string, unknown> }) => {
      assert.equal(e.code, 'LIMACTL_FAILED');
      assert.equal(e.details?.timed_out, true);
      return true;
    });
    assert.ok(Date.now() - started < 10_000);
  });

  it('the instance is named after the lease, sized by the template, and listed by limactl', async () => {
    const m = new LimaVmManager({ dataDir: join(dir, 'd3'), limactlPath });
    const key = await makeLeaseKey(dir, 'k3');
    const lease = randomLeaseHash();
    await m.provision(lease, { vcpus: 2, memory_mb: 1024, disk_gb: 8 }, key.pubHex);
    try {
      const inst = (await m.limactl.list()).find((i) => i.name === vmName(lease));
      assert.ok(inst);
      assert.equal(inst.status, 'Running');
      assert.equal(inst.cpus, 2);
      assert.equal(inst.memory, 1024 * 1024 * 1024);
      assert.equal(inst.disk, 8 * 1024 ** 3);
      assert.equal(inst.dir, join(m.limaHome, vmName(lease)));
    } finally {
      await m.teardown(lease);
    }
    assert.deepEqual(await m.limactl.list(), []);
  });

  it('reconcile deletes an xe- instance that has no record', async () => {
    const m = new LimaVmManager({ dataDir: join(dir, 'd4'), limactlPath });
    const key = await makeLeaseKey(dir, 'k4');
    const lease = randomLeaseHash();
    await m.provision(lease, RES, key.pubHex);
    await m['store'].delete(vmName(lease));
    const result = await m.reconcile(() => true);
    assert.deepEqual(result, { adopted: [], removed: [], lost: [] });
    assert.deepEqual(await m.limactl.list(), []);
    assert.deepEqual(processesMentioning(vmName(lease)), []);
  });
});
