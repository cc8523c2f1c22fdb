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
  const fail = (why: string): never => {
    throw new NodeError(NodeErrorCodes.CLIENT, `${path}: unsupported OpenSSH key: ${why}`);
  };
  const magic = 'openssh-key-v1\0';
  if (buf.subarray(0, magic.length).toString('latin1') !== magic) fail('bad magic');
  const outer = new WireReader(buf.subarray(magic.length), fail);
  if (outer.str().toString() !== 'none') fail('the key is encrypted (make one without a passphrase)');
  outer.str(); // kdf name
  outer.str(); // kdf options
  if (outer.u32() !== 1) fail('expected exactly one key');
  outer.str(); // public key blob
  const sec = new WireReader(outer.str(), fail);
  const check1 = sec.u32();
  if (sec.u32() !== check1) fail('check words differ (encrypted?)');
  if (sec.str().toString() !== 'ssh-ed25519') fail('not an ed25519 key');
  const pub = sec.str();
  const secret = sec.str();
  if (pub.length !== 32 || secret.length !== 64) fail('bad ed25519 key lengths');
  return { seed: new Uint8Array(secret.subarray(0, 32)), publicKeyHex: bytesToHex(new Uint8Array(pub)) };
}

/** Reads SSH wire-format integers and length-prefixed strings, failing on truncation. */
class WireReader {
  private pos = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly fail: (why: string) => never,
  ) {}

  u32(): number {
    if (this.pos + 4 > this.buf.length) this.fail('truncated');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  str(): Buffer {
    const n = this.u32();
    if (this.pos + n > this.buf.length) this.fail('truncated');
    const s = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}
