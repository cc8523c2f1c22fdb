import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { generateKeyPair, openSshPrivateKey } from '@xe/crypto';
import { readAccessKeySeed } from '../../src/ssh-key.js';

const dir = mkdtempSync(join(tmpdir(), 'xe-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('access keys', () => {
  it('reads the seed of an OpenSSH key written by the CLI and of one made by ssh-keygen', () => {
    const k = generateKeyPair();
    const f1 = join(dir, 'k1');
    writeFileSync(f1, openSshPrivateKey(k, 'x'), { mode: 0o600 });
    const r1 = readAccessKeySeed(f1);
    expect(Buffer.from(r1.seed).toString('hex')).toBe(Buffer.from(k.seed).toString('hex'));
    expect(r1.publicKeyHex).toBe(k.pubKeyHex);

    const f2 = join(dir, 'k2');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', f2]);
    const r2 = readAccessKeySeed(f2);
    const pubB64 = readFileSync(`${f2}.pub`, 'utf8').split(' ')[1]!;
    const blob = Buffer.from(pubB64, 'base64');
    expect(r2.publicKeyHex).toBe(blob.subarray(blob.length - 32).toString('hex'));
  });

  it('reads a 64-hex seed file', () => {
    const k = generateKeyPair();
    const f = join(dir, 'hex');
    writeFileSync(f, `${Buffer.from(k.seed).toString('hex')}\n`, { mode: 0o600 });
    expect(Buffer.from(readAccessKeySeed(f).seed).equals(Buffer.from(k.seed))).toBe(true);
  });

  it('refuses encrypted and malformed keys with a clear message', () => {
    const f = join(dir, 'enc');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret-pass', '-f', f]);
    expect(() => readAccessKeySeed(f)).toThrow(/encrypted/);
    const g = join(dir, 'junk');
    writeFileSync(g, 'hello');
    expect(() => readAccessKeySeed(g)).toThrow(/not an OpenSSH private key/);
    expect(() => readAccessKeySeed(join(dir, 'missing'))).toThrow(/cannot read access key/);
  });
});
