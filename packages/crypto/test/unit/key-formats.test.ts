import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import {
  generateKeyPair,
  isOpenSshPrivateKey,
  openSshPrivateKey,
  readOpenSshPrivateKey,
  sshAuthorizedKeyLine,
  sshFingerprint,
  sshPublicKeyBlob,
} from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'xe-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('OpenSSH key formats', () => {
  it('writes a private key ssh-keygen reads, with the public key and fingerprint ssh-keygen derives', () => {
    const k = generateKeyPair();
    const f = join(dir, 'ours');
    writeFileSync(f, openSshPrivateKey(k, 'xe-lease'), { mode: 0o600 });
    const pubLine = execFileSync('ssh-keygen', ['-y', '-f', f], { encoding: 'utf8' }).trim();
    expect(pubLine.split(' ').slice(0, 2).join(' ')).toBe(sshAuthorizedKeyLine(k.pubKeyHex, ''));
    expect(sshAuthorizedKeyLine(k.pubKeyHex)).toBe(`${sshAuthorizedKeyLine(k.pubKeyHex, '')} xe-lease`);
    const fp = execFileSync('ssh-keygen', ['-l', '-f', f], { encoding: 'utf8' }).split(' ')[1];
    expect(sshFingerprint(sshPublicKeyBlob(k.publicKey))).toBe(fp);
  });

  it('reads back what it writes and what ssh-keygen writes', () => {
    const k = generateKeyPair();
    const r = readOpenSshPrivateKey(openSshPrivateKey(k));
    expect(Buffer.from(r.seed).equals(Buffer.from(k.seed))).toBe(true);
    expect(r.pubKeyHex).toBe(k.pubKeyHex);

    const f = join(dir, 'theirs');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', f]);
    const text = readFileSync(f, 'utf8');
    expect(isOpenSshPrivateKey(text)).toBe(true);
    const blob = Buffer.from(readFileSync(`${f}.pub`, 'utf8').split(' ')[1]!, 'base64');
    expect(readOpenSshPrivateKey(text).pubKeyHex).toBe(blob.subarray(blob.length - 32).toString('hex'));
  });

  it('refuses encrypted, foreign and truncated keys with INVALID_KEY and the reason', () => {
    const f = join(dir, 'enc');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret-pass', '-f', f]);
    expect(() => readOpenSshPrivateKey(readFileSync(f, 'utf8'))).toThrow(expect.objectContaining({ code: 'INVALID_KEY', message: expect.stringContaining('encrypted') }));
    expect(() => readOpenSshPrivateKey('hello')).toThrow(expect.objectContaining({ code: 'INVALID_KEY', message: expect.stringContaining('not an OpenSSH private key') }));
    const whole = openSshPrivateKey(generateKeyPair());
    const body = whole.split('\n').slice(1, -2).join('');
    const cut = `-----BEGIN OPENSSH PRIVATE KEY-----\n${body.slice(0, 120)}\n-----END OPENSSH PRIVATE KEY-----\n`;
    expect(() => readOpenSshPrivateKey(cut)).toThrow(expect.objectContaining({ code: 'INVALID_KEY', message: expect.stringContaining('truncated') }));
    expect(() => openSshPrivateKey({ seed: new Uint8Array(31), publicKey: new Uint8Array(32) })).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
  });
});
