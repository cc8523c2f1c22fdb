import { generateKeyPairFromSeed, publicKeyFromRaw } from '@libp2p/crypto/keys';
import type { Ed25519PrivateKey } from '@libp2p/interface';
import { peerIdFromPublicKey } from '@libp2p/peer-id';
import { hexToBytes, isHex } from '@xe/core-types';
import type { KeyPair } from '@xe/crypto';
import { GossipError, GossipErrorCodes } from './errors.js';

/** The libp2p private key of a node: the same Ed25519 seed as its account key (SPEC §2). */
export function libp2pPrivateKey(key: KeyPair): Promise<Ed25519PrivateKey> {
  return generateKeyPairFromSeed('Ed25519', key.seed);
}

/** The libp2p peer id (base58 string) that belongs to an Ed25519 public key in hex. */
export function peerIdFromPubKeyHex(pubKeyHex: string): string {
  if (!isHex(pubKeyHex, 64)) throw new GossipError(GossipErrorCodes.INVALID_TARGET, 'pub_key: expected 64 lowercase hex chars');
  return peerIdFromPublicKey(publicKeyFromRaw(hexToBytes(pubKeyHex))).toString();
}
