import { type FinalityParams, hexToBytes, isHex, type Position, U32_MAX, U64_MAX, type Vote } from '@xe/core-types';
import { lp, sha256, u64be, utf8 } from './bytes.js';
import { deriveAddress, type KeyPair, signHex, verify } from './ed25519.js';
import { CryptoError, CryptoErrorCodes } from './errors.js';

/** `"xe/vote/v1\0"`: the domain tag of a vote digest (SPEC §12). */
const VOTE_TAG = utf8('xe/vote/v1\0');
const ZEROS32 = new Uint8Array(32);

/** Position bytes: `0x00 || account || previous` ("0" → zeros) or `0x01 || lease_hash || u8(0 start / 1 end)`. */
export function positionBytes(p: Position): Uint8Array {
  if (p.type === 'chain') {
    const out = new Uint8Array(65);
    out[0] = 0x00;
    out.set(hexToBytes(p.account, 'position.account'), 1);
    out.set(p.previous === '0' ? ZEROS32 : hexToBytes(p.previous, 'position.previous'), 33);
    return out;
  }
  const out = new Uint8Array(34);
  out[0] = 0x01;
  out.set(hexToBytes(p.lease, 'position.lease'), 1);
  out[33] = p.outcome === 'start' ? 0 : 1;
  return out;
}

export type UnsignedVote = Omit<Vote, 'signature' | 'representative' | 'pub_key'>;

/**
 * `SHA-256("xe/vote/v1\0" || lp(network_id) || position bytes || block_hash ||
 * u32(round) || u8(final) || u64(timestamp))` (SPEC §12).
 */
export function voteDigest(v: UnsignedVote, networkId: string): Uint8Array {
  if (!Number.isInteger(v.round) || v.round < 0 || v.round > U32_MAX) {
    throw new CryptoError(CryptoErrorCodes.INVALID_FIELD, 'round: expected a u32');
  }
  const tail = new Uint8Array(5);
  new DataView(tail.buffer).setUint32(0, v.round);
  tail[4] = v.final ? 1 : 0;
  return sha256(VOTE_TAG, lp(networkId), positionBytes(v.position), hexToBytes(v.block_hash, 'block_hash'), tail, u64be(v.timestamp));
}

/** Signs a vote with the representative's key. */
export function signVote(v: UnsignedVote, key: KeyPair, networkId: string): Vote {
  return { representative: key.address, pub_key: key.pubKeyHex, ...v, signature: signHex(voteDigest(v, networkId), key) };
}

/** True when `pub_key` derives `representative` and the signature verifies; malformed input is `false`. */
export function verifyVote(v: Vote, networkId: string): boolean {
  try {
    if (!isHex(v.pub_key, 64) || !isHex(v.signature, 128) || typeof v.timestamp !== 'bigint') return false;
    if (v.timestamp < 0n || v.timestamp > U64_MAX) return false;
    if (deriveAddress(v.pub_key) !== v.representative) return false;
    return verify(voteDigest(v, networkId), v.signature, v.pub_key);
  } catch {
    return false;
  }
}

/** The weight of `address` in `params` (0n when not a representative). */
export function representativeWeight(params: FinalityParams, address: string): bigint {
  for (const r of params.representatives) if (r.address === address) return r.weight;
  return 0n;
}
