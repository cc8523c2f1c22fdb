import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { bytesToHex, hexToBytes, XeError } from '@xe/core-types';
import nacl from 'tweetnacl';
import {
  deriveAddress,
  ed25519Engine,
  generateKeyPair,
  keyPairFromSeed,
  nodeEd25519,
  setEd25519Engine,
  sha256,
  sign,
  signHex,
  tweetnaclEd25519,
  utf8,
  verify,
  verifyHashSignature,
} from '../../src/index.js';

// RFC 8032 §7.1, TEST 1 (empty message)
const RFC = {
  seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
  pub: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
  sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
};

describe('Ed25519 engines', () => {
  it.each([nodeEd25519, tweetnaclEd25519])('$name reproduces RFC 8032 test 1', (engine) => {
    const seed = hexToBytes(RFC.seed);
    expect(bytesToHex(engine.publicKey(seed))).toBe(RFC.pub);
    expect(bytesToHex(engine.sign(new Uint8Array(0), seed))).toBe(RFC.sig);
    expect(engine.verify(new Uint8Array(0), hexToBytes(RFC.sig), hexToBytes(RFC.pub))).toBe(true);
    expect(engine.verify(new Uint8Array([0]), hexToBytes(RFC.sig), hexToBytes(RFC.pub))).toBe(false);
  });

  it('node:crypto and tweetnacl give byte-identical keys and signatures and verify each other', () => {
    // tweetnacl is slow (tens of ops/s), so the random sample is small but covers sizes 0..~250 bytes
    for (let i = 0; i < 10; i++) {
      const seed = new Uint8Array(randomBytes(32));
      const msg = new Uint8Array(randomBytes(i * 27));
      const pubN = nodeEd25519.publicKey(seed);
      const pair = nacl.sign.keyPair.fromSeed(seed);
      expect(bytesToHex(pair.publicKey)).toBe(bytesToHex(pubN));
      const sigN = nodeEd25519.sign(msg, seed);
      const sigT = nacl.sign.detached(msg, pair.secretKey);
      expect(bytesToHex(sigT)).toBe(bytesToHex(sigN));
      expect(nodeEd25519.verify(msg, sigT, pubN)).toBe(true);
      expect(tweetnaclEd25519.verify(msg, sigN, pubN)).toBe(true);
      const bad = new Uint8Array(sigN);
      bad[i % 64]! ^= 1;
      expect(nodeEd25519.verify(msg, bad, pubN)).toBe(false);
      if (i < 2) expect(tweetnaclEd25519.verify(msg, bad, pubN)).toBe(false);
    }
    // the engine object itself (not just the library) signs identically
    const seed = new Uint8Array(32).fill(9);
    expect(bytesToHex(tweetnaclEd25519.sign(utf8('engine'), seed))).toBe(bytesToHex(nodeEd25519.sign(utf8('engine'), seed)));
  });

  it('engines return false, not throw, on wrong lengths or a non-point key', () => {
    for (const engine of [nodeEd25519, tweetnaclEd25519]) {
      expect(engine.verify(new Uint8Array(1), new Uint8Array(63), new Uint8Array(32))).toBe(false);
      expect(engine.verify(new Uint8Array(1), new Uint8Array(64), new Uint8Array(31))).toBe(false);
      expect(engine.verify(new Uint8Array(1), new Uint8Array(64), new Uint8Array(32).fill(0xff))).toBe(false);
    }
  });

  it('the engine can be switched and everything keeps working', () => {
    const key = keyPairFromSeed(RFC.seed);
    const msg = utf8('switch');
    const before = signHex(msg, key);
    setEd25519Engine(tweetnaclEd25519);
    try {
      expect(ed25519Engine().name).toBe('tweetnacl');
      expect(keyPairFromSeed(RFC.seed).pubKeyHex).toBe(RFC.pub);
      expect(signHex(msg, key)).toBe(before);
      expect(verify(msg, before, key.pubKeyHex)).toBe(true);
    } finally {
      setEd25519Engine(nodeEd25519);
    }
    expect(ed25519Engine().name).toBe('node');
  });
});

describe('keys and addresses', () => {
  it('a key pair from a seed (bytes or hex) carries its public key and address', () => {
    const a = keyPairFromSeed(hexToBytes(RFC.seed));
    const b = keyPairFromSeed(RFC.seed);
    expect(a.pubKeyHex).toBe(RFC.pub);
    expect(b.address).toBe(a.address);
    expect(a.address).toBe(bytesToHex(sha256(utf8('xe/account/v1'), hexToBytes(RFC.pub))));
    expect(Object.isFrozen(a)).toBe(true);
    const g = generateKeyPair();
    expect(g.address).toBe(deriveAddress(g.pubKeyHex));
    expect(g.seed).toHaveLength(32);
  });

  it('the key pair copies the seed (later changes to the caller buffer do not leak in)', () => {
    const seed = hexToBytes(RFC.seed);
    const k = keyPairFromSeed(seed);
    seed.fill(0);
    expect(signHex(utf8('x'), k)).toBe(signHex(utf8('x'), keyPairFromSeed(RFC.seed)));
  });

  it('bad seeds and keys are coded INVALID_KEY errors', () => {
    for (const s of ['ab', RFC.seed.toUpperCase(), new Uint8Array(31), new Uint8Array(33), 5 as unknown as string]) {
      try {
        keyPairFromSeed(s);
        throw new Error('expected a throw');
      } catch (err) {
        expect((err as XeError).code).toBe('INVALID_KEY');
      }
    }
    for (const p of ['', 'ab', RFC.pub.toUpperCase(), `${RFC.pub}00`]) {
      expect(() => deriveAddress(p)).toThrow(XeError);
    }
  });

  it('verify is false on malformed hex, never a throw', () => {
    const k = keyPairFromSeed(RFC.seed);
    const msg = utf8('m');
    const s = signHex(msg, k);
    expect(verify(msg, s, k.pubKeyHex)).toBe(true);
    expect(bytesToHex(sign(msg, k))).toBe(s);
    expect(verify(msg, s.toUpperCase(), k.pubKeyHex)).toBe(false);
    expect(verify(msg, s.slice(2), k.pubKeyHex)).toBe(false);
    expect(verify(msg, s, 'zz')).toBe(false);
    expect(verifyHashSignature('ab', s, k.pubKeyHex)).toBe(false);
    const digest = sha256(msg);
    expect(verifyHashSignature(bytesToHex(digest), signHex(digest, k), k.pubKeyHex)).toBe(true);
  });

  it('sha256 of one part and of the same bytes in parts agree, with the FIPS 180-2 digest of "abc"', () => {
    const abc = bytesToHex(sha256(utf8('abc')));
    expect(abc).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(bytesToHex(sha256(utf8('a'), utf8('b'), utf8('c')))).toBe(abc);
    expect(bytesToHex(sha256(new Uint8Array(0)))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    // a view into a larger buffer hashes its own bytes only
    const big = utf8('xxabcxx');
    expect(bytesToHex(sha256(big.subarray(2, 5)))).toBe(abc);
    const d = sha256(utf8('abc'));
    expect(d).toBeInstanceOf(Uint8Array);
    expect(d.length).toBe(32);
  });
});
