import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LIMA_SOCKET_PATH_MAX, LimaVmManager, createVmManager, vmName } from '../../src/index.js';
import { KEYS, makeLeaseKey, makeTempDir, processesMentioning, randomLeaseHash, removeDir } from '../support/helpers.js';

const limactlPath = fileURLToPath(new URL('../support/limactl', import.meta.url));
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
    expect(() => createVmManager({ backend: 'lima', dataDir: long, limactlPath })).toThrow(expect.objectContaining({ code: 'LIMA_HOME_TOO_LONG' }));
    // A short limaHome makes a long data directory usable.
    const m = new LimaVmManager({ dataDir: long, limaHome: join(dir, 'lh'), limactlPath }, KEYS);
    expect(m.limaHome).toBe(join(dir, 'lh'));
  });

  it("a failing limactl call is LIMACTL_FAILED carrying limactl's stderr", async () => {
    const m = new LimaVmManager({ dataDir: join(dir, 'd1'), limactlPath }, KEYS);
    const e = (await m.limactl.start('xe-000000000000').catch((err: unknown) => err)) as { code?: string; message: string; details?: Record<string, unknown> };
    expect(e.code).toBe('LIMACTL_FAILED');
    expect(String(e.details?.stderr)).toMatch(/does not exist/);
    expect(e.message).toMatch(/does not exist/);
    expect(e.details?.exit_code).toBe(1);
  });

  it('each limactl command has its own timeout', async () => {
    const slow = join(dir, 'slow-limactl');
    await writeFile(slow, '#!/bin/sh\nexec sleep 30\n');
    await chmod(slow, 0o755);
    const m = new LimaVmManager({ dataDir: join(dir, 'd2'), limactlPath: slow, timeouts: { list: 300 } });
    const started = Date.now();
    await expect(m.reconcile(() => true)).rejects.toMatchObject({ code: 'LIMACTL_FAILED', details: { timed_out: true } });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('without the host firewall (no dedicated user) provisioning is HOST_FIREWALL_MISSING unless accepted, then the VM says so', async () => {
    const key = await makeLeaseKey(dir, 'k5');
    const lease = randomLeaseHash();
    const strict = new LimaVmManager({ dataDir: join(dir, 'd5'), limactlPath }, KEYS);
    await expect(strict.provision(lease, RES, key.pubHex)).rejects.toMatchObject({ code: 'HOST_FIREWALL_MISSING', details: { not_enforced: ['network'] } });
    expect(await strict.get(lease)).toBeUndefined();
    expect(await strict.limactl.list()).toEqual([]);
    const lax = new LimaVmManager({ dataDir: join(dir, 'd5'), limactlPath, acceptUnenforcedLimits: true }, KEYS);
    try {
      const vm = await lax.provision(lease, RES, key.pubHex);
      expect(vm.limits_not_enforced).toEqual(['network']);
      expect((await lax.get(lease))?.limits_not_enforced).toEqual(['network']);
      expect((await lax.details(lease))?.limits.reason).toMatch(/network NOT ENFORCED: .*runAsUser/);
    } finally {
      await lax.teardown(lease);
    }
  });

  it('the instance is named after the lease, sized by the template, and listed by limactl', async () => {
    const m = new LimaVmManager({ dataDir: join(dir, 'd3'), limactlPath, acceptUnenforcedLimits: true }, KEYS);
    const key = await makeLeaseKey(dir, 'k3');
    const lease = randomLeaseHash();
    await m.provision(lease, { vcpus: 2, memory_mb: 1024, disk_gb: 8 }, key.pubHex);
    try {
      const inst = (await m.limactl.list()).find((i) => i.name === vmName(lease));
      expect(inst).toBeTruthy();
      // The SSH port is the provider's choice (ssh.localPort in the template), the one the firewall lets through.
      expect(inst!.sshLocalPort).toBe((await m['store'].get(vmName(lease)))?.lima_ssh_port);
      expect(inst!.status).toBe('Running');
      expect(inst!.cpus).toBe(2);
      expect(inst!.memory).toBe(1024 * 1024 * 1024);
      expect(inst!.disk).toBe(8 * 1024 ** 3);
      expect(inst!.dir).toBe(join(m.limaHome, vmName(lease)));
    } finally {
      await m.teardown(lease);
    }
    expect(await m.limactl.list()).toEqual([]);
  });

  it('reconcile deletes an xe- instance that has no record', async () => {
    const m = new LimaVmManager({ dataDir: join(dir, 'd4'), limactlPath, acceptUnenforcedLimits: true }, KEYS);
    const key = await makeLeaseKey(dir, 'k4');
    const lease = randomLeaseHash();
    await m.provision(lease, RES, key.pubHex);
    await m['store'].delete(vmName(lease));
    const result = await m.reconcile(() => true);
    expect(result).toEqual({ adopted: [], removed: [], lost: [] });
    expect(await m.limactl.list()).toEqual([]);
    expect(processesMentioning(vmName(lease))).toEqual([]);
  });
});
