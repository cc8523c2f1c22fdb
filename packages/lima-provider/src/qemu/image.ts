import { execFile, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Logger } from '@xe/core-types';
import { QemuDepsError } from '../errors.js';
import { makeOnce } from '../sandbox/disk.js';

const run = promisify(execFile);

/** Where scripts/build-qemu-image.sh puts the guest unless told otherwise. */
export const DEFAULT_QEMU_IMAGE_DIR = '/var/cache/xe-node/qemu-image';

/** The script that installs QEMU and builds the guest image (named in QEMU_* errors). */
export const QEMU_INSTALL_SCRIPT = fileURLToPath(new URL('../../scripts/install-qemu.sh', import.meta.url));
export const QEMU_IMAGE_SCRIPT = fileURLToPath(new URL('../../scripts/build-qemu-image.sh', import.meta.url));

/** The guest: a kernel and an initramfs (see scripts/build-qemu-image.sh). */
export interface QemuImage {
  dir: string;
  kernel: string;
  initrd: string;
  /** The image's manifest line "kernel <version>". */
  kernelVersion: string;
  /** A full Debian root (`rootfs.img`, built with `--full`; the manifest says `root full`): booted instead of the busybox userland. */
  root?: string;
}

export interface QemuDeps {
  qemu: string;
  qemuImg: string;
  ssh: string;
  /** OpenSSH's ssh-keygen: makes the provider's exec key, reads host key fingerprints. */
  sshKeygen: string;
}

function onPath(name: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Finds qemu-system-x86_64, qemu-img and the ssh client, or throws QEMU_MISSING naming the install command. */
export function findQemuDeps(searchPath = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'): QemuDeps {
  const hint = `run as root: bash ${QEMU_INSTALL_SCRIPT}  (apt-get install -y qemu-system-x86 qemu-utils openssh-client, then builds the guest image)`;
  const qemu = onPath('qemu-system-x86_64', searchPath);
  if (!qemu) throw new QemuDepsError('QEMU_MISSING', `qemu-system-x86_64 is not on PATH; ${hint}`, { details: { missing: 'qemu-system-x86_64' } });
  const qemuImg = onPath('qemu-img', searchPath);
  if (!qemuImg) throw new QemuDepsError('QEMU_MISSING', `qemu-img is not on PATH; ${hint}`, { details: { missing: 'qemu-img' } });
  const ssh = onPath('ssh', searchPath);
  if (!ssh) throw new QemuDepsError('QEMU_MISSING', `the ssh client is not on PATH; ${hint}`, { details: { missing: 'ssh' } });
  const sshKeygen = onPath('ssh-keygen', searchPath);
  if (!sshKeygen) throw new QemuDepsError('QEMU_MISSING', `ssh-keygen is not on PATH; ${hint}`, { details: { missing: 'ssh-keygen' } });
  return { qemu, qemuImg, ssh, sshKeygen };
}

/** The guest image in `dir`, or QEMU_IMAGE_MISSING naming the command that builds it. */
export function findQemuImage(dir: string): QemuImage {
  const kernel = join(dir, 'vmlinuz');
  const initrd = join(dir, 'initrd.img');
  const manifest = join(dir, 'manifest.txt');
  if (!existsSync(kernel) || !existsSync(initrd) || !existsSync(manifest)) {
    throw new QemuDepsError('QEMU_IMAGE_MISSING', `no QEMU guest image in ${dir}; build it with: bash ${QEMU_IMAGE_SCRIPT} ${dir}`, {
      details: { dir },
    });
  }
  const text = readFileSync(manifest, 'utf8');
  const version = /^kernel (.+)$/m.exec(text)?.[1] ?? 'unknown';
  const image: QemuImage = { dir, kernel, initrd, kernelVersion: version };
  if (/^root full$/m.test(text)) {
    const root = join(dir, 'rootfs.img');
    if (!existsSync(root)) {
      throw new QemuDepsError('QEMU_IMAGE_MISSING', `the manifest in ${dir} names a full root but rootfs.img is missing; rebuild it with: bash ${QEMU_IMAGE_SCRIPT} --full ${dir}`, {
        details: { dir },
      });
    }
    image.root = root;
  }
  return image;
}

export type Accelerator = 'kvm' | 'tcg';

/**
 * Decides between KVM and TCG by booting the guest once with KVM under a deadline: a
 * `/dev/kvm` whose guests hang (nested virtualisation missing) fails the probe. Never
 * decides by the device's presence alone.
 */
export async function probeAccelerator(
  deps: Pick<QemuDeps, 'qemu'>,
  image: Pick<QemuImage, 'kernel' | 'initrd'>,
  deadlineMs: number,
  log: Logger,
  kvmDevice = '/dev/kvm',
): Promise<Accelerator> {
  if (!existsSync(kvmDevice)) {
    log.info('qemu accelerator: tcg (no /dev/kvm)');
    return 'tcg';
  }
  const args = [
    ...['-accel', 'kvm', '-cpu', 'host', '-m', '128', '-smp', '1', '-nodefaults', '-no-user-config', '-display', 'none'],
    ...['-kernel', image.kernel, '-initrd', image.initrd, '-append', 'console=ttyS0 quiet panic=-1 xe.probe=1'],
    ...['-serial', 'stdio', '-no-reboot'],
  ];
  const ok = await new Promise<boolean>((resolve) => {
    const child = spawn(deps.qemu, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(false);
    }, deadlineMs);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (out.length > 65536) out = out.slice(-4096);
      if (out.includes('XE-PROBE-OK')) {
        clearTimeout(timer);
        child.kill('SIGKILL');
        resolve(true);
      }
    });
    child.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(out.includes('XE-PROBE-OK'));
    });
  });
  log.info(`qemu accelerator: ${ok ? 'kvm' : 'tcg'} (a KVM probe boot ${ok ? 'reached the guest init' : `did not reach the guest init within ${deadlineMs} ms`})`);
  return ok ? 'kvm' : 'tcg';
}

/** `qemu-img create -f qcow2 -F raw -b template overlay`: the lease's copy-on-write disk. */
export async function createOverlay(deps: QemuDeps, template: string, overlay: string): Promise<void> {
  await run(deps.qemuImg, ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', template, overlay], { timeout: 30_000 });
}

/**
 * The full root (`rootfs.img`, 1 GiB) grown to exactly `sizeGb` GiB, made once per size
 * and image build in `dir` (a sparse copy, `e2fsck -f`, `resize2fs`): the backing file of
 * each lease's copy-on-write overlay, so no lease copies or resizes anything.
 */
export function fullRootTemplate(dir: string, rootfs: string, sizeGb: number): Promise<string> {
  const st = statSync(rootfs);
  return makeOnce(join(dir, `full-${sizeGb}g-${Math.floor(st.mtimeMs)}-${st.size}.img`), async (tmp) => {
    await run('cp', ['--sparse=always', rootfs, tmp], { timeout: 120_000 });
    // e2fsck exits 1 when it only tidied something; resize2fs wants a freshly checked file system.
    await run('e2fsck', ['-f', '-p', tmp], { timeout: 120_000 }).catch((err: { code?: number }) => {
      if (err.code !== 1) throw err;
    });
    if (st.size < sizeGb * 1024 ** 3) await run('resize2fs', ['-f', tmp, `${sizeGb}G`], { timeout: 120_000 });
  });
}
