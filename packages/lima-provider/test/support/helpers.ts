import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createServer } from 'node:net';
import type { ExecResult, Hash, Resources } from '@xe/core-types';
import type { CreateVmManagerOptions } from '../../src/factory.js';
import type { AuthorizedKeyLineFn } from '../../src/keys.js';
import { LOOPBACK } from '../../src/net.js';
import { runCapped } from '../../src/proc.js';
import type { VmManager } from '../../src/types.js';

/** A lease key pair: the raw public key as the lease's `access_pub_key` and an OpenSSH private key file (0600). */
export interface LeaseKey {
  pubHex: string;
  keyFile: string;
  /** Its authorized_keys line, as `ssh-keygen` wrote it (type, base64, label). */
  line: string;
}

/** authorized_keys lines of the keys makeLeaseKey made, by raw hex public key. */
const LINES = new Map<string, string>();

/**
 * Makes an Ed25519 lease key with OpenSSH's ssh-keygen in `dir`. The raw public key (the
 * lease's `access_pub_key`, as the ledger holds it) is the last 32 bytes of the key blob.
 */
export async function makeLeaseKey(dir: string, label = 'lease'): Promise<LeaseKey> {
  const keyFile = join(dir, `${label}_ed25519`);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', label, '-f', keyFile], { timeout: 10_000 });
  const line = (await readFile(`${keyFile}.pub`, 'utf8')).trim();
  const pubHex = Buffer.from(line.split(' ')[1] ?? '', 'base64').subarray(-32).toString('hex');
  LINES.set(pubHex, line);
  return { pubHex, keyFile, line };
}

/** The test's key-format writer for the managers (the node injects `@xe/crypto`'s): the line of a key makeLeaseKey made. */
export const testKeyLine: AuthorizedKeyLineFn = (pubHex) => {
  const line = LINES.get(pubHex);
  if (line === undefined) throw new Error(`no test key ${pubHex}`);
  return line;
};

/** Components every test manager gets. */
export const KEYS = { authorizedKeyLine: testKeyLine };

export function randomLeaseHash(): Hash {
  return randomBytes(32).toString('hex');
}

/**
 * Runs `fn` with a 127.0.0.1 port (made by this test) whose every connection is piped to
 * `m.dialSsh(lease)`, as the provider's tunnel does; closed afterwards.
 */
export async function withSshPort<T>(m: VmManager, lease: Hash, fn: (port: number) => Promise<T>): Promise<T> {
  const open = new Set<{ destroy(): void }>();
  const srv = createServer((sock) => {
    open.add(sock);
    m.dialSsh(lease).then(
      (vm) => {
        open.add(vm);
        sock.pipe(vm).pipe(sock);
        const end = () => {
          sock.destroy();
          vm.destroy();
        };
        sock.on('close', end);
        vm.on('close', end);
        sock.on('error', end);
        vm.on('error', end);
      },
      () => sock.destroy(),
    );
  });
  await new Promise<void>((resolve) => srv.listen(0, LOOPBACK, resolve));
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  try {
    return await fn(port);
  } finally {
    for (const s of open) s.destroy();
    await new Promise((resolve) => srv.close(resolve));
  }
}

/** The real OpenSSH client into the lease's VM through `dialSsh` (see withSshPort). */
export function sshVm(m: VmManager, lease: Hash, keyFile: string, command: string, timeoutMs = 20_000): Promise<ExecResult> {
  return withSshPort(m, lease, (port) => sshRun(port, keyFile, command, timeoutMs));
}

/** Runs the real OpenSSH client: `ssh -i keyFile -p port root@127.0.0.1 command`, key-only, no prompts. */
export function sshRun(port: number, keyFile: string, command: string, timeoutMs = 20_000): Promise<ExecResult> {
  return runCapped(
    'ssh',
    [
      '-i',
      keyFile,
      '-p',
      String(port),
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'LogLevel=ERROR',
      '-o',
      'ConnectTimeout=10',
      'root@127.0.0.1',
      command,
    ],
    { timeoutMs },
  );
}

/** PIDs of live processes whose command line mentions `needle` (e.g. a VM name or a data directory). */
export function processesMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export async function makeTempDir(prefix = 'xe-vm-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

const run = promisify(execFile);

const DIST_INDEX = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

/**
 * A `provisionInOtherProcess` for the suite: provisions in a separate Node process
 * (using the built package) that exits afterwards, as a provider restart would.
 */
export function provisionInChildProcess(optionsFor: (dataDir: string) => CreateVmManagerOptions) {
  return (dataDir: string, leaseHash: Hash, resources: Resources, accessPubKey: string): Promise<void> => {
    const script = `
      const { createVmManager } = await import(${JSON.stringify(DIST_INDEX)});
      const [opts, lease, res, key, line] = JSON.parse(process.argv[1]);
      const m = createVmManager(opts, { authorizedKeyLine: () => line });
      await m.provision(lease, res, key);
      process.stdout.write('provisioned\\n');`;
    const arg = JSON.stringify([optionsFor(dataDir), leaseHash, resources, accessPubKey, testKeyLine(accessPubKey)]);
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, arg], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => {
        if (code === 0 && out.includes('provisioned')) resolve();
        else reject(new Error(`provisioning process exited with ${code}: ${err.trim()}`));
      });
    });
  };
}
