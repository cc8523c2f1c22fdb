import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, writeFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Duplex } from 'node:stream';
import { type Logger, abortError, silentLogger, throwIfAborted } from '@xe/core-types';
import { VmErrorCodes, VmLifecycleError } from '../errors.js';
import { sshBannerReady } from '../net.js';
import { makeSshKey } from '../ssh-keygen.js';
import { childPids, descendants, isProcessAlive, killGroup, killTree, pollUntil, processArgs, processStartTime, runCapped } from '../proc.js';
import type { SandboxDeps } from './deps.js';

/**
 * The capabilities a tenant's processes keep (the root of a VM: own files, users, signals,
 * low ports, chroot). Everything else is dropped from the bounding set, notably
 * CAP_SYS_ADMIN (mounts), CAP_MKNOD (device nodes), CAP_DAC_READ_SEARCH
 * (open_by_handle_at), CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SYS_PTRACE, CAP_NET_ADMIN,
 * CAP_SYS_TIME, CAP_SYSLOG, CAP_BPF and CAP_PERFMON: without them root in the sandbox
 * cannot reach the host's devices, mounts or kernel.
 */
export const TENANT_CAPS = [
  'chown',
  'dac_override',
  'fowner',
  'fsetid',
  'kill',
  'setgid',
  'setuid',
  'setpcap',
  'setfcap',
  'net_bind_service',
  'net_raw',
  'sys_chroot',
  'audit_write',
] as const;

/** `setpriv` arguments that run a command with only TENANT_CAPS (the sandbox's /usr is the host's). */
export function dropCaps(deps: SandboxDeps): string[] {
  return [deps.setpriv, '--bounding-set', ['-all', ...TENANT_CAPS.map((c) => `+${c}`)].join(','), '--inh-caps', '-all', '--'];
}

/** PID 1 of a sandbox. The kernel ignores signals sent to it from inside without a handler. */
export const SANDBOX_INIT = 'while :; do /usr/bin/sleep 2147483647 & wait; done';

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
  /** Directory of this sandbox; its root file system is `<dir>/root`, its log `<dir>/sandbox.log`. */
  dir: string;
  hostname: string;
  /** Written to /root/.ssh/authorized_keys when given (otherwise left as it is). */
  authorizedKeys?: string;
  /** cgroup directories the sandbox's processes join. */
  cgroups: string[];
  /**
   * Unsealed mode, used only by the Lima test double (whose instances need an SSH port
   * like Lima's): share the host's network and run a listening sshd on this 127.0.0.1 port.
   */
  listenPort?: number;
  /**
   * A host key pair made beforehand (`file` and `file.pub`, by ssh-keygen, in parallel with
   * the disk): moved into the root. Otherwise one is made here.
   */
  hostKeyFile?: string;
  /** The root is a prepared disk (`layoutRoot` done, its own host key made): only the lease's files are written. */
  prepared?: boolean;
}

/** A running sandbox, as recorded in the data directory. */
export interface SandboxHandle {
  pid: number;
  pidStartTime: string;
  initPid: number;
  dir: string;
  /**
   * The directory bwrap binds as `/` when it is not `<dir>/root`: a sandbox started ahead in
   * the disk pool keeps the path it was started with after its directory moved to the VM's.
   */
  root?: string;
  /** The sshd port, in the unsealed mode only. */
  port?: number;
}

