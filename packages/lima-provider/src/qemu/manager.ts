import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { promisify } from 'node:util';
import {
  type AbortOptions,
  type Clock,
  type ExecResult,
  type Hash,
  type Logger,
  type PubKey,
  type Resources,
  abortError,
  silentLogger,
  systemClock,
  throwIfAborted,
} from '@xe/core-types';
import { VmErrorCodes, VmInputError, VmLifecycleError, VmStateError } from '../errors.js';
import { type AuthorizedKeyLineFn, authorizedKeyLineFor, checkLeaseHash, checkResources, vmName, withMinimums } from '../keys.js';
import { hostPublicKeyLine, makeSshKey, sshKeyFingerprint } from '../ssh-keygen.js';
import { connectTcp, freePort, portClosed, sshBannerReady } from '../net.js';
import { isProcessAlive, killGroup, pollUntil, processArgs, processStartTime, runCapped } from '../proc.js';
import { ext4Template } from '../sandbox/disk.js';
import { DEFAULT_PIDS_MAX, vmInfoOf } from '../sandbox/manager.js';
import { type VmRecord, VmStateStore, claimVm, reconcileRecords, recordOfLease } from '../state.js';
import {
  DEFAULT_EXEC_TIMEOUT_MS,
  type ExecOptions,
  type LeaseActivePredicate,
  type ProviderVmInfo,
  type ReconcileResult,
  type VmDetails,
  type VmManager,
  type VmManagerComponents,
} from '../types.js';
import {
  type Accelerator,
  DEFAULT_QEMU_IMAGE_DIR,
  type QemuDeps,
  type QemuImage,
  createOverlay,
  findQemuDeps,
  findQemuImage,
  fullRootTemplate,
  probeAccelerator,
} from './image.js';

const run = promisify(execFile);

export interface QemuVmManagerOptions {
  /** The provider's data directory; VMs live in `<dataDir>/qemu/<name>`, records in `<dataDir>/vms`. */
  dataDir: string;
  /** The guest image (scripts/build-qemu-image.sh); default $XE_QEMU_IMAGE_DIR, then /var/cache/xe-node/qemu-image. */
  imageDir?: string;
  /** 'auto' (default): a short KVM probe boot decides; or force one. */
  accelerator?: 'auto' | Accelerator;
  /** Deadline of the KVM probe boot (default 5 s). */
  probeTimeoutMs?: number;
  /** Process and thread limit inside the guest (kernel.threads-max; default 512). */
  pidsMax?: number;
  /** PATH searched for qemu-system-x86_64, qemu-img and ssh. */
  searchPath?: string;
  /** Until the guest's sshd answers (default 60 s; 180 s with a full Debian root). */
  readyTimeoutMs?: number;
  defaultExecTimeoutMs?: number;
}

/** How long a timed-out exec's session gets to close in order before its ssh is killed. */
const EXEC_STOP_GRACE_MS = 3000;

/** The stated minimum disk of a QEMU VM: the guest needs a file system to copy itself onto. */
const MIN_DISK_GB = 1;

