import { bytesToHex } from '@xe/core-types';
import { deriveAddress } from '@xe/crypto';

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const INDEX = new Map([...ALPHABET].map((c, i) => [c, i]));
/** identity multihash (0x00, length 36) of the protobuf public key {Type: Ed25519 (1), Data: 32 bytes} */
const ED25519_PREFIX = [0x00, 0x24, 0x08, 0x01, 0x12, 0x20];
const PEER_ID_BYTES = ED25519_PREFIX.length + 32;

function base58Decode(text: string): Uint8Array | undefined {
  let n = 0n;
  for (const c of text) {
    const v = INDEX.get(c);
    if (v === undefined) return undefined;
    n = n * 58n + BigInt(v);
  }
  const bytes: number[] = [];
  while (n > 0n) {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  for (const c of text) {
    if (c !== '1') break;
    bytes.unshift(0);
  }
  return Uint8Array.from(bytes);
}

/**
 * The ledger address of a libp2p peer id (SPEC §2: a node's libp2p identity is its
 * account key), for an Ed25519 peer id in its base58 form; `undefined` for anything else.
 * The peer id of a connection is what Noise authenticated, so this address is the peer's.
 */
export function addressOfPeerId(peerId: string): string | undefined {
  if (peerId.length === 0 || peerId.length > 64) return undefined;
  const bytes = base58Decode(peerId);
  if (bytes === undefined || bytes.length !== PEER_ID_BYTES) return undefined;
  for (const [i, b] of ED25519_PREFIX.entries()) if (bytes[i] !== b) return undefined;
  return deriveAddress(bytesToHex(bytes.subarray(ED25519_PREFIX.length)));
}
