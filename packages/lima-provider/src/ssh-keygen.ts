import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
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
