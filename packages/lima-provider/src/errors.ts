import { ErrorCodes, XeError, type XeErrorOptions } from '@xe/core-types';

/** Error codes of the VM provider. Callers branch on these, never on message text. */
export const VmErrorCodes = {
  INVALID_LEASE_HASH: 'INVALID_LEASE_HASH',
  INVALID_ACCESS_KEY: 'INVALID_ACCESS_KEY',
  INVALID_RESOURCES: ErrorCodes.INVALID_RESOURCES,
  INVALID_OPTION: 'INVALID_OPTION',
  VM_EXISTS: 'VM_EXISTS',
  VM_NAME_COLLISION: 'VM_NAME_COLLISION',
  VM_NOT_FOUND: 'VM_NOT_FOUND',
  VM_NOT_RUNNING: 'VM_NOT_RUNNING',
  SANDBOX_DEPS_MISSING: 'SANDBOX_DEPS_MISSING',
  SANDBOX_START_FAILED: 'SANDBOX_START_FAILED',
  TEARDOWN_FAILED: 'TEARDOWN_FAILED',
  LIMITS_NOT_ENFORCED: 'LIMITS_NOT_ENFORCED',
  QEMU_MISSING: 'QEMU_MISSING',
  QEMU_IMAGE_MISSING: 'QEMU_IMAGE_MISSING',
  QEMU_START_FAILED: 'QEMU_START_FAILED',
  LIMACTL_FAILED: 'LIMACTL_FAILED',
  LIMA_HOME_TOO_LONG: 'LIMA_HOME_TOO_LONG',
  HOST_FIREWALL_MISSING: 'HOST_FIREWALL_MISSING',
  ABORTED: ErrorCodes.ABORTED,
} as const;

export type VmErrorCode = (typeof VmErrorCodes)[keyof typeof VmErrorCodes];

/** Bad input to the provider: a malformed lease hash or key, impossible resources. */
export class VmInputError extends XeError<
  'INVALID_LEASE_HASH' | 'INVALID_ACCESS_KEY' | 'INVALID_RESOURCES' | 'INVALID_OPTION'
> {}

/** The VM is not in a state that allows the operation (exists already, its name taken by another lease, unknown, not running). */
export class VmStateError extends XeError<'VM_EXISTS' | 'VM_NAME_COLLISION' | 'VM_NOT_FOUND' | 'VM_NOT_RUNNING'> {}

/** A program the sandbox backend needs is not on this machine. */
export class SandboxDepsError extends XeError<'SANDBOX_DEPS_MISSING'> {
  constructor(message: string, options: XeErrorOptions = {}) {
    super(VmErrorCodes.SANDBOX_DEPS_MISSING, message, options);
  }
}

/** Starting or stopping a VM failed. */
export class VmLifecycleError extends XeError<'SANDBOX_START_FAILED' | 'TEARDOWN_FAILED' | 'LIMITS_NOT_ENFORCED' | 'QEMU_START_FAILED'> {}

/** QEMU or its guest image is not on this machine; the message names the command that installs or builds it. */
export class QemuDepsError extends XeError<'QEMU_MISSING' | 'QEMU_IMAGE_MISSING'> {}

/**
 * A `limactl` call failed (`details` carries its arguments, exit code and stderr), LIMA_HOME
 * is too long, or the host firewall that fences Lima's user-mode network is not in place.
 */
export class LimaError extends XeError<'LIMACTL_FAILED' | 'LIMA_HOME_TOO_LONG' | 'HOST_FIREWALL_MISSING'> {}
