import { LimaVmManager, type LimaVmManagerOptions } from './lima/manager.js';
import { QemuVmManager, type QemuVmManagerOptions } from './qemu/manager.js';
import { SandboxVmManager, type SandboxVmManagerOptions } from './sandbox/manager.js';
import type { VmManager, VmManagerComponents } from './types.js';

export type CreateVmManagerOptions =
  | ({ backend: 'sandbox' } & SandboxVmManagerOptions)
  | ({ backend: 'qemu' } & QemuVmManagerOptions)
  | ({ backend: 'lima' } & LimaVmManagerOptions);

/** The VM manager of the configured backend. Throws a coded error when the backend cannot run here. */
export function createVmManager(options: CreateVmManagerOptions, components: VmManagerComponents = {}): VmManager {
  const { backend, ...rest } = options;
  if (backend === 'lima') return new LimaVmManager(rest as LimaVmManagerOptions, components);
  if (backend === 'qemu') return new QemuVmManager(rest as QemuVmManagerOptions, components);
  return new SandboxVmManager(rest as SandboxVmManagerOptions, components);
}
