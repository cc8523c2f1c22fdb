import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Logger, abortError, silentLogger, throwIfAborted } from '@xe/core-types';
import { VmErrorCodes, VmLifecycleError } from '../errors.js';
import { ed25519PublicFromSeed, openSshPrivateKey } from '../keys.js';
import { freePort, portClosed, sshBannerReady } from '../net.js';
import { childPids, isProcessAlive, killGroup, pollUntil, processArgs, processStartTime } from '../proc.js';
import type { VmLimits } from '../types.js';
import type { SandboxDeps } from './deps.js';

/** PATH and environment of commands run inside a sandbox. */
export const SANDBOX_ENV: Readonly<Record<string, string>> = Object.freeze({
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
  USER: 'root',
  LOGNAME: 'root',
  SHELL: '/bin/sh',
  LANG: 'C.UTF-8',
});

export interface SandboxSpec {
  /** Directory of this sandbox; its root file system is `<dir>/root`, sshd's log `<dir>/sshd.log`. */
  dir: string;
  hostname: string;
  /** Written to /root/.ssh/authorized_keys when given (otherwise left as it is). */
  authorizedKeys?: string;
  limits: VmLimits;
}

/** A running sandbox, as recorded in the data directory. */
export interface SandboxHandle {
  pid: number;
  pidStartTime: string;
  initPid: number;
  port: number;
  dir: string;
}

export interface StartSandboxOptions {
  signal?: AbortSignal | undefined;
  logger?: Logger;
  readyTimeoutMs?: number;
  /** Attempts with a fresh port when sshd cannot bind (another process took the port). */
  portAttempts?: number;
}

function rootOf(dir: string): string {
  return join(dir, 'root');
}

