import { createPrivateKey, createPublicKey, type KeyObject, sign as nodeSign, verify as nodeVerify, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { bytesToHex, hexToBytes, isHex } from '@xe/core-types';
import type nacl from 'tweetnacl';
import { sha256, utf8 } from './bytes.js';
import { CryptoError, CryptoErrorCodes } from './errors.js';
import { ed25519Pkcs8Der, ed25519SpkiDer } from './key-formats.js';

/** An Ed25519 signing engine. `node` (node:crypto) is the default; `tweetnacl` is the portable one. */
export interface Ed25519Engine {
  readonly name: 'node' | 'tweetnacl';
  publicKey(seed: Uint8Array): Uint8Array;
  sign(message: Uint8Array, seed: Uint8Array): Uint8Array;
  verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean;
}

function privateKeyObject(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: ed25519Pkcs8Der(seed), format: 'der', type: 'pkcs8' });
}

const PUBKEY_CACHE_MAX = 4096;
const pubKeyCache = new Map<string, KeyObject>();
const privKeyCache = new WeakMap<Uint8Array, KeyObject>();

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const id = bytesToHex(publicKey);
  let k = pubKeyCache.get(id);
  if (k) return k;
  k = createPublicKey({ key: ed25519SpkiDer(publicKey), format: 'der', type: 'spki' });
  if (pubKeyCache.size >= PUBKEY_CACHE_MAX) pubKeyCache.delete(pubKeyCache.keys().next().value as string);
  pubKeyCache.set(id, k);
  return k;
}

