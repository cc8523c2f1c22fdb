import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_VCPUS } from '@xe/core-types';
import { authorizedKeyLineFor, checkResources, hostPublicKeyLine, makeSshKey, sshKeyFingerprint, sshKeyLineFingerprint, vmName, withMinimums } from '../../src/index.js';

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

describe('authorizedKeyLineFor', () => {
  // A key line as OpenSSH writes it (the injected writer's output in the node is @xe/crypto's).
  let line = '';
  let pubHex = '';
  const dir = mkdtempSync(join(tmpdir(), 'xe-akl-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'xe-lease', '-f', join(dir, 'k')]);
  line = readFileSync(join(dir, 'k.pub'), 'utf8').trim();
  pubHex = Buffer.from(line.split(' ')[1]!, 'base64').subarray(-32).toString('hex');
  rmSync(dir, { recursive: true, force: true });

  it('passes the writer the checked hex key and returns its line', () => {
    const seen: string[] = [];
    expect(authorizedKeyLineFor((h) => {
        seen.push(h);
        return line;
      }, pubHex)).toBe(line);
    expect(seen).toEqual([pubHex]);
  });
  it('without a writer: INVALID_OPTION', () => {
    expect(code(() => authorizedKeyLineFor(undefined, pubHex))).toBe('INVALID_OPTION');
  });
  it('a key that is not 64 lowercase hex never reaches the writer', () => {
    for (const bad of ['abcd', pubHex.toUpperCase(), `${'a'.repeat(56)}';id;#'`]) {
      expect(code(() => authorizedKeyLineFor(() => line, bad))).toBe('INVALID_ACCESS_KEY');
    }
  });
  it('refuses a line for another key, another type, several lines or an unsafe comment', () => {
    const other = `${pubHex.slice(0, -2)}${pubHex.endsWith('00') ? '01' : '00'}`;
    const [type, b64] = line.split(' ');
    for (const bad of [
      `${type} ${b64}\n${type} ${b64}`,
      `ssh-rsa ${b64}`,
      `${type} ${b64} it's`,
      `${type} ${b64} $(id)`,
      `${type} ${b64.slice(4)}`,
      '',
    ]) {
      expect(code(() => authorizedKeyLineFor(() => bad, pubHex))).toBe('INVALID_ACCESS_KEY');
    }
    expect(code(() => authorizedKeyLineFor(() => line, other))).toBe('INVALID_ACCESS_KEY');
    expect(authorizedKeyLineFor(() => `${type} ${b64}`, pubHex)).toBe(`${type} ${b64}`);
  });
});

describe('ssh-keygen helpers', () => {
  it('makeSshKey makes an Ed25519 pair once; sshKeyFingerprint is what ssh-keygen -l prints, also for a known_hosts line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xe-fp-'));
    try {
      const file = join(dir, 'k');
      await makeSshKey('ssh-keygen', file, 'root@xe-test');
      const pub = readFileSync(`${file}.pub`, 'utf8');
      expect(pub).toMatch(/^ssh-ed25519 [A-Za-z0-9+/]{68} root@xe-test\n$/);
      expect(statSync(file).mode & 0o077).toBe(0);
      await makeSshKey('ssh-keygen', file, 'again');
      expect(readFileSync(`${file}.pub`, 'utf8')).toBe(pub); // kept
      const printed = execFileSync('ssh-keygen', ['-l', '-f', file], { encoding: 'utf8' }).split(' ')[1];
      expect(await sshKeyFingerprint('ssh-keygen', `${file}.pub`)).toBe(printed);
      writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:2222 ${pub.split(' ').slice(0, 2).join(' ')}\n`);
      expect(await sshKeyFingerprint('ssh-keygen', join(dir, 'known_hosts'))).toBe(printed);
      writeFileSync(join(dir, 'junk'), 'not a key\n');
      expect(await sshKeyFingerprint('ssh-keygen', join(dir, 'junk'))).toBeUndefined();
      // The public-key line (no comment) from a .pub file, a known_hosts or ssh-keyscan line; its fingerprint from stdin.
      const line = pub.split(' ').slice(0, 2).join(' ');
      expect(hostPublicKeyLine(pub)).toBe(line);
      expect(hostPublicKeyLine(`[127.0.0.1]:2222 ${line}\n`)).toBe(line);
      expect(hostPublicKeyLine(`# 127.0.0.1:22 SSH-2.0-OpenSSH\n127.0.0.1 ${line}\n`)).toBe(line);
      for (const bad of ['', 'not a key', `ssh-rsa ${line.slice(12)}`, `${line.slice(0, -1)}`, `${line}=`, `a b ${line}`]) {
        expect(hostPublicKeyLine(bad)).toBeUndefined();
      }
      expect(await sshKeyLineFingerprint('ssh-keygen', line)).toBe(printed);
      expect(await sshKeyLineFingerprint('ssh-keygen', 'not a key')).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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

describe('minimums', () => {
  it('a zero lease gets 1 vCPU, 128 MiB and the minimum disk; others are kept', () => {
    expect(withMinimums({ vcpus: 0, memory_mb: 0, disk_gb: 0 }, 1)).toEqual({ vcpus: 1, memory_mb: 128, disk_gb: 1 });
    expect(withMinimums({ vcpus: 2, memory_mb: 512, disk_gb: 3 }, 1)).toEqual({ vcpus: 2, memory_mb: 512, disk_gb: 3 });
  });
});