async function writeIfMissing(path: string, content: string, mode: number): Promise<void> {
  try {
    await writeFile(path, content, { flag: 'wx', mode });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

function sshdConfig(port: number, deps: SandboxDeps): string {
  return [
    // First match wins in sshd_config: drop-ins (e.g. from a provision script) come first.
    'Include /etc/ssh/sshd_config.d/*.conf',
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    'HostKey /etc/ssh/ssh_host_ed25519_key',
    'PidFile none',
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'AuthorizedKeysFile .ssh/authorized_keys',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'UseDNS no',
    'PrintMotd no',
    'AllowTcpForwarding yes',
    ...(deps.sftpServer ? [`Subsystem sftp ${deps.sftpServer}`] : []),
    '',
  ].join('\n');
}

/** Lays out the sandbox's root file system: a private /etc, /root, /run, /var, /tmp; /usr comes from the host read-only. */
export async function prepareRoot(spec: SandboxSpec): Promise<void> {
  const root = rootOf(spec.dir);
  for (const d of ['etc/ssh/sshd_config.d', 'root/.ssh', 'run/sshd', 'var/empty', 'var/log', 'tmp', 'home', 'usr', 'proc', 'dev']) {
    await mkdir(join(root, d), { recursive: true });
  }
  await chmod(join(root, 'root'), 0o700);
  await chmod(join(root, 'root/.ssh'), 0o700);
  await chmod(join(root, 'run/sshd'), 0o755);
  for (const [link, target] of [
    ['bin', 'usr/bin'],
    ['sbin', 'usr/sbin'],
    ['lib', 'usr/lib'],
    ['lib64', 'usr/lib64'],
  ] as const) {
    try {
      await symlink(target, join(root, link));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const etc = join(root, 'etc');
  await writeIfMissing(
    join(etc, 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
    0o644,
  );
  await writeIfMissing(join(etc, 'group'), 'root:x:0:\nnogroup:x:65534:\n', 0o644);
  await writeIfMissing(join(etc, 'shadow'), 'root:*:19000:0:99999:7:::\nsshd:*:19000:0:99999:7:::\n', 0o600);
  await writeFile(join(etc, 'hostname'), `${spec.hostname}\n`);
  await writeFile(join(etc, 'hosts'), `127.0.0.1 localhost ${spec.hostname}\n::1 localhost\n`);
  await writeIfMissing(join(etc, 'resolv.conf'), '', 0o644);
  // The host key: a fresh Ed25519 key per sandbox, written in OpenSSH's format.
  const hostKey = join(etc, 'ssh/ssh_host_ed25519_key');
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32));
  await writeIfMissing(hostKey, openSshPrivateKey(seed, ed25519PublicFromSeed(seed), `root@${spec.hostname}`), 0o600);
  if (spec.authorizedKeys !== undefined) {
    await writeFile(join(root, 'root/.ssh/authorized_keys'), spec.authorizedKeys, { mode: 0o600 });
  }
}

/** The bwrap command line of a sandbox. */
export function bwrapArgs(deps: SandboxDeps, spec: SandboxSpec): string[] {
  const args = [
    '--bind',
    rootOf(spec.dir),
    '/',
    '--ro-bind',
    '/usr',
    '/usr',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    // After /tmp, so that an sshd unpacked under /tmp is not hidden by the tmpfs.
    ...deps.binds.flatMap((b) => ['--ro-bind', b, b]),
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--hostname',
    spec.hostname,
    '--clearenv',
    ...Object.entries(SANDBOX_ENV).flatMap(([k, v]) => ['--setenv', k, v]),
  ];
  if (deps.libraryPath) args.push('--setenv', 'LD_LIBRARY_PATH', deps.libraryPath);
  args.push('--', deps.sshd, '-D', '-e', '-f', '/etc/ssh/sshd_config');
  return args;
}

/** A wrapper that moves itself into `cgroupDir` and then runs the command (so every child starts inside). */
export function inCgroup(limits: VmLimits, file: string, args: string[]): [string, string[]] {
  if (!limits.enforced || !limits.cgroup) return [file, args];
  return ['/bin/sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', limits.cgroup, file, ...args]];
}

/**
 * True when `handle.pid` is alive, started when recorded, and is the bwrap of this
 * sandbox directory: a reused PID is never mistaken for our sandbox.
 */
export function isOurSandbox(handle: Pick<SandboxHandle, 'pid' | 'pidStartTime' | 'dir'>): boolean {
  if (!isProcessAlive(handle.pid)) return false;
  if (processStartTime(handle.pid) !== handle.pidStartTime) return false;
  const args = processArgs(handle.pid);
  if (!args || args.length === 0 || !args[0]!.endsWith('bwrap')) return false;
  const i = args.indexOf('--bind');
  return i >= 0 && args[i + 1] === rootOf(handle.dir);
}

/**
 * Starts a sandbox detached in its own session (it outlives this process), waits until
 * its sshd answers with an SSH banner, and returns what to record. On failure or abort
 * whatever was started is stopped.
 */
export async function startSandbox(deps: SandboxDeps, spec: SandboxSpec, options: StartSandboxOptions = {}): Promise<SandboxHandle> {
  const log = options.logger ?? silentLogger;
  throwIfAborted(options.signal);
  await prepareRoot(spec);
  const attempts = options.portAttempts ?? 3;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    throwIfAborted(options.signal);
    const port = await freePort();
    await writeFile(join(rootOf(spec.dir), 'etc/ssh/sshd_config'), sshdConfig(port, deps));
    const logFile = join(spec.dir, 'sshd.log');
    const fd = openSync(logFile, 'w');
    const [file, args] = inCgroup(spec.limits, deps.bwrap, bwrapArgs(deps, spec));
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(file, args, { detached: true, stdio: ['ignore', fd, fd], env: {} });
    } finally {
      closeSync(fd);
    }
    child.on('error', () => {});
    child.unref();
    const pid = child.pid;
    if (pid === undefined) {
      lastError = new VmLifecycleError(VmErrorCodes.SANDBOX_START_FAILED, `cannot spawn ${deps.bwrap}`);
      continue;
    }
    const partial = { pid, pidStartTime: processStartTime(pid) ?? '', initPid: 0, port, dir: spec.dir };
    try {
      const ready = await pollUntil(
        async () => {
          if (!isProcessAlive(pid)) return false;
          return (await sshBannerReady(port, options.signal)) ? true : undefined;
        },
        { timeoutMs: options.readyTimeoutMs ?? 10_000, intervalMs: 15, signal: options.signal },
      );
      if (ready === true) {
        const initPid = childPids(pid)[0];
        if (initPid === undefined) throw new VmLifecycleError(VmErrorCodes.SANDBOX_START_FAILED, 'sandbox has no init process');
        // Re-read after exec: the cgroup wrapper (if any) has become bwrap by now.
        partial.pidStartTime = processStartTime(pid) ?? partial.pidStartTime;
        log.debug('sandbox ready', { hostname: spec.hostname, pid, port, attempt });
        return { ...partial, initPid };
      }
      const text = await readFile(logFile, 'utf8').catch(() => '');
      await stopSandbox(partial, { force: true });
      lastError = new VmLifecycleError(
        VmErrorCodes.SANDBOX_START_FAILED,
        `sandbox ${spec.hostname} did not become ready: ${text.trim().split('\n').slice(-5).join(' | ') || 'no output'}`,
      );
      if (!/bind|Address already in use/i.test(text)) break;
      log.warn('sshd could not bind its port, retrying with another', { hostname: spec.hostname, port });
    } catch (err) {
      await stopSandbox(partial, { force: true });
      if (options.signal?.aborted) throw abortError(options.signal);
      throw err;
    }
  }
  throw lastError;
}

