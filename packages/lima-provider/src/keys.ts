import { MAX_DISK_GB, MAX_MEMORY_MB, MAX_VCPUS, type Resources, hexToBytes } from '@xe/core-types';
import { VmErrorCodes, VmInputError } from './errors.js';

/** The strict shape of a lease hash and of an `access_pub_key`: 64 lowercase hex chars. */
const HEX64 = /^[0-9a-f]{64}$/;

/** Throws INVALID_LEASE_HASH unless `leaseHash` is 64 lowercase hex chars. */
export function checkLeaseHash(leaseHash: unknown): string {
  if (typeof leaseHash !== 'string' || !HEX64.test(leaseHash)) {
    throw new VmInputError(VmErrorCodes.INVALID_LEASE_HASH, 'lease hash must be 64 lowercase hex chars', {
      field: 'lease_hash',
    });
  }
  return leaseHash;
}

/**
 * Throws INVALID_ACCESS_KEY unless `key` is 64 lowercase hex chars (a raw Ed25519 public
 * key). Nothing else may reach a script or a file the VM's sshd reads.
 */
export function checkAccessKey(key: unknown): string {
  if (typeof key !== 'string' || !HEX64.test(key)) {
    throw new VmInputError(
      VmErrorCodes.INVALID_ACCESS_KEY,
      'access_pub_key must be 64 lowercase hex chars (a raw Ed25519 public key)',
      { field: 'access_pub_key' },
    );
  }
  return key;
}

function checkCount(value: unknown, field: string, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new VmInputError(VmErrorCodes.INVALID_RESOURCES, `${field} must be an integer between 0 and ${max}`, {
      field,
    });
  }
  return value;
}

/** Checks the lease's resources (SPEC §5): integers within the ceilings, at least one non-zero. */
export function checkResources(resources: unknown): Resources {
  if (resources === null || typeof resources !== 'object') {
    throw new VmInputError(VmErrorCodes.INVALID_RESOURCES, 'resources must be an object {vcpus, memory_mb, disk_gb}');
  }
  const r = resources as Record<string, unknown>;
  const out: Resources = {
    vcpus: checkCount(r.vcpus, 'vcpus', MAX_VCPUS),
    memory_mb: checkCount(r.memory_mb, 'memory_mb', MAX_MEMORY_MB),
    disk_gb: checkCount(r.disk_gb, 'disk_gb', MAX_DISK_GB),
  };
  if (out.vcpus === 0 && out.memory_mb === 0 && out.disk_gb === 0) {
    throw new VmInputError(VmErrorCodes.INVALID_RESOURCES, 'at least one of vcpus, memory_mb, disk_gb must be > 0');
  }
  return out;
}

/** The VM (and Lima instance) name of a lease: `xe-<first 12 hex of the lease hash>`. */
export function vmName(leaseHash: string): string {
  return `xe-${checkLeaseHash(leaseHash).slice(0, 12)}`;
}

/**
 * An `authorized_keys` line for one Ed25519 key: type, base64 blob (51 bytes), an optional
 * comment of safe characters (the line goes into shell scripts and a kernel command line).
 */
const AUTHORIZED_KEY_LINE = /^ssh-ed25519 ([A-Za-z0-9+/]{68})( [A-Za-z0-9@._:+=-]{1,64})?$/;

/**
 * Makes the lease key's `authorized_keys` line from its raw hex public key. This package
 * writes no key format itself: the caller injects its key-format library's writer (the
 * node passes `sshAuthorizedKeyLine` of `@xe/crypto`).
 */
export type AuthorizedKeyLineFn = (accessPubKeyHex: string) => string;

/**
 * The lease's `authorized_keys` line from the injected writer, checked before it reaches a
 * file, a script or a kernel command line: one `ssh-ed25519` key whose last 32 bytes are
 * `accessPubKey` and a comment of safe characters. INVALID_OPTION when no writer was given,
 * INVALID_ACCESS_KEY when the line is not exactly that.
 */
export function authorizedKeyLineFor(make: AuthorizedKeyLineFn | undefined, accessPubKey: string): string {
  if (typeof make !== 'function') {
    throw new VmInputError(
      VmErrorCodes.INVALID_OPTION,
      'the VM manager needs an authorizedKeyLine component (the key-format writer, e.g. sshAuthorizedKeyLine of @xe/crypto) to install lease keys',
      { field: 'authorizedKeyLine' },
    );
  }
  const line = make(checkAccessKey(accessPubKey));
  const m = typeof line === 'string' ? AUTHORIZED_KEY_LINE.exec(line) : null;
  const blob = m ? Buffer.from(m[1]!, 'base64') : Buffer.alloc(0);
  if (blob.length !== 51 || !blob.subarray(-32).equals(Buffer.from(hexToBytes(accessPubKey, 'access_pub_key')))) {
    throw new VmInputError(VmErrorCodes.INVALID_ACCESS_KEY, 'the authorized_keys line is not one ssh-ed25519 key equal to access_pub_key', {
      field: 'access_pub_key',
    });
  }
  return line;
}

/** The stated minimum a VM gets where the lease asks for 0 (SPEC §5 allows 0): 1 vCPU, 128 MiB, `minDiskGb`. */
export function withMinimums(res: Resources, minDiskGb: number): Resources {
  return { vcpus: Math.max(1, res.vcpus), memory_mb: Math.max(128, res.memory_mb), disk_gb: Math.max(minDiskGb, res.disk_gb) };
}
