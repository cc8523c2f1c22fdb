import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  canonicalHostKey,
  keyPairFromSeed,
  MAX_HOST_PUBLIC_KEY_CHARS,
  signVmHostKey,
  sshAuthorizedKeyLine,
  verifyVmHostKey,
  vmHostKeyDigest,
} from '../../src/index.js';
import { LEASE_HASH, provider, seedOf } from '../support/fixtures.js';

/** The VM's host key, as ssh-keygen writes its `.pub` (without the comment). */
const HOST_KEY = sshAuthorizedKeyLine(keyPairFromSeed(seedOf(0x71)).pubKeyHex, '');
const OTHER_KEY = sshAuthorizedKeyLine(keyPairFromSeed(seedOf(0x72)).pubKeyHex, '');

describe('VM host key signatures', () => {
  it('digest = SHA-256("xe/vmhostkey/v1" || lease hash bytes || u64be(len) || key line bytes)', () => {
    const len = Buffer.alloc(8);
    len.writeBigUInt64BE(BigInt(Buffer.byteLength(HOST_KEY)));
    const expected = createHash('sha256').update('xe/vmhostkey/v1').update(Buffer.from(LEASE_HASH, 'hex')).update(len).update(HOST_KEY).digest('hex');
    expect(Buffer.from(vmHostKeyDigest(LEASE_HASH, HOST_KEY)).toString('hex')).toBe(expected);
    // a fixed vector for other implementations: lease hash 0xee…ee, the host key of seed 0x71…71
    expect(HOST_KEY).toBe('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOL+Kjm3MmZCgn1tgtSXYizWwpf+eCcOqkNrAfCGtvPL');
    expect(expected).toBe('99d852119bd0d59980d964c01fd230864c3539018b50e8ec89fc6743a311d877');
  });

  it("verifies under the provider's key only, for that lease and that key", () => {
    const sig = signVmHostKey(provider, LEASE_HASH, HOST_KEY);
    expect(sig).toMatch(/^[0-9a-f]{128}$/);
    expect(verifyVmHostKey(LEASE_HASH, HOST_KEY, sig, provider.pubKeyHex)).toBe(true);
    expect(verifyVmHostKey(LEASE_HASH, OTHER_KEY, sig, provider.pubKeyHex)).toBe(false);
    expect(verifyVmHostKey('f'.repeat(64), HOST_KEY, sig, provider.pubKeyHex)).toBe(false);
    expect(verifyVmHostKey(LEASE_HASH, HOST_KEY, sig, keyPairFromSeed(seedOf(0x43)).pubKeyHex)).toBe(false);
    expect(verifyVmHostKey(LEASE_HASH, HOST_KEY, sig.toUpperCase(), provider.pubKeyHex)).toBe(false);
    expect(verifyVmHostKey(LEASE_HASH, `${HOST_KEY} root@vm`, sig, provider.pubKeyHex)).toBe(false);
    expect(verifyVmHostKey(LEASE_HASH, HOST_KEY, '', provider.pubKeyHex)).toBe(false);
    expect(verifyVmHostKey(LEASE_HASH, HOST_KEY, sig, 'zz')).toBe(false);
  });

  it('signs only a canonical key line and a well-formed lease hash, with coded errors', () => {
    for (const bad of [`${HOST_KEY} comment`, ` ${HOST_KEY}`, `${HOST_KEY}\n`, 'ssh-ed25519', '', 'ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOL+Kjm3MmZCgn1tgtSXYizWwpf+eCcOqkNrAfCGtvPL']) {
      expect(() => signVmHostKey(provider, LEASE_HASH, bad)).toThrow(expect.objectContaining({ code: 'INVALID_FIELD', field: 'host_public_key' }));
    }
    expect(() => vmHostKeyDigest('E'.repeat(64), HOST_KEY)).toThrow(expect.objectContaining({ code: 'INVALID_FIELD', field: 'lease_hash' }));
  });

  it('canonicalHostKey drops the comment and refuses what is not one key line', () => {
    expect(canonicalHostKey(`${HOST_KEY} root@xe-0123\n`)).toBe(HOST_KEY);
    expect(canonicalHostKey(HOST_KEY)).toBe(HOST_KEY);
    // the blob names another key type than the line
    expect(canonicalHostKey(HOST_KEY.replace('ssh-ed25519', 'ssh-rsa'))).toBeUndefined();
    expect(canonicalHostKey('ssh-ed25519 AAAA*AAA')).toBeUndefined();
    expect(canonicalHostKey('ssh-ed25519 AAA')).toBeUndefined();
    expect(canonicalHostKey('just-one-field')).toBeUndefined();
    expect(canonicalHostKey(`ssh-ed25519 ${'A'.repeat(MAX_HOST_PUBLIC_KEY_CHARS)}`)).toBeUndefined();
  });
});