export interface StartSandboxOptions {
  signal?: AbortSignal | undefined;
  logger?: Logger;
  readyTimeoutMs?: number;
  /** Called as each start-up phase is done: `root` (laid out), `init` (PID 1 runs), `banner` (sshd -i answered). */
  onPhase?: (phase: string) => void;
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

/** sshd runs per connection (`sshd -i`), so the config names no port: the sandbox listens on nothing. */
function sshdConfig(deps: SandboxDeps, listenPort?: number): string {
  return [
    // First match wins in sshd_config: drop-ins (e.g. from a provision script) come first.
    'Include /etc/ssh/sshd_config.d/*.conf',
    ...(listenPort === undefined ? [] : [`Port ${listenPort}`, 'ListenAddress 127.0.0.1']),
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

/**
 * Lays out what every sandbox's root file system holds, whoever leases it: a private /etc
 * (users, sshd_config), /root, /run, /var, /tmp; /usr comes from the host read-only. No host
 * key, hostname or lease key (`prepareRoot` adds those).
 */
export async function layoutRoot(deps: SandboxDeps, root: string, listenPort?: number): Promise<void> {
  for (const d of ['etc/ssh/sshd_config.d', 'root/.ssh', 'run/sshd', 'var/empty', 'var/log', 'tmp', 'home', 'usr', 'proc', 'dev']) {
    await mkdir(join(root, d), { recursive: true });
  }
  await chmod(join(root, 'root'), 0o700);
  await chmod(join(root, 'root/.ssh'), 0o700);
  await chmod(join(root, 'run/sshd'), 0o755);
  await chmod(join(root, 'tmp'), 0o1777);
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
  await writeIfMissing(join(etc, 'resolv.conf'), '', 0o644);
  await writeFile(join(etc, 'ssh/sshd_config'), sshdConfig(deps, listenPort));
}

/** The path of a sandbox root's SSH host key (`.pub` beside it). */
export function rootHostKey(root: string): string {
  return join(root, 'etc/ssh/ssh_host_ed25519_key');
}

/**
 * Makes the sandbox's root file system ready for its lease: the common layout (unless
 * `spec.prepared`, where a prepared disk already holds it and its own host key), the
 * hostname, the host key and the lease's authorized_keys.
 */
export async function prepareRoot(deps: SandboxDeps, spec: SandboxSpec): Promise<void> {
  const root = rootOf(spec.dir);
  const etc = join(root, 'etc');
  if (spec.prepared !== true) await layoutRoot(deps, root, spec.listenPort);
  const writes = [
    writeFile(join(etc, 'hostname'), `${spec.hostname}\n`),
    writeFile(join(etc, 'hosts'), `127.0.0.1 localhost ${spec.hostname}\n::1 localhost\n`),
  ];
  if (spec.authorizedKeys !== undefined) {
    writes.push(writeFile(join(root, 'root/.ssh/authorized_keys'), spec.authorizedKeys, { mode: 0o600 }));
  }
  await Promise.all(writes);
  if (spec.prepared === true) return;
  // The host key: a fresh Ed25519 key per sandbox, made by OpenSSH's ssh-keygen.
  const hostKey = rootHostKey(root);
  if (spec.hostKeyFile !== undefined) {
    await copyFile(spec.hostKeyFile, hostKey);
    await copyFile(`${spec.hostKeyFile}.pub`, `${hostKey}.pub`);
    await chmod(hostKey, 0o600);
    await rm(spec.hostKeyFile, { force: true });
    await rm(`${spec.hostKeyFile}.pub`, { force: true });
  } else {
    await makeSshKey(deps.sshKeygen, hostKey, `root@${spec.hostname}`);
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
    ...deps.binds.flatMap((b) => ['--ro-bind', b, b]),
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    // No bwrap process inside: PID 1 is our init, started with TENANT_CAPS only (dropCaps), so
    // nothing in the sandbox holds a capability a tenant could take over (e.g. by ptrace).
    '--as-pid-1',
    // Its own network namespace holding only lo: nothing on the host (or beyond) is reachable.
    ...(spec.listenPort === undefined ? ['--unshare-net'] : []),
    '--hostname',
    spec.hostname,
    '--clearenv',
    ...Object.entries(SANDBOX_ENV).flatMap(([k, v]) => ['--setenv', k, v]),
  ];
  if (spec.listenPort !== undefined) {
    if (deps.libraryPath) args.push('--setenv', 'LD_LIBRARY_PATH', deps.libraryPath);
    args.push('--', deps.sshd, '-D', '-e', '-f', '/etc/ssh/sshd_config');
    return args;
  }
  // PID 1: a shell that waits on a long sleep, reaping every orphan meanwhile (its wait
  // collects any child). sshd is started per connection (sshDialArgs).
  args.push('--', ...dropCaps(deps), '/bin/sh', '-c', SANDBOX_INIT);
  return args;
}

/** A wrapper that moves itself into the cgroups `dirs` and then runs the command (so every child starts inside). */
export function inCgroup(dirs: readonly string[] | undefined, file: string, args: string[]): [string, string[]] {
  if (!dirs || dirs.length === 0) return [file, args];
  const script = 'IFS=:; for d in $0; do echo $$ > "$d/cgroup.procs" || exit 125; done; unset IFS; exec "$@"';
  return ['/bin/sh', ['-c', script, dirs.join(':'), file, ...args]];
}

/**
 * True when `handle.pid` is alive, started when recorded, and is the bwrap of this
 * sandbox directory: a reused PID is never mistaken for our sandbox.
 */
export function isOurSandbox(handle: Pick<SandboxHandle, 'pid' | 'pidStartTime' | 'dir' | 'root'>): boolean {
  if (!isProcessAlive(handle.pid)) return false;
  if (processStartTime(handle.pid) !== handle.pidStartTime) return false;
  return bwrapRoot(handle.pid) === boundRoot(handle);
}

/** The root a bwrap process binds as `/` (`--bind <root> /`), or undefined when `pid` is not a bwrap (or is gone). */
function bwrapRoot(pid: number): string | undefined {
  const args = processArgs(pid);
  if (!args || args.length === 0 || !args[0]!.endsWith('bwrap')) return undefined;
  const i = args.indexOf('--bind');
  return i >= 0 ? args[i + 1] : undefined;
}

/**
 * The running sandboxes whose bwrap binds one of `roots` as `/` (from /proc: `--bind
 * <root> /`), each as a handle for `stopSandbox`: finds a sandbox whose handle was never
 * recorded (a provider killed right after starting it). Exact paths only: a sandbox adopted
 * by a lease still names the pool path it was started with, but that entry has moved away.
 */
export function sandboxesBinding(roots: ReadonlySet<string>): SandboxHandle[] {
  const out: SandboxHandle[] = [];
  if (roots.size === 0) return out;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const root = bwrapRoot(pid);
    if (root === undefined || !roots.has(root)) continue;
    const pidStartTime = processStartTime(pid);
    if (pidStartTime === undefined) continue;
    out.push({ pid, pidStartTime, initPid: childPids(pid)[0] ?? 0, dir: dirname(root) });
  }
  return out;
}

/** The directory the sandbox's bwrap binds as `/` (see SandboxHandle.root). */
export function boundRoot(handle: Pick<SandboxHandle, 'dir' | 'root'>): string {
  return handle.root ?? rootOf(handle.dir);
}

/**
 * Starts a sandbox detached in its own session (it outlives this process), waits until
 * an `sshd -i` inside it answers with an SSH banner, and returns what to record. On
 * failure or abort whatever was started is stopped.
 */
export async function startSandbox(deps: SandboxDeps, spec: SandboxSpec, options: StartSandboxOptions = {}): Promise<SandboxHandle> {
  const log = options.logger ?? silentLogger;
  throwIfAborted(options.signal);
  await prepareRoot(deps, spec);
  options.onPhase?.('root');
  const logFile = join(spec.dir, 'sandbox.log');
  const fd = openSync(logFile, 'w');
  const [file, args] = inCgroup(spec.cgroups, deps.bwrap, bwrapArgs(deps, spec));
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(file, args, { detached: true, stdio: ['ignore', fd, fd], env: {} });
  } finally {
    closeSync(fd);
  }
  child.on('error', () => {});
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new VmLifecycleError(VmErrorCodes.SANDBOX_START_FAILED, `cannot spawn ${deps.bwrap}`);
  const partial: SandboxHandle = { pid, pidStartTime: processStartTime(pid) ?? '', initPid: 0, dir: spec.dir };
  if (spec.listenPort !== undefined) partial.port = spec.listenPort;
  try {
    const deadline = options.readyTimeoutMs ?? 10_000;
    // PID 1 of the sandbox exists once bwrap has set the namespaces up.
    const initPid = await pollUntil(
      () => {
        if (!isProcessAlive(pid)) return 0;
        const init = childPids(pid)[0];
        return init !== undefined && (spec.listenPort !== undefined || childPids(init).length > 0) ? init : undefined;
      },
      { timeoutMs: deadline, intervalMs: 2, signal: options.signal },
    );
    if (!initPid) {
      const text = await readFile(logFile, 'utf8').catch(() => '');
      throw new VmLifecycleError(
        VmErrorCodes.SANDBOX_START_FAILED,
        `sandbox ${spec.hostname} did not start: ${text.trim().split('\n').slice(-5).join(' | ') || 'no output'}`,
      );
    }
    // Re-read after exec: the cgroup wrapper (if any) has become bwrap by now.
    partial.pidStartTime = processStartTime(pid) ?? partial.pidStartTime;
    partial.initPid = initPid;
    options.onPhase?.('init');
    const banner =
      spec.listenPort === undefined
        ? await readBanner(dialSandboxSsh(deps, partial, spec.cgroups), Math.max(2000, deadline))
        : ((await pollUntil(async () => ((await sshBannerReady(spec.listenPort!, options.signal)) ? 'SSH-2.0-' : undefined), {
            timeoutMs: deadline,
            intervalMs: 15,
            signal: options.signal,
          })) ?? '');
    if (!banner.startsWith('SSH-2.0-')) {
      throw new VmLifecycleError(VmErrorCodes.SANDBOX_START_FAILED, `sshd in sandbox ${spec.hostname} gave no SSH banner: ${JSON.stringify(banner.slice(0, 200))}`);
    }
    options.onPhase?.('banner');
    log.debug('sandbox ready', { hostname: spec.hostname, pid, initPid });
    return partial;
  } catch (err) {
    await stopSandbox(partial, { force: true });
    if (options.signal?.aborted) throw abortError(options.signal);
    throw err;
  }
}

/** The host name of a sandbox started ahead in the disk pool, until a lease takes it. */
export const POOLED_HOSTNAME = 'xe-sandbox';

/**
 * Hands a sandbox started ahead (by the disk pool, with no cgroups and POOLED_HOSTNAME; its
 * directory already moved to `spec.dir`) to a lease: the lease's files are written (hostname,
 * hosts, authorized_keys), every process of the sandbox is moved into the lease's cgroups
 * (what runs in it later is started there: `dialSandboxSsh`, `sandboxExecArgs` under
 * `inCgroup`), and its UTS host name becomes the lease's. Its sshd answered with a banner
 * when the pool started it. Throws SANDBOX_START_FAILED when a step fails; the caller stops it.
 */
export async function adoptSandbox(
  deps: SandboxDeps,
  handle: SandboxHandle,
  spec: SandboxSpec,
  options: Pick<StartSandboxOptions, 'signal' | 'onPhase'> = {},
): Promise<SandboxHandle> {
  throwIfAborted(options.signal);
  const adopted: SandboxHandle = { ...handle, dir: spec.dir, root: boundRoot(handle) };
  // the cgroups first: from here on every process of the sandbox counts against the lease's limits
  joinCgroups(spec.cgroups, [handle.pid, ...descendants(handle.pid)]);
  await Promise.all([prepareRoot(deps, { ...spec, prepared: true }), setUtsHostname(deps, handle.initPid, spec.hostname, options.signal)]);
  options.onPhase?.('adopted');
  return adopted;
}

/** Moves running processes into cgroup directories (v2: one group; v1: one per controller). */
export function joinCgroups(dirs: readonly string[], pids: readonly number[]): void {
  for (const dir of dirs) {
    for (const pid of pids) {
      try {
        writeFileSync(join(dir, 'cgroup.procs'), String(pid));
      } catch (err) {
        // a process that ended meanwhile is not in the way
        if ((err as NodeJS.ErrnoException).code === 'ESRCH') continue;
        throw new VmLifecycleError(VmErrorCodes.SANDBOX_START_FAILED, `cannot move process ${pid} into ${dir}: ${(err as Error).message}`);
      }
    }
  }
}

/** Sets the host name of the UTS namespace of `initPid` (a sandbox's PID 1) to `hostname`. */
async function setUtsHostname(deps: SandboxDeps, initPid: number, hostname: string, signal?: AbortSignal): Promise<void> {
  // /proc/sys/kernel/hostname is the writer's UTS namespace's: entering only that namespace suffices
  const r = await runCapped(
    deps.nsenter,
    ['--target', String(initPid), '--uts', '--', '/bin/sh', '-c', 'printf %s "$1" > /proc/sys/kernel/hostname', 'sh', hostname],
    { timeoutMs: 5000, signal, env: {} },
  );
  if (r.exit_code !== 0) {
    throw new VmLifecycleError(VmErrorCodes.SANDBOX_START_FAILED, `cannot set the host name of sandbox ${hostname}: ${r.stderr.trim() || `exit ${r.exit_code}`}`);
  }
}

/** Reads a stream's first line (at most 256 bytes) within `timeoutMs`, then destroys the stream. */
export function readBanner(stream: Duplex, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    const done = () => {
      clearTimeout(timer);
      stream.destroy();
      resolve(buf);
    };
    const timer = setTimeout(done, timeoutMs);
    stream.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (buf.includes('\n') || buf.length >= 256) done();
    });
    stream.on('error', done);
    stream.on('close', done);
  });
}

