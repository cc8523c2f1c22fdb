import { type Block, hexToBytes, isHex, type UnsignedBlock } from '@xe/core-types';
import { type KeyPair, sign, verify } from './ed25519.js';
import { hashBlockBytes, hashBlock } from './encode.js';
import { bytesToHex } from '@xe/core-types';

/** Hashes and signs a block; returns it with `hash` and `signature` (no PoW yet). */
export function signBlock<T extends UnsignedBlock>(block: T, key: KeyPair, networkId: string): T & { hash: string; signature: string } {
  const digest = hashBlockBytes(block, networkId);
  return { ...block, hash: bytesToHex(digest), signature: bytesToHex(sign(digest, key)) };
}

/** True when the block's `hash` field is what its fields hash to. */
export function verifyBlockHash(block: Block, networkId: string): boolean {
  try {
    return hashBlock(block, networkId) === block.hash;
  } catch {
    return false;
  }
}

/**
 * Verifies the block's signature by `pubKeyHex` over its recomputed hash. A block whose
 * `hash` field does not match its fields fails too.
 */
export function verifyBlockSignature(block: Block, pubKeyHex: string, networkId: string): boolean {
  if (!isHex(block.signature, 128)) return false;
  let digest: Uint8Array;
  try {
    digest = hashBlockBytes(block, networkId);
  } catch {
    return false;
  }
  if (bytesToHex(digest) !== block.hash) return false;
  return verify(digest, block.signature, pubKeyHex);
}

/** Verifies a signature over an already-checked hash (skips re-hashing on hot paths). */
export function verifyHashSignature(hashHex: string, signatureHex: string, pubKeyHex: string): boolean {
  if (!isHex(hashHex, 64)) return false;
  return verify(hexToBytes(hashHex), signatureHex, pubKeyHex);
}
