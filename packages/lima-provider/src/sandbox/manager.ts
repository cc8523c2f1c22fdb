import type { Socket } from 'node:net';
import { join, resolve } from 'node:path';
import {
  type AbortOptions,
  type Clock,
  type ExecResult,
  type Hash,
  type Logger,
  type PubKey,
  type Resources,
  type VmInfo,
  abortError,
  silentLogger,
  systemClock,
  throwIfAborted,
} from '@xe/core-types';
import { VmErrorCodes, VmInputError, VmStateError } from '../errors.js';
import { checkAccessKey, checkLeaseHash, checkResources, sshAuthorizedKeyLine, vmName } from '../keys.js';
import { connectTcp } from '../net.js';
import { runCapped } from '../proc.js';
import { claimVm, type VmRecord, VmStateStore } from '../state.js';
import {
  DEFAULT_EXEC_TIMEOUT_MS,
  type ExecOptions,
  type LeaseActivePredicate,
  type ReconcileResult,
  type VmDetails,
  type VmManager,
  type VmManagerComponents,
} from '../types.js';
import { removeCgroup, setupCgroup } from './cgroup.js';
import { type SandboxDeps, findSandboxDeps } from './deps.js';
import {
  type SandboxHandle,
  SANDBOX_ENV,
  inCgroup,
  isOurSandbox,
  removeSandboxDir,
  sandboxExecArgs,
  startSandbox,
  stopSandbox,
} from './sandbox.js';

export interface SandboxVmManagerOptions {
  /** The provider's data directory; VMs live in `<dataDir>/sandbox/<name>`, records in `<dataDir>/vms`. */
  dataDir: string;
  /** sshd to run; otherwise $XE_SSHD_PATH, /opt/xe-sandbox/usr/sbin/sshd, /usr/sbin/sshd. */
  sshdPath?: string;
  /** PATH searched for bwrap and nsenter (process.env.PATH by default). */
  searchPath?: string;
  /** Apply memory/CPU limits through cgroup v2 when the machine allows it (default true). */
  enforceLimits?: boolean;
  /** cgroup v2 mount point (default /sys/fs/cgroup). */
  cgroupRoot?: string;
  readyTimeoutMs?: number;
  teardownTimeoutMs?: number;
  defaultExecTimeoutMs?: number;
}

function toHandle(rec: VmRecord): SandboxHandle | undefined {
  const s = rec.sandbox;
  if (!s) return undefined;
  return { pid: s.pid, pidStartTime: s.pid_start_time, initPid: s.init_pid, port: s.port, dir: s.dir };
}

function info(rec: VmRecord, status = rec.status): VmInfo {
  return { lease_hash: rec.lease_hash, status, resources: { ...rec.resources }, created_at: rec.created_at };
}

/**
 * VMs as bubblewrap sandboxes on this machine: each has its own root directory, PID/IPC/UTS
 * namespaces, hostname (the VM name) and a real OpenSSH sshd on a free 127.0.0.1 port that
 * accepts only the lease key for root. Sandboxes run detached and outlive this process.
 */
export class SandboxVmManager implements VmManager {
  readonly backend = 'sandbox' as const;
  readonly deps: SandboxDeps;
  private readonly dataDir: string;
  private readonly store: VmStateStore;
  private readonly log: Logger;
  private readonly clock: Clock;
  /** Leases with a provision or teardown in flight in this process. */
  private readonly busy = new Set<string>();

  constructor(
    private readonly options: SandboxVmManagerOptions,
    components: VmManagerComponents = {},
  ) {
    if (typeof options.dataDir !== 'string' || options.dataDir === '') {
      throw new VmInputError(VmErrorCodes.INVALID_OPTION, 'dataDir is required', { field: 'dataDir' });
    }
    this.dataDir = resolve(options.dataDir);
    this.deps = findSandboxDeps({ sshdPath: options.sshdPath, searchPath: options.searchPath });
    this.store = new VmStateStore(this.dataDir);
    this.log = (components.logger ?? silentLogger).child('sandbox-vm');
    this.clock = components.clock ?? systemClock;
  }