/** The command line of `sshd -i` inside the sandbox (all its namespaces, its root). */
export function sshDialArgs(deps: SandboxDeps, handle: Pick<SandboxHandle, 'initPid'>): [string, string[]] {
  return [deps.nsenter, [...enterSandbox(handle), ...dropCaps(deps), deps.sshd, '-i', '-e', '-f', '/etc/ssh/sshd_config']];
}

/** nsenter's arguments that join every namespace, the root and the working directory of the sandbox's init. */
function enterSandbox(handle: Pick<SandboxHandle, 'initPid'>): string[] {
  return ['--target', String(handle.initPid), '--mount', '--uts', '--ipc', '--net', '--pid', '--cgroup', '--root', '--wd', '--'];
}

/** A duplex over a child's stdout (readable side) and stdin (writable side); destroying it kills the child's group. */
export class ChildStream extends Duplex {
  constructor(private readonly child: ChildProcess) {
    super();
    const out = child.stdout!;
    out.on('data', (d: Buffer) => {
      if (!this.push(d)) out.pause();
    });
    out.on('end', () => this.push(null));
    out.on('error', (err) => this.destroy(err));
    child.stdin!.on('error', () => this.destroy());
    child.on('error', (err) => this.destroy(err));
    child.on('exit', () => {
      // Let buffered output drain first; then the stream is done.
      if (out.readableEnded) this.destroy();
      else out.once('close', () => this.destroy());
    });
  }

