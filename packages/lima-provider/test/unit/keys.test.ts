import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_VCPUS } from '@xe/core-types';
import {
  checkResources,
  ed25519PublicFromSeed,
  openSshKeyFingerprint,
  openSshPrivateKey,
  sshAuthorizedKeyLine,
  vmName,
  withMinimums,
} from '../../src/index.js';

function keyPair(): { seed: Uint8Array; pub: Uint8Array } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    pub: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(-32)),
    seed: new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32)),
  };
}

function code(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return (err as { code?: unknown }).code;
  }
  return 'no error';
}

describe('vmName', () => {
  it('is xe- and the first 12 hex of the lease hash', () => {
    expect(vmName(`0123456789ab${'f'.repeat(52)}`)).toBe('xe-0123456789ab');
  });
  it('rejects what is not a lease hash', () => {
    expect(code(() => vmName('0123'))).toBe('INVALID_LEASE_HASH');
    expect(code(() => vmName('A'.repeat(64)))).toBe('INVALID_LEASE_HASH');
  });
});

describe('sshAuthorizedKeyLine', () => {
  it('encodes the raw key in the OpenSSH wire format', () => {
    const pub = 'ab'.repeat(32);
    const line = sshAuthorizedKeyLine(pub);
    const [type, b64, comment] = line.split(' ');
    expect(type).toBe('ssh-ed25519');
    expect(comment).toBe('xe-lease');
    const blob = Buffer.from(b64!, 'base64');
    expect(blob.readUInt32BE(0)).toBe(11);
    expect(blob.subarray(4, 15).toString()).toBe('ssh-ed25519');
    expect(blob.readUInt32BE(15)).toBe(32);
    expect(blob.subarray(19).toString('hex')).toBe(pub);
    expect(blob.length).toBe(51);
  });
  it('refuses a key that is not 64 lowercase hex, shell metacharacters included', () => {
    for (const bad of ['ab', 'AB'.repeat(32), `${'a'.repeat(60)}$(x)`, `${'a'.repeat(62)}\n`, `'${'a'.repeat(62)}'`]) {
      expect(code(() => sshAuthorizedKeyLine(bad))).toBe('INVALID_ACCESS_KEY');
    }
  });
});

describe('openSshPrivateKey', () => {
  it('writes a key file ssh-keygen reads back to the same public key', () => {
    const { seed, pub } = keyPair();
    const text = openSshPrivateKey(seed, pub, 'tester');
    expect(text).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    expect(text).toMatch(/\n-----END OPENSSH PRIVATE KEY-----\n$/);
    const dir = mkdtempSync(join(tmpdir(), 'xe-key-'));
    try {
      const file = join(dir, 'k');
      writeFileSync(file, text, { mode: 0o600 });
      const derived = execFileSync('ssh-keygen', ['-y', '-f', file], { encoding: 'utf8' }).trim();
      const expected = sshAuthorizedKeyLine(Buffer.from(pub).toString('hex')).split(' ').slice(0, 2).join(' ');
      expect(derived.split(' ').slice(0, 2).join(' ')).toBe(expected);
      expect(derived.split(' ')[2]).toBe('tester');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('derives the public key of a seed', () => {
    const { seed, pub } = keyPair();
    expect(ed25519PublicFromSeed(seed)).toEqual(pub);
  });
  it('refuses a public key that does not belong to the seed, and wrong lengths', () => {
    const a = keyPair();
    const b = keyPair();
    expect(code(() => openSshPrivateKey(a.seed, b.pub))).toBe('INVALID_ACCESS_KEY');
    expect(code(() => openSshPrivateKey(a.seed.subarray(1), a.pub))).toBe('INVALID_ACCESS_KEY');
  });
});

describe('checkResources', () => {
  it('accepts integers within the ceilings with at least one non-zero', () => {
    expect(checkResources({ vcpus: 0, memory_mb: 0, disk_gb: 1 })).toEqual({ vcpus: 0, memory_mb: 0, disk_gb: 1 });
  });
  it('rejects zero, negative, fractional, oversized and missing values', () => {
    for (const bad of [
      { vcpus: 0, memory_mb: 0, disk_gb: 0 },
      { vcpus: -1, memory_mb: 1, disk_gb: 1 },
      { vcpus: 1.5, memory_mb: 1, disk_gb: 1 },
      { vcpus: MAX_VCPUS + 1, memory_mb: 1, disk_gb: 1 },
      { vcpus: 1, memory_mb: 1 },
      null,
    ]) {
      expect(code(() => checkResources(bad))).toBe('INVALID_RESOURCES');
    }
  });
});

describe('fingerprints and minimums', () => {
  it('the fingerprint of an OpenSSH private key file is the one ssh-keygen -l prints', () => {
    const { seed, pub } = keyPair();
    const dir = mkdtempSync(join(tmpdir(), 'xe-fp-'));
    try {
      const file = join(dir, 'k');
      const text = openSshPrivateKey(seed, pub, 'c');
      writeFileSync(file, text, { mode: 0o600 });
      const printed = execFileSync('ssh-keygen', ['-l', '-f', file], { encoding: 'utf8' }).split(' ')[1];
      expect(openSshKeyFingerprint(text)).toBe(printed);
      expect(openSshKeyFingerprint('not a key')).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('a zero lease gets 1 vCPU, 128 MiB and the minimum disk; others are kept', () => {
    expect(withMinimums({ vcpus: 0, memory_mb: 0, disk_gb: 0 }, 1)).toEqual({ vcpus: 1, memory_mb: 128, disk_gb: 1 });
    expect(withMinimums({ vcpus: 2, memory_mb: 512, disk_gb: 3 }, 1)).toEqual({ vcpus: 2, memory_mb: 512, disk_gb: 3 });
  });
});
