import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { parseGenesisBundle, parseJson } from '@xe/core-types';
import { deriveAddress, keyPairFromSeed, signVmHostKey, sshAuthorizedKeyLine, verifyBlockSignature } from '@xe/crypto';
import { operatorToken, UsageError } from '../../src/cli/common.js';
import { checkVmHostKey } from '../../src/cli/host-key.js';
import { runCli } from '../support/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'xe-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('xe-node CLI', () => {
  it.each(['', 'start', 'keys', 'genesis', 'devnet', 'send', 'balance', 'lease', 'ssh'])('%s --help prints usage with an example', async (cmd) => {
    const r = await runCli([...(cmd ? [cmd] : []), '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/xe-node/);
    expect(r.stdout).toMatch(/Example/);
  });

  it('an unknown command or flag says what to do', async () => {
    const a = await runCli(['lese']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/unknown command "lese"/);
    const b = await runCli(['start', '--api-prot', '1']);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/CONFIG_INVALID.*--api-prot.*--help/);
    const c = await runCli(['lease', 'show', 'XYZ']);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/LEASE_HASH: expected 64 lowercase hex/);
    const d = await runCli(['balance', '--node', 'http://127.0.0.1:9'], { timeoutMs: 20_000 });
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/cannot reach the node at http:\/\/127\.0\.0\.1:9/);
  });

  it('keys new writes a node key (0600) and prints its identity', async () => {
    const f = join(dir, 'node.key');
    const r = await runCli(['keys', 'new', '--out', f]);
    expect(r.code).toBe(0);
    const id = parseJson(r.stdout) as { pub_key: string; address: string; peer_id: string };
    expect(id.address).toBe(deriveAddress(id.pub_key));
    expect(id.peer_id).toMatch(/^12D3KooW/);
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(readFileSync(f, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
    const again = await runCli(['keys', 'new', '--out', f]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists; pass --force/);
  });

  it('keys new --access writes an OpenSSH pair that ssh-keygen reads, and prints the access_pub_key', async () => {
    const f = join(dir, 'lease');
    const r = await runCli(['keys', 'new', '--access', '--out', f]);
    expect(r.code).toBe(0);
    const pub = r.stdout.trim();
    expect(pub).toMatch(/^[0-9a-f]{64}$/);
    const derived = execFileSync('ssh-keygen', ['-y', '-f', f], { encoding: 'utf8' }).trim();
    expect(readFileSync(`${f}.pub`, 'utf8').trim().startsWith(derived.split(' ').slice(0, 2).join(' '))).toBe(true);
    const blob = Buffer.from(derived.split(' ')[1]!, 'base64');
    expect(blob.subarray(blob.length - 32).toString('hex')).toBe(pub);
  });

  it('genesis new makes a valid bundle with allocations and treasury keys', async () => {
    const tk = parseJson((await runCli(['keys', 'new', '--out', join(dir, 'tk.key')])).stdout) as { pub_key: string };
    const out = join(dir, 'genesis.json');
    const alice = 'a1'.repeat(32);
    const r = await runCli([
      'genesis', 'new', '--network-id', 'testnet-x', '--timekeeper', tk.pub_key, '--difficulty', 'ff00000000000000', '--devnet-timing',
      '--alloc', `${alice}:XUSD:12.5`, '--representative', `${alice}:3`, '--representative', 'b2'.repeat(32), '--quorum', '60', '--out', out,
    ]);
    expect(r.stderr).toMatch(/genesis bundle written/);
    expect(r.code).toBe(0);
    const bundle = parseGenesisBundle(readFileSync(out, 'utf8'));
    expect(bundle.network_id).toBe('testnet-x');
    expect(bundle.timekeepers).toEqual({ keys: [tk.pub_key], threshold: 1 });
    expect(bundle.lease.min_duration_secs).toBe(5n);
    expect(bundle.finality).toEqual({ representatives: [{ address: alice, weight: 3n }, { address: 'b2'.repeat(32), weight: 1n }], quorum_pct: 60 });
    expect(bundle.blocks.map((b) => b.type)).toEqual(['genesis', 'genesis', 'send']);
    const send = bundle.blocks[2]!;
    expect(send).toMatchObject({ type: 'send', destination: alice, amount: 12_500_000n, asset: 'XUSD' });
    const treasury = readFileSync(join(dir, 'treasury-XUSD.key'), 'utf8').trim();
    const { keyPairFromSeed } = await import('@xe/crypto');
    expect(verifyBlockSignature(send, keyPairFromSeed(treasury).pubKeyHex, 'testnet-x')).toBe(true);

    const bad = await runCli(['genesis', 'new', '--network-id', 'x', '--timekeeper', 'nothex', '--out', join(dir, 'g2.json')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--timekeeper: expected a 64-hex public key/);
    const noRep = await runCli(['genesis', 'new', '--network-id', 'x', '--timekeeper', tk.pub_key, '--out', join(dir, 'g3.json')]);
    expect(noRep.code).toBe(2);
    expect(noRep.stderr).toMatch(/at least one --representative/);
  });
});

describe("xe-node ssh: the VM host key check", () => {
  const provider = keyPairFromSeed(new Uint8Array(32).fill(0x42));
  const lease = 'e'.repeat(64);
  const key = sshAuthorizedKeyLine(keyPairFromSeed(new Uint8Array(32).fill(0x71)).pubKeyHex, '');
  const other = sshAuthorizedKeyLine(keyPairFromSeed(new Uint8Array(32).fill(0x72)).pubKeyHex, '');
  const signature = signVmHostKey(provider, lease, key);

  it("returns the key only when the lease provider's signature verifies", () => {
    expect(checkVmHostKey(lease, { host_public_key: key, host_key_signature: signature }, provider.pubKeyHex)).toBe(key);
    const refused = [
      [{}, 'VM_HOST_KEY_MISSING'],
      [{ host_public_key: key }, 'VM_HOST_KEY_MISSING'],
      [{ host_public_key: other, host_key_signature: signature }, 'VM_HOST_KEY_INVALID'],
      [{ host_public_key: key, host_key_signature: signVmHostKey(keyPairFromSeed(new Uint8Array(32).fill(0x43)), lease, key) }, 'VM_HOST_KEY_INVALID'],
      [{ host_public_key: `${key} root@vm`, host_key_signature: signature }, 'VM_HOST_KEY_INVALID'],
    ] as const;
    for (const [vm, code] of refused) expect(() => checkVmHostKey(lease, vm, provider.pubKeyHex)).toThrow(expect.objectContaining({ code }));
    expect(() => checkVmHostKey('f'.repeat(64), { host_public_key: key, host_key_signature: signature }, provider.pubKeyHex)).toThrow(expect.objectContaining({ code: 'VM_HOST_KEY_INVALID' }));
  });
});

describe('operator token of the client commands', () => {
  const file = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text, { mode: 0o600 });
    return f;
  };

  it("comes from --token-file, else $XE_OPERATOR_TOKEN, else the file named by $XE_OPERATOR_TOKEN_FILE, else the data dir's operator-token", () => {
    const tf = file('token-a', `${'a'.repeat(32)}\n`);
    const ef = file('token-b', 'b'.repeat(32));
    const dataDir = mkdtempSync(join(dir, 'data-'));
    const noDataDir = { XE_DATA_DIR: join(dir, 'no-such-dir') };
    const env = { ...noDataDir, XE_OPERATOR_TOKEN: 'c'.repeat(32), XE_OPERATOR_TOKEN_FILE: ef };
    expect(operatorToken({ tokenFile: tf }, 'lease cancel', env)).toBe('a'.repeat(32));
    expect(operatorToken({}, 'lease cancel', env)).toBe('c'.repeat(32));
    expect(operatorToken({}, 'lease cancel', { ...noDataDir, XE_OPERATOR_TOKEN_FILE: ef })).toBe('b'.repeat(32));
    expect(operatorToken({}, 'lease cancel', noDataDir)).toBeUndefined();
    expect(operatorToken({}, 'lease cancel', { XE_DATA_DIR: dataDir })).toBeUndefined();
    writeFileSync(join(dataDir, 'operator-token'), `${'d'.repeat(32)}\n`, { mode: 0o600 });
    expect(operatorToken({}, 'lease cancel', { XE_DATA_DIR: dataDir })).toBe('d'.repeat(32));
  });

  it('--token is refused (it would show in ps), naming the other sources', async () => {
    expect(() => operatorToken({ token: 't'.repeat(32) }, 'lease cancel', {})).toThrow(UsageError);
    expect(() => operatorToken({ token: 't'.repeat(32) }, 'lease cancel', {})).toThrow(/--token is not accepted .*--token-file FILE, \$XE_OPERATOR_TOKEN, \$XE_OPERATOR_TOKEN_FILE/);
    for (const cmd of [['balance'], ['lease', 'list'], ['lease', 'cancel', 'a'.repeat(64)]]) {
      const r = await runCli([...cmd, '--node', 'http://127.0.0.1:9', '--token', 't'.repeat(32)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--token is not accepted \(the command line shows in ps\); give the operator token by --token-file FILE/);
    }
  });

  it('an unreadable or empty token file is a usage error naming where it came from', () => {
    const empty = file('token-empty', '\n');
    expect(() => operatorToken({ tokenFile: empty }, 'lease cancel', {})).toThrow(UsageError);
    expect(() => operatorToken({ tokenFile: empty }, 'lease cancel', {})).toThrow(/--token-file: .* is empty/);
    expect(() => operatorToken({}, 'lease request', { XE_OPERATOR_TOKEN_FILE: join(dir, 'missing') })).toThrow(/XE_OPERATOR_TOKEN_FILE: cannot read/);
  });

  it.each(['balance', 'lease cancel'])('%s --help offers --token-file', async (cmd) => {
    const r = await runCli([...cmd.split(' '), '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--token-file <file>/);
    expect(r.stdout).not.toMatch(/--token </);
  });
});
