import { readFileSync } from 'node:fs';
import { bytesToHex, isHex } from '@xe/core-types';
import { NodeError, NodeErrorCodes } from './errors.js';

/**
 * Reads the Ed25519 seed of a lease access key: either an unencrypted OpenSSH private key
 * (`-----BEGIN OPENSSH PRIVATE KEY-----`, as written by `xe-node keys new --access` or
 * `ssh-keygen -t ed25519 -N ''`) or a file holding the 64-hex seed.
 */
export function readAccessKeySeed(path: string): { seed: Uint8Array; publicKeyHex: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new NodeError(NodeErrorCodes.CLIENT, `cannot read access key ${path}: ${(err as Error).message}`);
  }
  const trimmed = text.trim();
  if (isHex(trimmed, 64)) {
    const seed = Buffer.from(trimmed, 'hex');
    return { seed: new Uint8Array(seed), publicKeyHex: '' };
  }
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]+?)-----END OPENSSH PRIVATE KEY-----/.exec(text);
  if (!m) throw new NodeError(NodeErrorCodes.CLIENT, `${path}: not an OpenSSH private key (expected an unencrypted ed25519 key)`);
  const buf = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  let pos = 0;
  const fail = (why: string): never => {
    throw new NodeError(NodeErrorCodes.CLIENT, `${path}: unsupported OpenSSH key: ${why}`);
  };
  const magic = 'openssh-key-v1\0';
  if (buf.subarray(0, magic.length).toString('latin1') !== magic) fail('bad magic');
  pos = magic.length;
  const u32 = () => {
    if (pos + 4 > buf.length) fail('truncated');
    const v = buf.readUInt32BE(pos);
    pos += 4;
    return v;
  };
  const str = () => {
    const n = u32();
    if (pos + n > buf.length) fail('truncated');
    const s = buf.subarray(pos, pos + n);
    pos += n;
    return s;
  };
  if (str().toString() !== 'none') fail('the key is encrypted (make one without a passphrase)');
  str(); // kdf name
  str(); // kdf options
  if (u32() !== 1) fail('expected exactly one key');
  str(); // public key blob
  const sec = str();
  // the private section
  let p = 0;
  const su32 = () => {
    if (p + 4 > sec.length) fail('truncated private section');
    const v = sec.readUInt32BE(p);
    p += 4;
    return v;
  };
  const sstr = () => {
    const n = su32();
    if (p + n > sec.length) fail('truncated private section');
    const s = sec.subarray(p, p + n);
    p += n;
    return s;
  };
  if (su32() !== su32()) fail('check words differ (encrypted?)');
  if (sstr().toString() !== 'ssh-ed25519') fail('not an ed25519 key');
  const pub = sstr();
  const secret = sstr();
  if (pub.length !== 32 || secret.length !== 64) fail('bad ed25519 key lengths');
  return { seed: new Uint8Array(secret.subarray(0, 32)), publicKeyHex: bytesToHex(new Uint8Array(pub)) };
}