/** ssh options for the provider's own connections (exec) to a guest. */
function sshOptions(dir: string, keyFile: string, port: number): string[] {
  return [
    ...['-i', keyFile, '-p', String(port)],
    ...['-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=20'],
    ...['-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, '-o', 'GlobalKnownHostsFile=/dev/null'],
    // One SSH connection per VM, reused by every exec (a handshake under TCG costs ~0.5 s).
    ...['-o', 'ControlMaster=auto', '-o', `ControlPath=${join(dir, 'ssh.ctl')}`, '-o', 'ControlPersist=60'],
  ];
}

/**
 * Runs the command in its own session inside the guest; when the ssh channel closes (the
 * provider gave up at the timeout and killed its ssh), the whole session is killed.
 */
function remoteCommand(command: string): string {
  const quoted = `'${command.replace(/'/g, `'\\''`)}'`;
  return [
    // A background job's stdin is /dev/null unless redirected: keep the channel's on fd 3.
    'cd /root 2>/dev/null; exec 3<&0;',
    `setsid /bin/sh -c ${quoted} </dev/null 3<&- & c=$!;`,
    '(cat <&3 >/dev/null; kill -9 -$c 2>/dev/null) & w=$!; exec 3<&-;',
    'wait $c; s=$?; kill $w 2>/dev/null; exit $s',
  ].join(' ');
}

function toPid(rec: VmRecord): { pid: number; start: string } | undefined {
  return rec.qemu ? { pid: rec.qemu.pid, start: rec.qemu.pid_start_time } : undefined;
}

/** True when the recorded PID is alive, started when recorded, and is QEMU running this VM. */
export function isOurQemu(rec: VmRecord): boolean {
  const q = rec.qemu;
  if (!q || !isProcessAlive(q.pid) || processStartTime(q.pid) !== q.pid_start_time) return false;
  const args = processArgs(q.pid);
  if (!args?.[0]?.endsWith('qemu-system-x86_64')) return false;
  const i = args.indexOf('-name');
  return i >= 0 && args[i + 1]?.startsWith(`${rec.name},`) === true;
}

/** Sends one QMP command (after the capabilities handshake); resolves with the reply line, or undefined when QMP did not answer. */
export function qmp(socketPath: string, command: string, args?: Record<string, unknown>, timeoutMs = 2000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = createConnection(socketPath);
    let buf = '';
    let stage = 0;
    const done = (v: string | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      if (buf.length > 65536) return done(undefined);
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (stage === 0 && line.includes('"QMP"')) {
          stage = 1;
          sock.write('{"execute":"qmp_capabilities"}\n');
        } else if (stage === 1 && line.includes('"return"')) {
          stage = 2;
          sock.write(`${JSON.stringify(args === undefined ? { execute: command } : { execute: command, arguments: args })}\n`);
        } else if (stage === 2 && (line.includes('"return"') || line.includes('"error"'))) {
          return done(line);
        }
      }
    });
    sock.on('error', () => done(undefined));
    sock.on('close', () => done(stage === 2 ? '' : undefined));
  });
}

/**
 * One QEMU VM per lease (`qemu-system-x86_64`, KVM when a probe boot shows it works, TCG
 * otherwise): `-smp vcpus -m memory_mb`, a copy-on-write qcow2 overlay over an empty ext4
 * image of exactly `disk_gb`, hostname `xe-<12 hex>`, an SSH host key made inside the VM
 * at its first boot (its fingerprint is in the VM object), the lease key for root, and
 * user-mode networking with `restrict=on`: the guest reaches nothing, only its SSH port is
 * forwarded from 127.0.0.1. QEMU runs daemonized with a pid file and a QMP socket and
 * outlives the provider; `reconcile` adopts it.
 */
export class QemuVmManager implements VmManager {
  readonly backend = 'qemu' as const;
  readonly deps: QemuDeps;
  readonly image: QemuImage;
  private readonly dataDir: string;
  private readonly store: VmStateStore;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly busy = new Map<string, Hash>();
  private readonly keyLine: AuthorizedKeyLineFn | undefined;
  private accel: Promise<Accelerator> | undefined;

  constructor(
    private readonly options: QemuVmManagerOptions,
    components: VmManagerComponents = {},
  ) {
    if (typeof options.dataDir !== 'string' || options.dataDir === '') {
      throw new VmInputError(VmErrorCodes.INVALID_OPTION, 'dataDir is required', { field: 'dataDir' });
    }
    this.dataDir = resolve(options.dataDir);
    this.deps = findQemuDeps(options.searchPath);
    this.image = findQemuImage(options.imageDir ?? process.env.XE_QEMU_IMAGE_DIR ?? DEFAULT_QEMU_IMAGE_DIR);
    this.store = new VmStateStore(this.dataDir);
    this.log = (components.logger ?? silentLogger).child('qemu-vm');
    this.clock = components.clock ?? systemClock;
    this.keyLine = components.authorizedKeyLine;
  }

  /** The accelerator in use (decided once per manager, by a probe boot unless forced). */
  accelerator(): Promise<Accelerator> {
    if (!this.accel) {
      const forced = this.options.accelerator;
      this.accel =
        forced === 'kvm' || forced === 'tcg'
          ? Promise.resolve(forced)
          : probeAccelerator(this.deps, this.image, this.options.probeTimeoutMs ?? 5000, this.log);
    }
    return this.accel;
  }

  private vmDir(name: string): string {
    return join(this.dataDir, 'qemu', name);
  }

  /** The provider's own key for exec (`<dataDir>/qemu/provider_ed25519`, made once by ssh-keygen) and its base64 public blob. */
  private async providerKey(): Promise<{ file: string; blob: string }> {
    const file = join(this.dataDir, 'qemu', 'provider_ed25519');
    await mkdir(join(this.dataDir, 'qemu'), { recursive: true });
    await makeSshKey(this.deps.sshKeygen, file, 'xe-provider', VmErrorCodes.QEMU_START_FAILED);
    const blob = (await readFile(`${file}.pub`, 'utf8')).split(' ')[1] ?? '';
    if (!/^[A-Za-z0-9+/]{68}$/.test(blob)) {
      throw new VmLifecycleError(VmErrorCodes.QEMU_START_FAILED, `${file}.pub is not an ssh-ed25519 public key`);
    }
    return { file, blob };
  }

  async provision(leaseHash: Hash, resources: Resources, accessPubKey: PubKey, options: AbortOptions = {}): Promise<ProviderVmInfo> {
    checkLeaseHash(leaseHash);
    const res = checkResources(resources);
    // The line passed a strict check: `ssh-ed25519 <68 base64 chars>`; only the blob goes on the kernel command line.
    const leaseBlob = authorizedKeyLineFor(this.keyLine, accessPubKey).split(' ')[1]!;
    const name = vmName(leaseHash);
    throwIfAborted(options.signal);
    await claimVm(this.busy, this.store, leaseHash, name);
    const eff = withMinimums(res, MIN_DISK_GB);
    const dir = this.vmDir(name);
    const rec: VmRecord = {
      name,
      lease_hash: leaseHash,
      backend: 'qemu',
      status: 'provisioning',
      resources: res,
      access_pub_key: accessPubKey,
      created_at: this.clock(),
      limits: { enforced: true, not_enforced: [], reason: '' },
    };
    try {
      await mkdir(dir, { recursive: true });
      await this.store.put(rec);
      const accel = await this.accelerator();
      throwIfAborted(options.signal);
      const provider = await this.providerKey();
      const templates = join(this.dataDir, 'qemu', 'templates');
      const template = this.image.root ? await fullRootTemplate(templates, this.image.root, eff.disk_gb) : await ext4Template(templates, eff.disk_gb);
      await createOverlay(this.deps, template, join(dir, 'disk.qcow2'));
      const pidsMax = this.options.pidsMax ?? DEFAULT_PIDS_MAX;
      rec.limits.reason = `qemu ${accel}: -smp ${eff.vcpus}, -m ${eff.memory_mb} MiB, disk ${eff.disk_gb} GiB (qcow2 over ext4${this.image.root ? ', full Debian root' : ''}), kernel.threads-max ${pidsMax}, network user-mode restrict=on`;
      const append = [
        'console=ttyS0',
        'quiet',
        'panic=-1',
        `xe.host=${name}`,
        `xe.key=${leaseBlob}`,
        `xe.key=${provider.blob}`,
        `xe.pids=${pidsMax}`,
        ...(this.image.root ? ['xe.root=full', 'net.ifnames=0'] : []),
      ].join(' ');
      const argsFor = (port: number) => [
        ...['-name', `${name},process=${name}`],
        ...(accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'max']),
        ...['-smp', String(eff.vcpus), '-m', String(eff.memory_mb)],
        ...['-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot'],
        // QEMU itself is fenced too: a seccomp filter (no obsolete syscalls, no changes to
        // scheduling or CPU affinity) and, once its files are open, no root (it runs as nobody).
        // (spawn=deny would stop -daemonize; elevateprivileges=deny would stop -runas.)
        ...['-sandbox', 'on,obsolete=deny,resourcecontrol=deny'],
        ...(process.getuid?.() === 0 ? ['-runas', 'nobody'] : []),
        ...['-kernel', this.image.kernel, '-initrd', this.image.initrd, '-append', append],
        ...['-serial', `file:${join(dir, 'console.log')}`],
        ...['-drive', `file=${join(dir, 'disk.qcow2')},format=qcow2,if=virtio,cache=writeback`],
        ...['-netdev', `user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:${port}-:22`, '-device', 'virtio-net-pci,netdev=n0'],
        ...['-qmp', `unix:${join(dir, 'qmp.sock')},server=on,wait=off`],
        ...['-pidfile', join(dir, 'qemu.pid'), '-daemonize'],
      ];
      // The forwarded port was free a moment ago; another process may take it first: retry with another.
      let port = 0;
      for (let attempt = 1; ; attempt++) {
        port = await freePort();
        try {
          await run(this.deps.qemu, argsFor(port), { timeout: 30_000 });
          break;
        } catch (err) {
          const e = err as { stderr?: string; code?: unknown; signal?: unknown };
          const why = `${String(e.stderr ?? '').trim() || String(err)} (exit ${String(e.code)}${e.signal ? `, ${String(e.signal)}` : ''})`;
          if (attempt < 3 && /hostfwd|host forwarding|Address already in use/i.test(why)) continue;
          throw new VmLifecycleError(VmErrorCodes.QEMU_START_FAILED, `qemu did not start: ${why.slice(0, 500)}`);
        }
      }
      const pid = Number((await readFile(join(dir, 'qemu.pid'), 'utf8')).trim());
      rec.qemu = { pid, pid_start_time: processStartTime(pid) ?? '', ssh_port: port, dir, accelerator: accel };
      await this.store.put(rec);
      const hostKey = await this.waitReady(rec, options.signal);
      // From here on the tenant is root in the guest and could write to the serial port
      // without end: detach it from the console file (its output goes nowhere).
      const swapped = await qmp(join(dir, 'qmp.sock'), 'chardev-change', { id: 'serial0', backend: { type: 'null', data: {} } });
      if (!swapped?.includes('"return"')) {
        throw new VmLifecycleError(VmErrorCodes.QEMU_START_FAILED, `cannot detach the serial console of ${name} from its log file: ${swapped ?? 'QMP did not answer'}`);
      }
      const pub = hostPublicKeyLine(hostKey);
      await writeFile(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${pub ?? hostKey}\n`, { mode: 0o600 });
      const fp = pub === undefined ? undefined : await sshKeyFingerprint(this.deps.sshKeygen, join(dir, 'known_hosts'));
      if (!fp || !pub) throw new VmLifecycleError(VmErrorCodes.QEMU_START_FAILED, `VM ${name} printed a host key ssh-keygen cannot read`);
      rec.host_key_fingerprint = fp;
      rec.host_public_key = pub;
      rec.status = 'running';
      await this.store.put(rec);
      if (options.signal?.aborted) throw abortError(options.signal);
      this.log.info('vm provisioned', { vm: name, lease: leaseHash, accelerator: accel, pid, port });
      return vmInfoOf(rec);
    } catch (err) {
      await this.destroy(rec).catch((e) => this.log.error('cleanup after failed provision failed', { vm: name, err: e }));
      throw options.signal?.aborted ? abortError(options.signal) : err;
    } finally {
      this.busy.delete(name);
    }
  }

  /** Waits for the guest's "XE-READY" and an SSH banner on the forwarded port; returns the host key line. */
  private async waitReady(rec: VmRecord, signal: AbortSignal | undefined): Promise<string> {
    const q = rec.qemu!;
    const consoleLog = join(q.dir, 'console.log');
    // A full Debian root boots systemd first (tens of seconds under TCG).
    const timeoutMs = this.options.readyTimeoutMs ?? (this.image.root ? 180_000 : 60_000);
    let hostKey = '';
    const ready = await pollUntil(
      async () => {
        if (!isProcessAlive(q.pid)) return false;
        const text = await readFile(consoleLog, 'latin1').catch(() => '');
        if (text.includes('XE-FAILED')) return false;
        const m = /XE-HOSTKEY (ssh-ed25519 [A-Za-z0-9+/=]+)/.exec(text);
        if (m) hostKey = m[1]!;
        if (!text.includes('XE-READY') || !hostKey) return undefined;
        return (await sshBannerReady(q.ssh_port, signal)) ? true : undefined;
      },
      { timeoutMs, intervalMs: 50, signal },
    );
    if (ready !== true) {
      const text = await readFile(consoleLog, 'latin1').catch(() => '');
      throw new VmLifecycleError(
        VmErrorCodes.QEMU_START_FAILED,
        `VM ${rec.name} did not become ready${ready === undefined ? ` within ${timeoutMs} ms` : ''}: ${text.trim().split('\n').slice(-3).join(' | ') || 'no console output'}`,
      );
    }
    return hostKey;
  }

  /** Stops QEMU (QMP quit, then SIGKILL), ends the exec connection, removes the VM's files and record. */
  private async destroy(rec: VmRecord): Promise<void> {
    const dir = this.vmDir(rec.name);
    const q = rec.qemu;
    if (q && isOurQemu(rec)) {
      await qmp(join(dir, 'qmp.sock'), 'quit');
      const gone = await pollUntil(() => (isProcessAlive(q.pid) ? undefined : true), { timeoutMs: 3000 });
      if (!gone) {
        killGroup(q.pid, 'SIGKILL');
        try {
          process.kill(q.pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
        const dead = await pollUntil(() => (isProcessAlive(q.pid) ? undefined : true), { timeoutMs: 5000 });
        if (!dead) throw new VmLifecycleError(VmErrorCodes.TEARDOWN_FAILED, `qemu process ${q.pid} did not exit`);
      }
    }
    if (existsSync(join(dir, 'ssh.ctl'))) {
      await run(this.deps.ssh, ['-o', `ControlPath=${join(dir, 'ssh.ctl')}`, '-O', 'exit', 'xe'], { timeout: 5000 }).catch(() => undefined);
    }
    if (q) {
      const closed = await pollUntil(async () => ((await portClosed(q.ssh_port)) ? true : undefined), { timeoutMs: 5000 });
      if (!closed) throw new VmLifecycleError(VmErrorCodes.TEARDOWN_FAILED, `port ${q.ssh_port} is still open after teardown`);
    }
    await rm(dir, { recursive: true, force: true });
    await this.store.delete(rec.name);
  }

  async teardown(leaseHash: Hash, options: AbortOptions = {}): Promise<void> {
    const name = vmName(leaseHash);
    throwIfAborted(options.signal);
    const rec = await recordOfLease(this.store, leaseHash, name);
    if (rec?.backend !== 'qemu') return;
    await this.destroy(rec);
    this.log.info('vm torn down', { vm: name, lease: leaseHash });
  }

  private async running(leaseHash: Hash): Promise<VmRecord> {
    const name = vmName(leaseHash);
    const rec = await recordOfLease(this.store, leaseHash, name);
    if (rec?.backend !== 'qemu') {
      throw new VmStateError(VmErrorCodes.VM_NOT_FOUND, `no VM for lease ${leaseHash}`, { details: { name } });
    }
    if (rec.status !== 'running' || !isOurQemu(rec)) {
      throw new VmStateError(VmErrorCodes.VM_NOT_RUNNING, `the VM of lease ${leaseHash} is not running`, { details: { name, status: rec.status } });
    }
    return rec;
  }

  async exec(leaseHash: Hash, command: string, options: ExecOptions = {}): Promise<ExecResult> {
    checkLeaseHash(leaseHash);
    if (typeof command !== 'string' || command === '') {
      throw new VmInputError(VmErrorCodes.INVALID_OPTION, 'command must be a non-empty string', { field: 'command' });
    }
    const rec = await this.running(leaseHash);
    const { file } = await this.providerKey();
    const q = rec.qemu!;
    return runCapped(this.deps.ssh, [...sshOptions(q.dir, file, q.ssh_port), 'root@127.0.0.1', remoteCommand(command)], {
      timeoutMs: options.timeoutMs ?? this.options.defaultExecTimeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS,
      signal: options.signal,
      stdin: 'pipe',
      // At the timeout the channel's stdin closes first: the guest ends the command and the
      // session closes in order (dropbear can drop the next session when a session is cut
      // while its command still runs); the ssh client is killed only if that does not happen.
      closeStdinGraceMs: EXEC_STOP_GRACE_MS,
    });
  }

  async dialSsh(leaseHash: Hash, options: AbortOptions = {}): Promise<Duplex> {
    checkLeaseHash(leaseHash);
    const rec = await this.running(leaseHash);
    return connectTcp(rec.qemu!.ssh_port, { signal: options.signal });
  }

  private status(rec: VmRecord): ProviderVmInfo['status'] {
    if (rec.status !== 'running') return rec.status;
    return isOurQemu(rec) ? 'running' : 'stopped';
  }

  async get(leaseHash: Hash, options: AbortOptions = {}): Promise<ProviderVmInfo | undefined> {
    throwIfAborted(options.signal);
    const rec = await recordOfLease(this.store, leaseHash, vmName(leaseHash));
    return rec?.backend === 'qemu' ? vmInfoOf(rec, this.status(rec)) : undefined;
  }

  async list(options: AbortOptions = {}): Promise<ProviderVmInfo[]> {
    throwIfAborted(options.signal);
    return (await this.store.all()).filter((r) => r.backend === 'qemu').map((r) => vmInfoOf(r, this.status(r)));
  }

  async details(leaseHash: Hash, options: AbortOptions = {}): Promise<VmDetails | undefined> {
    throwIfAborted(options.signal);
    const rec = await recordOfLease(this.store, leaseHash, vmName(leaseHash));
    if (rec?.backend !== 'qemu') return undefined;
    const status = this.status(rec);
    const out: VmDetails = { name: rec.name, lease_hash: rec.lease_hash, backend: 'qemu', status, pids: rec.qemu ? [rec.qemu.pid] : [], limits: rec.limits };
    if (status === 'running' && rec.qemu) out.ssh_port = rec.qemu.ssh_port;
    return out;
  }

  /**
   * Adopts a running VM of an active lease when its pid file still names the recorded
   * QEMU process and its QMP socket answers; tears the others down.
   */
  async reconcile(isLeaseActive: LeaseActivePredicate, options: AbortOptions = {}): Promise<ReconcileResult> {
    return reconcileRecords(
      {
        backend: 'qemu',
        store: this.store,
        busy: this.busy,
        log: this.log,
        running: async (rec) => {
          const dir = this.vmDir(rec.name);
          const pidFile = await readFile(join(dir, 'qemu.pid'), 'utf8').catch(() => '');
          const alive =
            isOurQemu(rec) &&
            Number(pidFile.trim()) === toPid(rec)?.pid &&
            (await qmp(join(dir, 'qmp.sock'), 'query-status'))?.includes('"return"') === true;
          return alive ? { pid: rec.qemu!.pid, port: rec.qemu!.ssh_port } : undefined;
        },
        destroy: (rec) => this.destroy(rec),
      },
      isLeaseActive,
      options,
    );
  }
}
