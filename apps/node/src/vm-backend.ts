import type { Clock, Logger } from '@xe/core-types';
import { sshAuthorizedKeyLine } from '@xe/crypto';
import { type CreateVmManagerOptions, createVmManager, type VmManager } from '@xe/lima-provider';
import type { NodeConfig } from './config.js';

/** The configuration a provider's VM manager is built from. */
export type VmBackendConfig = Pick<
  NodeConfig,
  'vmBackend' | 'limactl' | 'limaImage' | 'limaUser' | 'sshdPath' | 'acceptUnenforcedLimits' | 'qemuImageDir'
> &
  Partial<Pick<NodeConfig, 'vmPool'>>;

/** The VM manager options of the configured backend, over `vmDir`. */
export function vmManagerOptions(config: VmBackendConfig, vmDir: string): CreateVmManagerOptions {
  switch (config.vmBackend) {
    case 'qemu':
      return { backend: 'qemu', dataDir: vmDir, ...(config.qemuImageDir ? { imageDir: config.qemuImageDir } : {}) };
    case 'lima':
      return {
        backend: 'lima',
        dataDir: vmDir,
        limactlPath: config.limactl,
        acceptUnenforcedLimits: config.acceptUnenforcedLimits,
        ...(config.limaUser ? { runAsUser: config.limaUser } : {}),
        ...(config.limaImage ? { images: [{ location: config.limaImage, arch: process.arch === 'arm64' ? 'aarch64' : 'x86_64' }] } : {}),
      };
    default:
      return {
        backend: 'sandbox',
        dataDir: vmDir,
        acceptUnenforcedLimits: config.acceptUnenforcedLimits,
        poolSize: config.vmPool ?? 0,
        ...(config.sshdPath ? { sshdPath: config.sshdPath } : {}),
      };
  }
}

/**
 * The provider's VM manager (sandbox, qemu or lima, per `--vm-backend`). Throws a coded
 * error when the backend cannot run here (missing bubblewrap or sshd, QEMU or its guest
 * image; the message names the command that installs or builds it). The lease key's
 * authorized_keys line comes from @xe/crypto's key formats (the provider package writes none).
 */
export function createNodeVmManager(config: VmBackendConfig, vmDir: string, components: { logger: Logger; clock: Clock }): VmManager {
  return createVmManager(vmManagerOptions(config, vmDir), { ...components, authorizedKeyLine: (pubKeyHex) => sshAuthorizedKeyLine(pubKeyHex) });
}
