import { createHash } from 'node:crypto';
import { bytesToHex, hexToBytes, isHex } from '@xe/core-types';
import { CryptoError, CryptoErrorCodes } from './errors.js';

/**
 * Ed25519 key formats: the DER wrappers node:crypto reads (PKCS#8, SPKI) and the OpenSSH
 * files and lines ssh reads (`authorized_keys`, `-----BEGIN OPENSSH PRIVATE KEY-----`).
 * The one place these byte layouts are written down.
 */

/** PKCS#8 `PrivateKeyInfo` of an Ed25519 key, up to its 32-byte seed (RFC 8410). */
export const ED25519_PKCS8_PREFIX: Uint8Array = hexToBytes('302e020100300506032b657004220420');
/** SPKI `SubjectPublicKeyInfo` of an Ed25519 key, up to its 32-byte public key (RFC 8410). */
export const ED25519_SPKI_PREFIX: Uint8Array = hexToBytes('302a300506032b6570032100');

function withPrefix(prefix: Uint8Array, key: Uint8Array, what: string): Buffer {
  if (key.length !== 32) throw new CryptoError(CryptoErrorCodes.INVALID_KEY, `${what}: expected 32 bytes`);
  return Buffer.concat([prefix, key]);
}

/** The PKCS#8 DER of an Ed25519 seed (for `createPrivateKey({format: 'der', type: 'pkcs8'})`). */
export function ed25519Pkcs8Der(seed: Uint8Array): Buffer {
  return withPrefix(ED25519_PKCS8_PREFIX, seed, 'seed');
}

/** The SPKI DER of an Ed25519 public key (for `createPublicKey({format: 'der', type: 'spki'})`). */
export function ed25519SpkiDer(publicKey: Uint8Array): Buffer {
  return withPrefix(ED25519_SPKI_PREFIX, publicKey, 'public key');
}

const SSH_ED25519 = 'ssh-ed25519';
const OPENSSH_MAGIC = 'openssh-key-v1\0';
const PEM_RE = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]+?)-----END OPENSSH PRIVATE KEY-----/;

function sshString(data: Uint8Array | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

/** The SSH wire blob of an Ed25519 public key: `string "ssh-ed25519" || string pub`. */
export function sshPublicKeyBlob(publicKey: Uint8Array): Buffer {
  if (publicKey.length !== 32) throw new CryptoError(CryptoErrorCodes.INVALID_KEY, 'public key: expected 32 bytes');
  return Buffer.concat([sshString(SSH_ED25519), sshString(publicKey)]);
}

/** One `authorized_keys` line for an Ed25519 public key (hex): `ssh-ed25519 <base64> <comment>`. */
export function sshAuthorizedKeyLine(pubKeyHex: string, comment = 'xe-lease'): string {
  if (!isHex(pubKeyHex, 64)) throw new CryptoError(CryptoErrorCodes.INVALID_KEY, 'pub_key: expected 64 lowercase hex chars');
  return `${SSH_ED25519} ${sshPublicKeyBlob(hexToBytes(pubKeyHex)).toString('base64')}${comment ? ` ${comment}` : ''}`;
}

/** `SHA256:<base64 without padding>` of an SSH public key blob, as `ssh-keygen -l` prints it. */
export function sshFingerprint(publicKeyBlob: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * An unencrypted OpenSSH private key file for an Ed25519 key pair (32-byte seed, 32-byte
 * public key), as `ssh-keygen -t ed25519 -N ''` writes one.
 */
export function openSshPrivateKey(key: { seed: Uint8Array; publicKey: Uint8Array }, comment = ''): string {
  const { seed, publicKey } = key;
  if (seed.length !== 32 || publicKey.length !== 32) {
    throw new CryptoError(CryptoErrorCodes.INVALID_KEY, 'an Ed25519 seed and public key are 32 bytes each');
  }
  const pubBlob = sshPublicKeyBlob(publicKey);
  // The check words only let a reader detect a wrong passphrase; any fixed value will do.
  const check = createHash('sha256').update(publicKey).digest().subarray(0, 4);
  let priv = Buffer.concat([
    check,
    check,
    sshString(SSH_ED25519),
    sshString(publicKey),
    sshString(Buffer.concat([seed, publicKey])),
    sshString(comment),
  ]);
  const pad: number[] = [];
  for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
  priv = Buffer.concat([priv, Buffer.from(pad)]);
  const body = Buffer.concat([
    Buffer.from(OPENSSH_MAGIC, 'latin1'),
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

/** Reads SSH wire-format integers and length-prefixed strings, failing on truncation. */
class WireReader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  u32(): number {
    if (this.pos + 4 > this.buf.length) throw unsupported('truncated');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  str(): Buffer {
    const n = this.u32();
    if (this.pos + n > this.buf.length) throw unsupported('truncated');
    const s = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}

function unsupported(why: string): CryptoError {
  return new CryptoError(CryptoErrorCodes.INVALID_KEY, `unsupported OpenSSH key: ${why}`);
}

/** True when `text` holds an OpenSSH private key block (encrypted or not). */
export function isOpenSshPrivateKey(text: string): boolean {
  return PEM_RE.test(text);
}

/**
 * The Ed25519 seed and public key of an unencrypted OpenSSH private key file. Throws
 * INVALID_KEY (with the reason) for anything else: another key type, an encrypted key,
 * several keys, a truncated or inconsistent file.
 */
export function readOpenSshPrivateKey(text: string): { seed: Uint8Array; publicKey: Uint8Array; pubKeyHex: string } {
  const m = PEM_RE.exec(text);
  if (!m) throw new CryptoError(CryptoErrorCodes.INVALID_KEY, 'not an OpenSSH private key (expected an unencrypted ed25519 key)');
  const buf = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  if (buf.subarray(0, OPENSSH_MAGIC.length).toString('latin1') !== OPENSSH_MAGIC) throw unsupported('bad magic');
  const outer = new WireReader(buf.subarray(OPENSSH_MAGIC.length));
  if (outer.str().toString() !== 'none') throw unsupported('the key is encrypted (make one without a passphrase)');
  outer.str(); // kdf name
  outer.str(); // kdf options
  if (outer.u32() !== 1) throw unsupported('expected exactly one key');
  outer.str(); // public key blob
  const sec = new WireReader(outer.str());
  const check1 = sec.u32();
  if (sec.u32() !== check1) throw unsupported('check words differ (encrypted?)');
  if (sec.str().toString() !== SSH_ED25519) throw unsupported('not an ed25519 key');
  const pub = sec.str();
  const secret = sec.str();
  if (pub.length !== 32 || secret.length !== 64) throw unsupported('bad ed25519 key lengths');
  const publicKey = new Uint8Array(pub);
  return { seed: new Uint8Array(secret.subarray(0, 32)), publicKey, pubKeyHex: bytesToHex(publicKey) };
}