  override _read(): void {
    this.child.stdout!.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.child.stdin!.destroyed) {
      cb();
      return;
    }
    this.child.stdin!.write(chunk, () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.child.stdin!.end(() => cb());
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const { pid, exitCode, signalCode } = this.child;
    if (pid !== undefined && exitCode === null && signalCode === null) killTree(pid);
    this.child.stdout!.destroy();
    this.child.stdin!.destroy();
    cb(err);
  }
}

/**
 * A byte stream to a fresh `sshd -i` inside the sandbox, in its cgroups: the SSH
 * connection never touches a port. Destroying the stream kills that sshd (and its session).
 */
export function dialSandboxSsh(deps: SandboxDeps, handle: Pick<SandboxHandle, 'initPid'>, cgroups: readonly string[] | undefined): Duplex {
  const [file, args] = inCgroup(cgroups, ...sshDialArgs(deps, handle));
  const env: Record<string, string> = { ...SANDBOX_ENV };
  if (deps.libraryPath) env.LD_LIBRARY_PATH = deps.libraryPath;
  const child = spawn(file, args, { detached: true, stdio: ['pipe', 'pipe', 'ignore'], env });
  return new ChildStream(child);
}

export interface StopOptions {
  timeoutMs?: number;
  /** Kill even if the PID cannot be confirmed as this sandbox (only for a sandbox started in this process). */
  force?: boolean;
}