/** The one libsodium call the fast path makes (`sodium-native`). */
interface SodiumVerify {
  crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

/**
 * libsodium (the optional `sodium-native` addon), loaded once: `undefined` when it is not
 * installed, does not load on this platform, or `XE_ED25519_SODIUM=0` turns it off.
 */
function loadSodium(): SodiumVerify | undefined {
  if (process.env.XE_ED25519_SODIUM === '0') return undefined;
  try {
    const sodium = createRequire(import.meta.url)('sodium-native') as Partial<SodiumVerify>;
    return typeof sodium.crypto_sign_verify_detached === 'function' ? (sodium as SodiumVerify) : undefined;
  } catch {
    return undefined;
  }
}

const sodium = loadSodium();

/**
 * The accelerator in front of node:crypto's verify: `'libsodium'` when loaded (see
 * `nodeEd25519.verify`), otherwise `undefined`.
 */
export function ed25519Accelerator(): 'libsodium' | undefined {
  return sodium === undefined ? undefined : 'libsodium';
}

/** libsodium's `true` (see `nodeEd25519.verify`); false when it is not loaded, says no, or fails. */
function sodiumAccepts(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (sodium === undefined || signature.length !== 64 || publicKey.length !== 32) return false;
  try {
    return sodium.crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    // a libsodium failure is OpenSSL's to judge
    return false;
  }
}

export const nodeEd25519: Ed25519Engine = {
  name: 'node',
  publicKey(seed) {
    const der = createPublicKey(privateKeyObject(seed)).export({ format: 'der', type: 'spki' });
    return new Uint8Array(der.subarray(der.length - 32));
  },
  sign(message, seed) {
    let k = privKeyCache.get(seed);
    if (!k) {
      k = privateKeyObject(seed);
      privKeyCache.set(seed, k);
    }
    return new Uint8Array(nodeSign(null, message, k));
  },
  /**
   * node:crypto (OpenSSL) decides; libsodium, when loaded, answers first. Both check the
   * same cofactorless equation (the encoding of S·B − k·A equals R, with S < L), and
   * libsodium rejects more besides (small-order or non-canonical A and R), so a signature
   * it accepts OpenSSL accepts too: its `true` is final, and only its `false` is asked of
   * OpenSSL again. Honest signatures cost one libsodium call (about 60% of OpenSSL's
   * time here), and every answer is OpenSSL's.
   */
  verify(message, signature, publicKey) {
    return sodiumAccepts(message, signature, publicKey) || verifyOpenssl(message, signature, publicKey);
  },
};

/** node:crypto's verify alone (no accelerator): the reference the fast path must agree with. */
export function verifyOpenssl(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  try {
    return nodeVerify(null, message, publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}

let naclLoaded: typeof nacl | undefined;

/** tweetnacl, loaded when its engine is first used (the node engine never loads it). */
function tweetnacl(): typeof nacl {
  naclLoaded ??= createRequire(import.meta.url)('tweetnacl') as typeof nacl;
  return naclLoaded;
}

export const tweetnaclEd25519: Ed25519Engine = {
  name: 'tweetnacl',
  publicKey(seed) {
    return tweetnacl().sign.keyPair.fromSeed(seed).publicKey;
  },
  sign(message, seed) {
    const n = tweetnacl();
    return n.sign.detached(message, n.sign.keyPair.fromSeed(seed).secretKey);
  },
  verify(message, signature, publicKey) {
    if (signature.length !== 64 || publicKey.length !== 32) return false;
    return tweetnacl().sign.detached.verify(message, signature, publicKey);
  },
};

let engine: Ed25519Engine = nodeEd25519;

/** Switches the engine used by `sign`/`verify` (e.g. to tweetnacl where node:crypto lacks Ed25519). */
export function setEd25519Engine(e: Ed25519Engine): void {
  engine = e;
}

export function ed25519Engine(): Ed25519Engine {
  return engine;
}

/** A node's or account's key pair. `seed` is the 32-byte secret; never log it. */
export interface KeyPair {
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
  /** 64 lowercase hex */
  readonly pubKeyHex: string;
  /** SHA-256("xe/account/v1" || pubkey) as 64 lowercase hex */
  readonly address: string;
}

function seedBytes(seed: Uint8Array | string): Uint8Array {
  if (typeof seed === 'string') {
    if (!isHex(seed, 64)) throw new CryptoError(CryptoErrorCodes.INVALID_KEY, 'seed: expected 64 lowercase hex chars');
    return hexToBytes(seed);
  }
  if (!(seed instanceof Uint8Array) || seed.length !== 32) {
    throw new CryptoError(CryptoErrorCodes.INVALID_KEY, 'seed: expected 32 bytes');
  }
  return new Uint8Array(seed);
}

export function keyPairFromSeed(seed: Uint8Array | string): KeyPair {
  const s = seedBytes(seed);
  const publicKey = engine.publicKey(s);
  const pubKeyHex = bytesToHex(publicKey);
  return Object.freeze({ seed: s, publicKey, pubKeyHex, address: deriveAddress(pubKeyHex) });
}

export function generateKeyPair(): KeyPair {
  return keyPairFromSeed(new Uint8Array(randomBytes(32)));
}

const ACCOUNT_TAG = utf8('xe/account/v1');

/** `address = SHA-256("xe/account/v1" || pubkey)`. */
export function deriveAddress(pubKeyHex: string): string {
  if (!isHex(pubKeyHex, 64)) throw new CryptoError(CryptoErrorCodes.INVALID_KEY, 'pub_key: expected 64 lowercase hex chars');
  return bytesToHex(sha256(ACCOUNT_TAG, hexToBytes(pubKeyHex)));
}

export function sign(message: Uint8Array, key: KeyPair): Uint8Array {
  return engine.sign(message, key.seed);
}

export function signHex(message: Uint8Array, key: KeyPair): string {
  return bytesToHex(engine.sign(message, key.seed));
}

/** Verifies a hex signature by a hex public key; malformed input is simply `false`. */
export function verify(message: Uint8Array, signatureHex: string, pubKeyHex: string): boolean {
  if (!isHex(signatureHex, 128) || !isHex(pubKeyHex, 64)) return false;
  return verifyBytes(message, hexToBytes(signatureHex), hexToBytes(pubKeyHex));
}

/** `verify` with the signature (64 bytes) and public key (32 bytes) as bytes; other lengths are `false`. */
export function verifyBytes(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  return engine.verify(message, signature, publicKey);
}
