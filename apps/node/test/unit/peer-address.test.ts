import { describe, expect, it } from '@jest/globals';
import { keyPairFromSeed } from '@xe/crypto';
import { peerIdFromPubKeyHex } from '@xe/gossip';
import { addressOfPeerId } from '../../src/peer-address.js';

describe('addressOfPeerId', () => {
  it('gives the ledger address of the key behind an Ed25519 peer id (SPEC §2)', () => {
    for (const n of [1, 7, 0x80, 0xff]) {
      const k = keyPairFromSeed(new Uint8Array(32).fill(n));
      expect(addressOfPeerId(peerIdFromPubKeyHex(k.pubKeyHex))).toBe(k.address);
    }
  });

  it('is undefined for anything that is not an Ed25519 peer id', () => {
    const id = peerIdFromPubKeyHex(keyPairFromSeed(new Uint8Array(32).fill(3)).pubKeyHex);
    for (const bad of ['', 'self', 'http:127.0.0.1', `${id}1`, id.slice(1), id.replace(/.$/, '0'), 'Qm'.padEnd(46, 'x'), 'z'.repeat(200)]) {
      expect(addressOfPeerId(bad)).toBeUndefined();
    }
  });
});
