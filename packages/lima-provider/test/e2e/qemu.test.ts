import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Logger, silentLogger } from '@xe/core-types';
import { QemuVmManager, vmName } from '../../src/index.js';
import { isProcessAlive } from '../../src/proc.js';
import { KEYS, type LeaseKey, makeLeaseKey, makeTempDir, processesMentioning, randomLeaseHash, removeDir, sshVm, withSshPort } from '../support/helpers.js';

const RES = { vcpus: 1, memory_mb: 256, disk_gb: 1 };
const DIST_INDEX = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
const T = 180_000;

/** A logger that keeps its lines (to see which accelerator was chosen). */
function recordingLogger(lines: string[]): Logger {
  const l: Logger = {
    ...silentLogger,
    child: () => l,
    info: (msg: string) => {
      lines.push(msg);
    },
  };
  return l;
}

describe('QemuVmManager specifics', () => {
  let dir = '';
  let key: LeaseKey;
  beforeAll(async () => {
    dir = await makeTempDir('xe-qemu-');
    key = await makeLeaseKey(dir, 'k');
  });
  afterAll(async () => {
    const m = new QemuVmManager({ dataDir: join(dir, 'd') }, KEYS);
    for (const vm of await m.list()) await m.teardown(vm.lease_hash);
    await removeDir(dir);
  }, T);

  it('a missing guest image is QEMU_IMAGE_MISSING naming the build command', () => {
    expect(() => new QemuVmManager({ dataDir: dir, imageDir: join(dir, 'no-image') }, KEYS)).toThrow(
      expect.objectContaining({ code: 'QEMU_IMAGE_MISSING', message: expect.stringMatching(/build-qemu-image\.sh/) }),
    );
  });

  it('the guest runs its own kernel; the host key fingerprint in the VM object is the one ssh sees; the accelerator is logged', async () => {
    const lines: string[] = [];
    const m = new QemuVmManager({ dataDir: join(dir, 'd') }, { ...KEYS, logger: recordingLogger(lines) });
    const lease = randomLeaseHash();
    const vm = await m.provision(lease, RES, key.pubHex);
    try {
      expect(lines.some((l) => /^qemu accelerator: (kvm|tcg)/.test(l))).toBe(true);
      const uname = await m.exec(lease, 'uname -a');
      expect(uname.stdout).toMatch(new RegExp(`^Linux ${vmName(lease)} ${m.image.kernelVersion.replace(/[.+]/g, '\\$&')} `));
      // ssh-keyscan through dialSsh gives the VM's host key; its fingerprint is the reported one.
      const scan = await withSshPort(m, lease, async (port) => {
        const { runCapped } = await import('../../src/proc.js');
        return runCapped('sh', ['-c', `ssh-keyscan -t ed25519 -p ${port} 127.0.0.1 2>/dev/null | ssh-keygen -lf -`], { timeoutMs: 30_000 });
      });
      expect(scan.stdout).toContain(vm.host_key_fingerprint!);
      expect((await sshVm(m, lease, key.keyFile, 'hostname')).stdout).toBe(`${vmName(lease)}\n`);
      // The tenant (root) writing to the serial port grows no file on the host.
      const consoleLog = join(dir, 'd', 'qemu', vmName(lease), 'console.log');
      const before = statSync(consoleLog).size;
      expect((await m.exec(lease, 'head -c 5000000 /dev/zero > /dev/ttyS0; echo wrote')).stdout).toBe('wrote\n');
      expect(statSync(consoleLog).size).toBe(before);
    } finally {
      await m.teardown(lease);
    }
  }, T);

  it('kill -9 of the provider mid-lease: a new manager adopts the VM (pid file + QMP); teardown leaves nothing', async () => {
    const dataDir = join(dir, 'd');
    const lease = randomLeaseHash();
    // A provider process that provisions and then stays up until it is killed.
    const script = `
      const { QemuVmManager } = await import(${JSON.stringify(DIST_INDEX)});
      const m = new QemuVmManager({ dataDir: ${JSON.stringify(dataDir)} }, { authorizedKeyLine: () => ${JSON.stringify(key.line)} });
      await m.provision(${JSON.stringify(lease)}, ${JSON.stringify(RES)}, ${JSON.stringify(key.pubHex)});
      await m.exec(${JSON.stringify(lease)}, 'echo warm');
      process.stdout.write('provisioned\\n');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('provisioned') && resolve());
      child.on('exit', (code) => reject(new Error(`provider exited with ${code}: ${err}`)));
    });
    child.removeAllListeners('exit');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const fresh = new QemuVmManager({ dataDir }, KEYS);
    expect(await fresh.reconcile(() => true)).toEqual({ adopted: [lease], removed: [], lost: [] });
    const d = await fresh.details(lease);
    expect(d?.status).toBe('running');
    expect((await fresh.exec(lease, 'echo adopted')).stdout).toBe('adopted\n');
    expect((await sshVm(fresh, lease, key.keyFile, 'hostname')).stdout).toBe(`${vmName(lease)}\n`);
    await fresh.teardown(lease);
    for (const pid of d!.pids) expect(isProcessAlive(pid)).toBe(false);
    expect(processesMentioning(vmName(lease))).toEqual([]);
    expect(await fresh.get(lease)).toBeUndefined();
  }, T);
});

// The full Debian root (`build-qemu-image.sh --full DIR`) takes minutes to build, so CI does
// not build it; this runs when XE_QEMU_FULL_IMAGE_DIR names a built one.
const FULL_DIR = process.env.XE_QEMU_FULL_IMAGE_DIR;
(FULL_DIR ? describe : describe.skip)('QemuVmManager with a full Debian root (XE_QEMU_FULL_IMAGE_DIR)', () => {
  it('boots systemd and OpenSSH on a root of exactly disk_gb; ssh with the lease key works; teardown leaves nothing', async () => {
    const dir = await makeTempDir('xe-qemu-full-');
    const m = new QemuVmManager({ dataDir: join(dir, 'd'), imageDir: FULL_DIR! }, KEYS);
    const key = await makeLeaseKey(dir, 'k');
    const lease = randomLeaseHash();
    try {
      expect(m.image.root).toBe(join(FULL_DIR!, 'rootfs.img'));
      const vm = await m.provision(lease, { vcpus: 1, memory_mb: 256, disk_gb: 2 }, key.pubHex);
      expect(vm.host_key_fingerprint).toMatch(/^SHA256:/);
      const r = await m.exec(lease, 'hostname; ps -p 1 -o comm=; df -B1M --output=size / | tail -1; test -f /etc/debian_version && echo debian');
      expect(r.stdout.split('\n').slice(0, 2)).toEqual([vmName(lease), 'systemd']);
      expect(Number(r.stdout.split('\n')[2])).toBeGreaterThan(1900);
      expect(Number(r.stdout.split('\n')[2])).toBeLessThanOrEqual(2048);
      expect(r.stdout).toMatch(/debian\n$/);
      expect((await sshVm(m, lease, key.keyFile, 'id -u')).stdout).toBe('0\n');
      const d = await m.details(lease);
      await m.teardown(lease);
      for (const pid of d!.pids) expect(isProcessAlive(pid)).toBe(false);
      expect(processesMentioning(vmName(lease))).toEqual([]);
    } finally {
      await m.teardown(lease);
      await removeDir(dir);
    }
  }, 300_000);
});
