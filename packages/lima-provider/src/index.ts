export {
  LimaError,
  QemuDepsError,
  SandboxDepsError,
  VmErrorCodes,
  type VmErrorCode,
  VmInputError,
  VmLifecycleError,
  VmStateError,
} from './errors.js';
export { type CreateVmManagerOptions, createVmManager } from './factory.js';
export {
  type AuthorizedKeyLineFn,
  authorizedKeyLineFor,
  checkAccessKey,
  checkLeaseHash,
  checkResources,
  vmName,
  withMinimums,
} from './keys.js';
export { hostPublicKeyLine, makeSshKey, scanHostKey, sshKeyFingerprint, sshKeyLineFingerprint } from './ssh-keygen.js';
export {
  FENCED_V4,
  FENCED_V6,
  type LimaFirewallOptions,
  allowLoopbackPort,
  checkLimaFirewall,
  denyLoopbackPort,
  firewallChain,
  installLimaFirewall,
  removeLimaFirewall,
} from './lima/firewall.js';
export { LIMA_SOCKET_PATH_MAX, LimaVmManager, type LimaVmManagerOptions, checkLimaHome } from './lima/manager.js';
export { DEFAULT_LIMACTL_TIMEOUTS, type LimaInstance, type LimactlTimeouts, parseLimaList } from './lima/limactl.js';
export { DEFAULT_LIMA_IMAGES, type LimaImage, renderTemplate } from './lima/template.js';
export { INSTALL_SCRIPT, SANDBOX_PREFIX, type SandboxDeps, findSandboxDeps } from './sandbox/deps.js';
export { DEFAULT_PIDS_MAX, SandboxVmManager, type SandboxVmManagerOptions, hostCpuCount } from './sandbox/manager.js';
export { DiskPool, POOL_DISK_SIZES_MAX, POOL_SIZE_MAX, type PooledDisk, REFILL_DELAY_MS, sweepDeadPools } from './sandbox/pool.js';
export { type CgroupSetup, parseCpuList, setupCgroups } from './sandbox/cgroup.js';
export { TIMEOUT_EXIT_CODE } from './proc.js';
export { QemuVmManager, type QemuVmManagerOptions, isOurQemu } from './qemu/manager.js';
export {
  type Accelerator,
  DEFAULT_QEMU_IMAGE_DIR,
  QEMU_IMAGE_SCRIPT,
  QEMU_INSTALL_SCRIPT,
  type QemuImage,
  findQemuDeps,
  findQemuImage,
} from './qemu/image.js';
export {
  DEFAULT_EXEC_TIMEOUT_MS,
  type ExecOptions,
  type LeaseActivePredicate,
  type ProviderVmInfo,
  type ReconcileResult,
  type VmBackend,
  type VmDetails,
  type VmLimits,
  type VmManager,
  type VmManagerComponents,
} from './types.js';