export interface StopOptions {
  timeoutMs?: number;
  /** Kill even if the PID cannot be confirmed as this sandbox (only for a sandbox started in this process). */
  force?: boolean;
}

/**
 * Kills the sandbox's process group by its recorded PID (PID 1 of its namespace goes
 * with it, and so does every process inside), then verifies the PID is gone and the
 * port closed. Idempotent.
 */
export async function stopSandbox(handle: SandboxHandle, options: StopOptions = {}): Promise<void> {
  const ours = options.force === true || isOurSandbox(handle);
  // Not ours (gone, or the PID now belongs to someone else): nothing of this sandbox runs.
  if (!ours) return;
  killGroup(handle.pid, 'SIGKILL');
  if (handle.initPid > 0 && isProcessAlive(handle.initPid)) {
    try {
      process.kill(handle.initPid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const timeoutMs = options.timeoutMs ?? 5000;
  const gone = await pollUntil(() => (isProcessAlive(handle.pid) ? undefined : true), { timeoutMs });
  if (!gone) throw new VmLifecycleError(VmErrorCodes.TEARDOWN_FAILED, `sandbox process ${handle.pid} did not exit`);
  if (handle.port > 0) {
    const closed = await pollUntil(async () => ((await portClosed(handle.port)) ? true : undefined), { timeoutMs });
    if (!closed) throw new VmLifecycleError(VmErrorCodes.TEARDOWN_FAILED, `port ${handle.port} is still open after teardown`);
  }
}

/** Removes a stopped sandbox's directory. */
export async function removeSandboxDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** The command line that runs `sh -c command` inside the sandbox (same root, hostname, PID namespace). */
export function sandboxExecArgs(deps: SandboxDeps, handle: SandboxHandle, command: string): [string, string[]] {
  return [
    deps.nsenter,
    [
      '--target',
      String(handle.initPid),
      '--mount',
      '--uts',
      '--ipc',
      '--pid',
      '--root',
      '--wd',
      '--',
      '/bin/sh',
      '-c',
      'cd "$HOME" 2>/dev/null; exec /bin/sh -c "$1"',
      'sh',
      command,
    ],
  ];
}