  async provision(leaseHash: Hash, resources: Resources, accessPubKey: PubKey, options: AbortOptions = {}): Promise<VmInfo> {
    checkLeaseHash(leaseHash);
    const res = checkResources(resources);
    const keyLine = sshAuthorizedKeyLine(checkAccessKey(accessPubKey));
    const name = vmName(leaseHash);
    throwIfAborted(options.signal);
    await claimVm(this.busy, this.store, leaseHash, name);
    const dir = join(this.dataDir, 'sandbox', name);
    const limits =
      this.options.enforceLimits === false
        ? { enforced: false, reason: 'limits disabled by configuration' }
        : setupCgroup(name, res, this.options.cgroupRoot);
    if (!limits.enforced) this.log.warn('memory and CPU limits are not enforced', { vm: name, reason: limits.reason });
    const rec: VmRecord = {
      name,
      lease_hash: leaseHash,
      backend: 'sandbox',
      status: 'provisioning',
      resources: res,
      access_pub_key: accessPubKey,
      created_at: this.clock(),
      limits,
    };
    try {
      await this.store.put(rec);
      const handle = await startSandbox(
        this.deps,
        { dir, hostname: name, authorizedKeys: `${keyLine}\n`, limits },
        {
          signal: options.signal,
          logger: this.log,
          ...(this.options.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: this.options.readyTimeoutMs }),
        },
      );
      rec.sandbox = {
        pid: handle.pid,
        pid_start_time: handle.pidStartTime,
        init_pid: handle.initPid,
        port: handle.port,
        dir,
      };
      rec.status = 'running';
      await this.store.put(rec);
      if (options.signal?.aborted) throw abortError(options.signal);
      this.log.info('vm provisioned', { vm: name, lease: leaseHash, port: handle.port, pid: handle.pid });
      return info(rec);
    } catch (err) {
      await this.destroy(rec).catch((e) => this.log.error('cleanup after failed provision failed', { vm: name, err: e }));
      throw options.signal?.aborted ? abortError(options.signal) : err;
    } finally {
      this.busy.delete(name);
    }
  }

  /** Stops the sandbox (if any), removes its directory, cgroup and record. */
  private async destroy(rec: VmRecord): Promise<void> {
    const handle = toHandle(rec);
    if (handle) await stopSandbox(handle, this.stopOptions());
    removeCgroup(rec.limits);
    await removeSandboxDir(join(this.dataDir, 'sandbox', rec.name));
    await this.store.delete(rec.name);
  }

  private stopOptions(): { timeoutMs?: number } {
    return this.options.teardownTimeoutMs === undefined ? {} : { timeoutMs: this.options.teardownTimeoutMs };
  }

  async teardown(leaseHash: Hash, options: AbortOptions = {}): Promise<void> {
    const name = vmName(leaseHash);
    throwIfAborted(options.signal);
    const rec = await this.store.get(name);
    if (!rec) return;
    await this.destroy(rec);
    this.log.info('vm torn down', { vm: name, lease: leaseHash });
  }

  private async running(leaseHash: Hash): Promise<{ rec: VmRecord; handle: SandboxHandle }> {
    const name = vmName(leaseHash);
    const rec = await this.store.get(name);
    if (!rec || rec.lease_hash !== leaseHash) {
      throw new VmStateError(VmErrorCodes.VM_NOT_FOUND, `no VM for lease ${leaseHash}`, { details: { name } });
    }
    const handle = toHandle(rec);
    if (rec.status !== 'running' || !handle || !isOurSandbox(handle)) {
      throw new VmStateError(VmErrorCodes.VM_NOT_RUNNING, `the VM of lease ${leaseHash} is not running`, {
        details: { name, status: rec.status },
      });
    }
    return { rec, handle };
  }

  async exec(leaseHash: Hash, command: string, options: ExecOptions = {}): Promise<ExecResult> {
    checkLeaseHash(leaseHash);
    if (typeof command !== 'string' || command === '') {
      throw new VmInputError(VmErrorCodes.INVALID_OPTION, 'command must be a non-empty string', { field: 'command' });
    }
    const { rec, handle } = await this.running(leaseHash);
    const [file, args] = inCgroup(rec.limits, ...sandboxExecArgs(this.deps, handle, command));
    return runCapped(file, args, {
      timeoutMs: options.timeoutMs ?? this.options.defaultExecTimeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS,
      signal: options.signal,
      env: { ...SANDBOX_ENV },
    });
  }

  async dialSsh(leaseHash: Hash, options: AbortOptions = {}): Promise<Socket> {
    checkLeaseHash(leaseHash);
    const { handle } = await this.running(leaseHash);
    return connectTcp(handle.port, { signal: options.signal });
  }

  private status(rec: VmRecord): VmInfo['status'] {
    if (rec.status !== 'running') return rec.status;
    const handle = toHandle(rec);
    return handle && isOurSandbox(handle) ? 'running' : 'stopped';
  }

  async get(leaseHash: Hash, options: AbortOptions = {}): Promise<VmInfo | undefined> {
    throwIfAborted(options.signal);
    const rec = await this.store.get(vmName(leaseHash));
    return rec && rec.lease_hash === leaseHash ? info(rec, this.status(rec)) : undefined;
  }

  async list(options: AbortOptions = {}): Promise<VmInfo[]> {
    throwIfAborted(options.signal);
    return (await this.store.all()).filter((r) => r.backend === 'sandbox').map((r) => info(r, this.status(r)));
  }

  async details(leaseHash: Hash, options: AbortOptions = {}): Promise<VmDetails | undefined> {
    throwIfAborted(options.signal);
    const rec = await this.store.get(vmName(leaseHash));
    if (!rec || rec.lease_hash !== leaseHash) return undefined;
    const status = this.status(rec);
    const out: VmDetails = {
      name: rec.name,
      lease_hash: rec.lease_hash,
      backend: 'sandbox',
      status,
      pids: rec.sandbox ? [rec.sandbox.pid, rec.sandbox.init_pid] : [],
      limits: rec.limits,
    };
    if (status === 'running' && rec.sandbox) out.ssh_port = rec.sandbox.port;
    return out;
  }

  async reconcile(isLeaseActive: LeaseActivePredicate, options: AbortOptions = {}): Promise<ReconcileResult> {
    const result: ReconcileResult = { adopted: [], removed: [], lost: [] };
    for (const rec of await this.store.all()) {
      throwIfAborted(options.signal);
      if (rec.backend !== 'sandbox' || this.busy.has(rec.name)) continue;
      const handle = toHandle(rec);
      const alive = rec.status === 'running' && handle !== undefined && isOurSandbox(handle);
      const active = await isLeaseActive(rec.lease_hash);
      if (active && alive) {
        result.adopted.push(rec.lease_hash);
        this.log.info('vm adopted', { vm: rec.name, lease: rec.lease_hash, pid: handle.pid, port: handle.port });
        continue;
      }
      await this.destroy(rec);
      if (active) {
        result.lost.push(rec.lease_hash);
        this.log.warn('vm of an active lease was not running; removed its leftovers', { vm: rec.name, lease: rec.lease_hash });
      } else {
        result.removed.push(rec.lease_hash);
        this.log.info('vm of an inactive lease torn down', { vm: rec.name, lease: rec.lease_hash });
      }
    }
    return result;
  }
}
