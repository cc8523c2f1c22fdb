import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { VmErrorCodes, VmLifecycleError } from './errors.js';

const run = promisify(execFile);

/**
 * Makes an Ed25519 key pair with OpenSSH's own `ssh-keygen` (no passphrase): `file` (the
 * private key, 0600) and `file.pub`. An existing key is kept.
 */
export async function makeSshKey(
  sshKeygen: string,
  file: string,
  comment: string,
  code: 'SANDBOX_START_FAILED' | 'QEMU_START_FAILED' = VmErrorCodes.SANDBOX_START_FAILED,
): Promise<void> {
  if (existsSync(file) && existsSync(`${file}.pub`)) return;
  try {
    await run(sshKeygen, ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], { timeout: 10_000 });
  } catch (err) {
    throw new VmLifecycleError(code, `ssh-keygen could not make ${file}: ${String((err as { stderr?: string }).stderr ?? err).trim()}`);
  }
}

/**
 * The SHA256 fingerprint (`SHA256:<base64>`) of the first key in `file` (a public key, an
 * authorized_keys or a known_hosts file), as `ssh-keygen -l` prints it; undefined when
 * ssh-keygen cannot read a key there.
 */
export async function sshKeyFingerprint(sshKeygen: string, file: string): Promise<string | undefined> {
  try {
    const { stdout } = await run(sshKeygen, ['-l', '-E', 'sha256', '-f', file], { timeout: 10_000 });
    return /\b(SHA256:[A-Za-z0-9+/]+)/.exec(stdout)?.[1];
  } catch {
    return undefined;
  }
}

/** One OpenSSH Ed25519 public-key line without comment: `ssh-ed25519 <base64 of 51 bytes>`. */
const HOST_PUBLIC_KEY = /^ssh-ed25519 [A-Za-z0-9+/]{68}$/;

/**
 * The `ssh-ed25519 AAAA…` line of the first key in `text` (a `.pub` file, a known_hosts or
 * ssh-keyscan line: a leading host field and a trailing comment are dropped); undefined
 * when there is none of exactly that shape.
 */
export function hostPublicKeyLine(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    const i = fields.indexOf('ssh-ed25519');
    if (i < 0 || i > 1) continue;
    const key = `ssh-ed25519 ${fields[i + 1] ?? ''}`;
    if (HOST_PUBLIC_KEY.test(key)) return key;
  }
  return undefined;
}

/**
 * A VM's host key: made by `makeSshKey` at `file` (an existing one is kept), with its
 * `ssh-ed25519 …` line and SHA256 fingerprint. Throws SANDBOX_START_FAILED when ssh-keygen
 * left no readable Ed25519 key there.
 */
export async function makeHostKey(sshKeygen: string, file: string, comment: string): Promise<{ pub: string; fp: string }> {
  await makeSshKey(sshKeygen, file, comment);
  const pub = hostPublicKeyLine(await readFile(`${file}.pub`, 'utf8'));
  const fp = pub === undefined ? undefined : await sshKeyFingerprint(sshKeygen, `${file}.pub`);
  if (pub === undefined || fp === undefined) {
    throw new VmLifecycleError(VmErrorCodes.SANDBOX_START_FAILED, `ssh-keygen made no readable Ed25519 host key at ${file}`);
  }
  return { pub, fp };
}

/** The SHA256 fingerprint of one public-key line, read by `ssh-keygen -lf -` from stdin; undefined when it reads none. */
export function sshKeyLineFingerprint(sshKeygen: string, line: string, timeoutMs = 10_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(sshKeygen, ['-l', '-E', 'sha256', '-f', '-'], { stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      if (out.length < 4096) out += d.toString('latin1');
    });
    child.on('error', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? /\b(SHA256:[A-Za-z0-9+/]+)/.exec(out)?.[1] : undefined);
    });
    child.stdin.on('error', () => {});
    child.stdin.end(`${line}\n`);
  });
}

/**
 * The Ed25519 host key the SSH server on 127.0.0.1:`port` offers, read with OpenSSH's
 * `ssh-keyscan` (first contact: used right after a VM's first boot, before its tenant has
 * been told where it is); undefined when it offers none within `timeoutMs`.
 */
export async function scanHostKey(sshKeyscan: string, port: number, timeoutMs = 10_000): Promise<string | undefined> {
  try {
    const secs = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
    const { stdout } = await run(sshKeyscan, ['-T', secs, '-t', 'ed25519', '-p', String(port), '127.0.0.1'], { timeout: timeoutMs + 2000 });
    return hostPublicKeyLine(stdout);
  } catch {
    return undefined;
  }
}
