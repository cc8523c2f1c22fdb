import { ErrorCodes, type Hash, hexToBytes, isHex, type SignatureHex } from '@xe/core-types';
import { lp, sha256, utf8 } from './bytes.js';
import { type KeyPair, signHex, verify } from './ed25519.js';
import { CryptoError } from './errors.js';

/**
 * The provider's signature over a VM's SSH host key, so a consumer pins the key without
 * trusting any node on the way (its own entry node, a relay). The provider signs
 * `SHA-256("xe/vmhostkey/v1" || lease_hash bytes || lp(host_public_key))` with its
 * account key; the lease hash binds the key to one lease (and, through the block hash, to
 * one network), `lp` fixes where the key ends.
 */

const VM_HOST_KEY_TAG = utf8('xe/vmhostkey/v1');

/** Longest host key line accepted (an RSA-16384 key is about 2.8 KB of base64). */
export const MAX_HOST_PUBLIC_KEY_CHARS = 4096;

/** `<key type> <base64 blob>`: the canonical host key line, no comment, no other whitespace. */
const HOST_KEY_LINE = /^([a-z0-9][a-z0-9@.-]{0,63}) ([A-Za-z0-9+/]+={0,2})$/;

/**
 * The canonical form of an OpenSSH public-key line: its key type and base64 blob, the
 * comment dropped. `undefined` when the text is not one such line, or when the blob does
 * not name the same key type.
 */
export function canonicalHostKey(text: string): string | undefined {
  if (typeof text !== 'string' || text.length > MAX_HOST_PUBLIC_KEY_CHARS) return undefined;
  const [type, b64] = text.trim().split(/\s+/);
  if (type === undefined || b64 === undefined) return undefined;
  const line = `${type} ${b64}`;
  if (!HOST_KEY_LINE.test(line) || b64.length % 4 !== 0) return undefined;
  const blob = Buffer.from(b64, 'base64');
  if (blob.length < 4) return undefined;
  const n = blob.readUInt32BE(0);
  if (n !== type.length || blob.length < 4 + n || blob.subarray(4, 4 + n).toString('latin1') !== type) return undefined;
  return line;
}

function checkedLine(hostPublicKey: string): string {
  const line = canonicalHostKey(hostPublicKey);
  if (line === undefined || line !== hostPublicKey) {
    throw new CryptoError(ErrorCodes.INVALID_FIELD, 'host_public_key: expected one OpenSSH public key line `<type> <base64>` (no comment)', {
      field: 'host_public_key',
    });
  }
  return line;
}

/** `SHA-256("xe/vmhostkey/v1" || lease_hash bytes || lp(host_public_key))`; the key must be canonical (see `canonicalHostKey`). */
export function vmHostKeyDigest(leaseHash: Hash, hostPublicKey: string): Uint8Array {
  if (!isHex(leaseHash, 64)) {
    throw new CryptoError(ErrorCodes.INVALID_FIELD, 'lease_hash: expected 64 lowercase hex chars', { field: 'lease_hash' });
  }
  return sha256(VM_HOST_KEY_TAG, hexToBytes(leaseHash), lp(checkedLine(hostPublicKey)));
}

/** The provider's signature (128 lowercase hex) of a VM's host key for a lease. */
export function signVmHostKey(key: KeyPair, leaseHash: Hash, hostPublicKey: string): SignatureHex {
  return signHex(vmHostKeyDigest(leaseHash, hostPublicKey), key);
}

/** True when `signature` is `providerPubKeyHex`'s signature of the host key digest; malformed input is `false`. */
export function verifyVmHostKey(leaseHash: Hash, hostPublicKey: string, signature: string, providerPubKeyHex: string): boolean {
  try {
    return verify(vmHostKeyDigest(leaseHash, hostPublicKey), signature, providerPubKeyHex);
  } catch {
    return false;
  }
}
