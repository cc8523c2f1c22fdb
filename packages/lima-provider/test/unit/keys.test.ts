import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_VCPUS } from '@xe/core-types';
import {
  checkResources,
  ed25519PublicFromSeed,
  openSshPrivateKey,
  sshAuthorizedKeyLine,
  vmName,
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
    assert.equal(vmName(`0123456789ab${'f'.repeat(52)}`), 'xe-0123456789ab');
  });
  it('rejects what is not a lease hash', () => {
    assert.equal(code(() => vmName('0123')), 'INVALID_LEASE_HASH');
    assert.equal(code(() => vmName('A'.repeat(64))), 'INVALID_LEASE_HASH');
  });
});

describe('sshAuthorizedKeyLine', () => {
  it('encodes the raw key in the OpenSSH wire format', () => {
    const pub = 'ab'.repeat(32);
    const line = sshAuthorizedKeyLine(pub);
    const [type, b64, comment] = line.split(' ');
    assert.equal(type, 'ssh-ed25519');
    assert.equal(comment, 'xe-lease');
    const blob = Buffer.from(b64!, 'base64');
    assert.equal(blob.readUInt32BE(0), 11);
    assert.equal(blob.subarray(4, 15).toString(), 'ssh-ed25519');
    assert.equal(blob.readUInt32BE(15), 32);
    assert.equal(blob.subarray(19).toString('hex'), pub);
    assert.equal(blob.length, 51);
  });
  it('refuses a key that is not 64 lowercase hex, shell metacharacters included', () => {
    for (const bad of ['ab', 'AB'.repeat(32), `${'a'.repeat(60)}$(x)`, `${'a'.repeat(62)}\n`, `'${'a'.repeat(62)}'`]) {
      assert.equal(code(() => sshAuthorizedKeyLine(bad)), 'INVALID_ACCESS_KEY', bad);
    }
  });
});

describe('openSshPrivateKey', () => {
  it('writes a key file ssh-keygen reads back to the same public key', () => {
    const { seed, pub } = keyPair();
    const text = openSshPrivateKey(seed, pub, 'tester');
    assert.match(text, /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    assert.match(text, /\n-----END OPENSSH PRIVATE KEY-----\n$/);
    const dir = mkdtempSync(join(tmpdir(), 'xe-key-'));
    try {
      const file = join(dir, 'k');
      writeFileSync(file, text, { mode: 0o600 });
      const derived = execFileSync('ssh-keygen', ['-y', '-f', file], { encoding: 'utf8' }).trim();
      const expected = sshAuthorizedKeyLine(Buffer.from(pub).toString('hex')).split(' ').slice(0, 2).join(' ');
      assert.equal(derived.split(' ').slice(0, 2).join(' '), expected);
      assert.equal(derived.split(' ')[2], 'tester');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('derives the public key of a seed', () => {
    const { seed, pub } = keyPair();
    assert.deepEqual(ed25519PublicFromSeed(seed), pub);
  });
  it('refuses a public key that does not belong to the seed, and wrong lengths', () => {
    const a = keyPair();
    const b = keyPair();
    assert.equal(code(() => openSshPrivateKey(a.seed, b.pub)), 'INVALID_ACCESS_KEY');
    assert.equal(code(() => openSshPrivateKey(a.seed.subarray(1), a.pub)), 'INVALID_ACCESS_KEY');
  });
});

describe('checkResources', () => {
  it('accepts integers within the ceilings with at least one non-zero', () => {
    assert.deepEqual(checkResources({ vcpus: 0, memory_mb: 0, disk_gb: 1 }), { vcpus: 0, memory_mb: 0, disk_gb: 1 });
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
      assert.equal(code(() => checkResources(bad)), 'INVALID_RESOURCES', JSON.stringify(bad));
    }
  });
});