/**
 * Kills the sandbox's process group by its recorded PID (PID 1 of its namespace goes
 * with it, and so does every process inside), then verifies the PIDs are gone. Idempotent.
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
  const gone = await pollUntil(
    () => (isProcessAlive(handle.pid) || (handle.initPid > 0 && isProcessAlive(handle.initPid)) ? undefined : true),
    { timeoutMs },
  );
  if (!gone) throw new VmLifecycleError(VmErrorCodes.TEARDOWN_FAILED, `sandbox process ${handle.pid} did not exit`);
}

/** Removes a stopped sandbox's directory. */
export async function removeSandboxDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** The command line that runs `sh -c command` inside the sandbox (same root, hostname, PID namespace). */
export function sandboxExecArgs(deps: SandboxDeps, handle: SandboxHandle, command: string, opts: { keepCaps?: boolean } = {}): [string, string[]] {
  return [
    deps.nsenter,
    [
      ...enterSandbox(handle),
      // keepCaps: only for the Lima test double, whose "system provisioning" runs as a VM's full root.
      ...(opts.keepCaps ? [] : dropCaps(deps)),
      '/bin/sh',
      '-c',
      'cd "$HOME" 2>/dev/null; exec /bin/sh -c "$1"',
      'sh',
      command,
    ],
  ];
}
