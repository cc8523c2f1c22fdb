import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
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

function sshString(data: Uint8Array | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

const ED25519 = 'ssh-ed25519';

function publicKeyBlob(pub: Uint8Array): Buffer {
  return Buffer.concat([sshString(ED25519), sshString(pub)]);
}

/** One `authorized_keys` line for a raw Ed25519 public key: `ssh-ed25519 <base64> xe-lease`. */
export function sshAuthorizedKeyLine(pubHex: string): string {
  const pub = hexToBytes(checkAccessKey(pubHex), 'access_pub_key');
  return `${ED25519} ${publicKeyBlob(pub).toString('base64')} xe-lease`;
}

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The raw 32-byte Ed25519 public key of a 32-byte seed (node:crypto). */
export function ed25519PublicFromSeed(seed32: Uint8Array): Uint8Array {
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed32]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(spki.length - 32));
}

/**
 * An unencrypted OpenSSH private key file (`-----BEGIN OPENSSH PRIVATE KEY-----`) for an
 * Ed25519 key pair given as its 32-byte seed and 32-byte public key. Throws
 * INVALID_ACCESS_KEY when the lengths are wrong or the public key does not match the seed.
 */
export function openSshPrivateKey(seed32: Uint8Array, pubKey32: Uint8Array, comment = ''): string {
  if (seed32.length !== 32 || pubKey32.length !== 32) {
    throw new VmInputError(VmErrorCodes.INVALID_ACCESS_KEY, 'an Ed25519 seed and public key are 32 bytes each');
  }
  if (!Buffer.from(ed25519PublicFromSeed(seed32)).equals(Buffer.from(pubKey32))) {
    throw new VmInputError(VmErrorCodes.INVALID_ACCESS_KEY, 'the public key does not belong to the seed');
  }
  const pubBlob = publicKeyBlob(pubKey32);
  // The check integer only lets a reader detect a wrong passphrase; any fixed value will do.
  const check = createHash('sha256').update(pubKey32).digest().subarray(0, 4);
  let priv = Buffer.concat([
    check,
    check,
    sshString(ED25519),
    sshString(pubKey32),
    sshString(Buffer.concat([seed32, pubKey32])),
    sshString(comment),
  ]);
  const pad: number[] = [];
  for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
  priv = Buffer.concat([priv, Buffer.from(pad)]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    Buffer.from([0, 0, 0, 1]),
    sshString(pubBlob),
    sshString(priv),
  ]).toString('base64');
  const lines = body.match(/.{1,70}/g) ?? [];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

/** The SHA256 fingerprint (`SHA256:<base64, no padding>`, as ssh-keygen -l prints) of an SSH public key blob. */
export function sshFingerprint(publicKeyBlobBytes: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(publicKeyBlobBytes).digest('base64').replace(/=+$/, '')}`;
}

/** The fingerprint of the public key inside an unencrypted OpenSSH private key file; undefined if it cannot be read. */
export function openSshKeyFingerprint(privateKeyFile: string): string | undefined {
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(privateKeyFile);
  if (!m) return undefined;
  const buf = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  const magic = 'openssh-key-v1\0';
  if (buf.subarray(0, magic.length).toString('latin1') !== magic) return undefined;
  let off = magic.length;
  const str = (): Buffer | undefined => {
    if (off + 4 > buf.length) return undefined;
    const len = buf.readUInt32BE(off);
    if (off + 4 + len > buf.length) return undefined;
    const out = buf.subarray(off + 4, off + 4 + len);
    off += 4 + len;
    return out;
  };
  for (let i = 0; i < 3; i++) if (!str()) return undefined; // cipher, kdf, kdf options
  off += 4; // number of keys
  const pub = str();
  return pub ? sshFingerprint(pub) : undefined;
}

/** The stated minimum a VM gets where the lease asks for 0 (SPEC §5 allows 0): 1 vCPU, 128 MiB, `minDiskGb`. */
export function withMinimums(res: Resources, minDiskGb: number): Resources {
  return { vcpus: Math.max(1, res.vcpus), memory_mb: Math.max(128, res.memory_mb), disk_gb: Math.max(minDiskGb, res.disk_gb) };
}
