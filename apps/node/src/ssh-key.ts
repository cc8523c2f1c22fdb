import { readFileSync } from 'node:fs';
import { isHex } from '@xe/core-types';
import { readOpenSshPrivateKey } from '@xe/crypto';
import { NodeError, NodeErrorCodes } from './errors.js';

/**
 * Reads the Ed25519 seed of a lease access key: either an unencrypted OpenSSH private key
 * (`-----BEGIN OPENSSH PRIVATE KEY-----`, as written by `xe-node keys new --access` or
 * `ssh-keygen -t ed25519 -N ''`; read by @xe/crypto's key formats) or a file holding the
 * 64-hex seed.
 */
export function readAccessKeySeed(path: string): { seed: Uint8Array; publicKeyHex: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new NodeError(NodeErrorCodes.CLIENT, `cannot read access key ${path}: ${(err as Error).message}`);
  }
  const trimmed = text.trim();
  if (isHex(trimmed, 64)) return { seed: new Uint8Array(Buffer.from(trimmed, 'hex')), publicKeyHex: '' };
  try {
    const key = readOpenSshPrivateKey(text);
    return { seed: key.seed, publicKeyHex: key.pubKeyHex };
  } catch (err) {
    throw new NodeError(NodeErrorCodes.CLIENT, `${path}: ${(err as Error).message}`, { cause: err });
  }
}
