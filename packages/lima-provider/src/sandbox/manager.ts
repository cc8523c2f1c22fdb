import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
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
import { isProcessAlive, runCapped } from '../proc.js';
import { makeHostKey } from '../ssh-keygen.js';
import { claimVm, reconcileRecords, recordOfLease, type VmRecord, VmStateStore } from '../state.js';
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
import { removeCgroups, setupCgroups } from './cgroup.js';
import { type SandboxDeps, findSandboxDeps } from './deps.js';
import { ext4Template, mountDisk, unmountDisk } from './disk.js';
import { DiskPool, POOL_SIZE_MAX, REFILL_DELAY_MS, sweepDeadPools } from './pool.js';
import {
  type SandboxHandle,
  SANDBOX_ENV,
  adoptSandbox,
  dialSandboxSsh,
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
  /**
   * Provision even when a limit (memory, pids, cpu, cpuset, disk) cannot be enforced on
   * this machine; the VM info then lists them in `limits_not_enforced`. Default false:
   * provisioning fails with LIMITS_NOT_ENFORCED.
   */
  acceptUnenforcedLimits?: boolean;
  /** cgroup mount point (default /sys/fs/cgroup; v2 when its controllers are there, else v1). */
  cgroupRoot?: string;
  /** Process-count limit per VM (default 512). */
  pidsMax?: number;
  /** Where the prepared ext4 images live (default `<dataDir>/sandbox/templates`). */
  templateDir?: string;
  /**
   * Ready lease disks to keep per disk size (0..8, default 0: none): each a fresh copy of
   * the size's ext4 image, loop-mounted, laid out and with its own host key, made in the
   * background (from `reconcile` on, and after each provision) and handed to one lease
   * only. `close()` removes the disks not taken; a killed provider's are removed by the
   * next `reconcile` over the same data directory.
   */
  poolSize?: number;
  readyTimeoutMs?: number;
  teardownTimeoutMs?: number;
  defaultExecTimeoutMs?: number;
}

/** Process-count limit of a sandbox VM when the options give none. */
export const DEFAULT_PIDS_MAX = 512;

function toHandle(rec: VmRecord): SandboxHandle | undefined {
  const s = rec.sandbox;
  if (!s) return undefined;
  return { pid: s.pid, pidStartTime: s.pid_start_time, initPid: s.init_pid, dir: s.dir, ...(s.root === undefined ? {} : { root: s.root }) };
}

/** The record of a running sandbox (the inverse of toHandle). */
function sandboxRecordOf(h: SandboxHandle): NonNullable<VmRecord['sandbox']> {
  return { pid: h.pid, pid_start_time: h.pidStartTime, init_pid: h.initPid, dir: h.dir, ...(h.root === undefined ? {} : { root: h.root }) };
}

/** The VM object of a record (with the host key fingerprint and, if any, the limits not enforced). */
export function vmInfoOf(rec: VmRecord, status = rec.status): ProviderVmInfo {
  const out: ProviderVmInfo = { lease_hash: rec.lease_hash, status, resources: { ...rec.resources }, created_at: rec.created_at };
  if (rec.host_key_fingerprint) out.host_key_fingerprint = rec.host_key_fingerprint;
  if (rec.host_public_key) out.host_public_key = rec.host_public_key;
  if (rec.limits.not_enforced.length > 0) out.limits_not_enforced = [...rec.limits.not_enforced];
  return out;
}

/** CPUs this process may use (its affinity, as nproc counts them). */
export function hostCpuCount(): number {
  return Math.max(1, availableParallelism());
}

/**
 * VMs as sealed bubblewrap sandboxes on this machine. Each has its own PID/IPC/UTS/network
 * namespaces (the network holds only `lo`), a root file system that is a loop-mounted ext4
 * image of exactly `disk_gb`, cgroup limits on memory, processes, CPU time and CPUs, and
 * no listening port anywhere: SSH reaches it through `dialSsh`, an `sshd -i` started inside
 * per connection. Sandboxes run detached and outlive this process.
 */
export class SandboxVmManager implements VmManager {
  readonly backend = 'sandbox' as const;
  readonly deps: SandboxDeps;
  private readonly dataDir: string;
  private readonly store: VmStateStore;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly keyLine: AuthorizedKeyLineFn | undefined;
  /** Leases with a provision or teardown in flight in this process. */
  private readonly busy = new Map<string, Hash>();
  private readonly templateDir: string;
  /** Ready lease disks (when `poolSize` > 0). */
  readonly pool: DiskPool | undefined;

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
    this.keyLine = components.authorizedKeyLine;
    this.templateDir = options.templateDir ?? join(this.dataDir, 'sandbox', 'templates');
    const poolSize = options.poolSize ?? 0;
    if (!Number.isSafeInteger(poolSize) || poolSize < 0 || poolSize > POOL_SIZE_MAX) {
      throw new VmInputError(VmErrorCodes.INVALID_OPTION, `poolSize must be an integer between 0 and ${POOL_SIZE_MAX}`, { field: 'poolSize' });
    }
    this.pool =
      poolSize > 0
        ? new DiskPool({ poolRoot: this.poolRoot(), templateDir: this.templateDir, size: poolSize, deps: this.deps, logger: this.log })
        : undefined;
  }

  private poolRoot(): string {
    return join(this.dataDir, 'sandbox', '.pool');
  }

  /**
   * Starts making ready sandboxes (disk and started sandbox) of `diskGb` GiB (default 1, the minimum) in the background
   * (no-op without a pool); `reconcile` calls it. Resolves when the pool is full.
   */
  async warmPool(diskGb = 1): Promise<void> {
    if (!this.pool) return;
    this.pool.want(diskGb);
    await this.pool.idle();
  }

  /** Stops and removes the ready sandboxes not taken (the VMs keep running). Call when the provider stops. */
  async close(): Promise<void> {
    await this.pool?.close();
  }

  async provision(leaseHash: Hash, resources: Resources, accessPubKey: PubKey, options: AbortOptions = {}): Promise<ProviderVmInfo> {
    checkLeaseHash(leaseHash);
    const res = checkResources(resources);
    const keyLine = authorizedKeyLineFor(this.keyLine, accessPubKey);
    const name = vmName(leaseHash);
    throwIfAborted(options.signal);
    // When each phase was done, in ms since the call (logged with 'vm provisioned').
    const t0 = performance.now();
    const phases: Record<string, number> = {};
    const mark = (phase: string) => {
      phases[phase] = Math.round((performance.now() - t0) * 10) / 10;
    };
    await claimVm(this.busy, this.store, leaseHash, name);
    const dir = join(this.dataDir, 'sandbox', name);
    const eff = withMinimums(res, 1);
    eff.vcpus = Math.min(eff.vcpus, hostCpuCount());
    const rec: VmRecord = {
      name,
      lease_hash: leaseHash,
      backend: 'sandbox',
      status: 'provisioning',
      resources: res,
      access_pub_key: accessPubKey,
      created_at: this.clock(),
      limits: { enforced: false, not_enforced: [], reason: '', cgroups: [] },
    };
    const hostKeyFile = join(dir, 'host_key');
    // Taken from the pool (if one is ready) for this lease only: moved into place, or destroyed.
    let pooled = await this.pool?.takeOrWait(eff.disk_gb, options.signal);
    try {
      const cg = setupCgroups(name, eff, { ...(this.options.cgroupRoot ? { root: this.options.cgroupRoot } : {}), pidsMax: this.options.pidsMax ?? DEFAULT_PIDS_MAX });
      rec.limits.cgroups = cg.dirs;
      mark('cgroups');
      // Recorded before any disk is in the VM's directory: a crash from here on leaves a record that reconcile cleans up.
      await this.store.put(rec);
      throwIfAborted(options.signal);
      const missing: Record<string, string> = { ...cg.missing };
      const how: string[] = Object.entries(cg.enforced).map(([k, v]) => `${k}: ${v}`);
      // A ready disk from the pool (copied, mounted, laid out, with its own host key, its sandbox running), moved into place…
      const taken = pooled;
      pooled = undefined;
      const ready = taken ? await this.pool!.moveTo(taken, dir) : undefined;
      let key: { pub: string; fp: string };
      if (ready) {
        // Its sandbox runs: recorded before anything else, so that a crash from here on leaves a record that stops it.
        rec.sandbox = sandboxRecordOf(ready.sandbox);
        await this.store.put(rec);
        key = { pub: ready.hostPublicKey, fp: ready.hostKeyFingerprint };
        how.push(`disk: ext4 image of ${eff.disk_gb} GiB, loop-mounted (prepared ahead)`);
        mark('disk');
      } else {
        // …or made now: the disk copied and mounted (child processes) while the host key is made.
        await mkdir(dir, { recursive: true });
        const disk = ext4Template(this.templateDir, eff.disk_gb)
          .then((template) => mountDisk(template, join(dir, 'disk.img'), join(dir, 'root')))
          .then(() => mark('disk'));
        disk.catch(() => {});
        const hostKey = makeHostKey(this.deps.sshKeygen, hostKeyFile, `root@${name}`).then((k) => {
          mark('host_key');
          return k;
        });
        hostKey.catch(() => {});
        try {
          await disk;
          how.push(`disk: ext4 image of ${eff.disk_gb} GiB, loop-mounted`);
        } catch (err) {
          if (options.signal?.aborted) throw err;
          missing.disk = `cannot loop-mount an ext4 image: ${(err as Error).message.split('\n')[0]}`;
        }
        throwIfAborted(options.signal);
        key = await hostKey;
      }
      const notEnforced = Object.keys(missing);
      rec.limits = {
        enforced: notEnforced.length === 0,
        not_enforced: notEnforced,
        reason: [...how, ...Object.entries(missing).map(([k, v]) => `${k} NOT ENFORCED: ${v}`)].join('; '),
        cgroups: cg.dirs,
      };
      if (notEnforced.length > 0) {
        if (this.options.acceptUnenforcedLimits !== true) {
          throw new VmLifecycleError(
            VmErrorCodes.LIMITS_NOT_ENFORCED,
            `cannot enforce the lease's limits (${notEnforced.join(', ')}) on this machine: ${Object.values(missing).join('; ')}; pass the option that accepts unenforced limits to provision anyway`,
            { details: { not_enforced: notEnforced, missing } },
          );
        }
        this.log.warn('lease limits not enforced (accepted by configuration)', { vm: name, not_enforced: notEnforced, reason: rec.limits.reason });
      }
      const spec = { dir, hostname: name, authorizedKeys: `${keyLine}\n`, cgroups: cg.dirs, ...(ready ? { prepared: true } : { hostKeyFile }) };
      const prestarted = ready?.sandbox;
      // The pool's sandbox, adopted when it still runs; otherwise (it died in the pool) one is started on the disk now.
      const alive = prestarted !== undefined && isOurSandbox(prestarted) && isProcessAlive(prestarted.initPid);
      if (prestarted !== undefined && !alive) {
        this.log.warn('the pooled sandbox is gone; starting one', { vm: name, pid: prestarted.pid });
        await stopSandbox(prestarted, this.stopOptions());
      }
      const handle = alive
        ? await adoptSandbox(this.deps, prestarted, spec, { signal: options.signal, onPhase: mark })
        : await startSandbox(this.deps, spec, {
            signal: options.signal,
            logger: this.log,
            onPhase: mark,
            ...(this.options.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: this.options.readyTimeoutMs }),
          });
      rec.sandbox = sandboxRecordOf(handle);
      rec.host_key_fingerprint = key.fp;
      rec.host_public_key = key.pub;
      rec.status = 'running';
      await this.store.put(rec);
      if (options.signal?.aborted) throw abortError(options.signal);
      mark('recorded');
      this.log.info('vm provisioned', { vm: name, lease: leaseHash, pid: handle.pid, started_ahead: alive, limits: rec.limits.reason, phases_ms: phases });
      return vmInfoOf(rec);
    } catch (err) {
      if (pooled) await this.pool!.discard(pooled).catch((e) => this.log.error('cannot remove a pooled disk', { vm: name, err: e }));
      await this.destroy(rec).catch((e) => this.log.error('cleanup after failed provision failed', { vm: name, err: e }));
      throw options.signal?.aborted ? abortError(options.signal) : err;
    } finally {
      this.busy.delete(name);
      // Refilled a moment after the provision, so that making the next sandbox slows neither
      // this one nor the rest of the lease's accept (a provision that finds none ready meanwhile starts it).
      this.pool?.want(eff.disk_gb, REFILL_DELAY_MS);
    }
  }

  /** Stops the sandbox (if any), unmounts its disk, removes its directory, cgroups and record. */
  private async destroy(rec: VmRecord): Promise<void> {
    const handle = toHandle(rec);
    if (handle) await stopSandbox(handle, this.stopOptions());
    const dir = join(this.dataDir, 'sandbox', rec.name);
    await unmountDisk(join(dir, 'root'));
    removeCgroups(rec.limits.cgroups ?? []);
    await removeSandboxDir(dir);
    await this.store.delete(rec.name);
  }

  private stopOptions(): { timeoutMs?: number } {
    return this.options.teardownTimeoutMs === undefined ? {} : { timeoutMs: this.options.teardownTimeoutMs };
  }

  async teardown(leaseHash: Hash, options: AbortOptions = {}): Promise<void> {
    const name = vmName(leaseHash);
    throwIfAborted(options.signal);
    const rec = await recordOfLease(this.store, leaseHash, name);
    if (!rec) return;
    await this.destroy(rec);
    this.log.info('vm torn down', { vm: name, lease: leaseHash });
  }

  private async running(leaseHash: Hash): Promise<{ rec: VmRecord; handle: SandboxHandle }> {
    const name = vmName(leaseHash);
    const rec = await recordOfLease(this.store, leaseHash, name);
    if (!rec) {
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
    const [file, args] = inCgroup(rec.limits.cgroups, ...sandboxExecArgs(this.deps, handle, command));
    return runCapped(file, args, {
      timeoutMs: options.timeoutMs ?? this.options.defaultExecTimeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS,
      signal: options.signal,
      env: { ...SANDBOX_ENV },
      killTree: true,
    });
  }

  async dialSsh(leaseHash: Hash, options: AbortOptions = {}): Promise<Duplex> {
    checkLeaseHash(leaseHash);
    throwIfAborted(options.signal);
    const { rec, handle } = await this.running(leaseHash);
    return dialSandboxSsh(this.deps, handle, rec.limits.cgroups);
  }

  private status(rec: VmRecord): ProviderVmInfo['status'] {
    if (rec.status !== 'running') return rec.status;
    const handle = toHandle(rec);
    return handle && isOurSandbox(handle) ? 'running' : 'stopped';
  }

  async get(leaseHash: Hash, options: AbortOptions = {}): Promise<ProviderVmInfo | undefined> {
    throwIfAborted(options.signal);
    const rec = await recordOfLease(this.store, leaseHash, vmName(leaseHash));
    return rec ? vmInfoOf(rec, this.status(rec)) : undefined;
  }

  async list(options: AbortOptions = {}): Promise<ProviderVmInfo[]> {
    throwIfAborted(options.signal);
    return (await this.store.all()).filter((r) => r.backend === 'sandbox').map((r) => vmInfoOf(r, this.status(r)));
  }

  async details(leaseHash: Hash, options: AbortOptions = {}): Promise<VmDetails | undefined> {
    throwIfAborted(options.signal);
    const rec = await recordOfLease(this.store, leaseHash, vmName(leaseHash));
    if (!rec) return undefined;
    const status = this.status(rec);
    const out: VmDetails = {
      name: rec.name,
      lease_hash: rec.lease_hash,
      backend: 'sandbox',
      status,
      pids: rec.sandbox ? [rec.sandbox.pid, rec.sandbox.init_pid] : [],
      limits: rec.limits,
    };
    return out;
  }

  async reconcile(isLeaseActive: LeaseActivePredicate, options: AbortOptions = {}): Promise<ReconcileResult> {
    // Ready disks a killed provider left behind are removed (whatever the pool size now).
    const swept = await sweepDeadPools(this.poolRoot());
    if (swept > 0) this.log.info('removed the disk pools of providers that did not stop cleanly', { pools: swept });
    void this.warmPool().catch(() => {});
    return reconcileRecords(
      {
        backend: 'sandbox',
        store: this.store,
        busy: this.busy,
        log: this.log,
        running: async (rec) => {
          const handle = toHandle(rec);
          return handle !== undefined && isOurSandbox(handle) ? { pid: handle.pid } : undefined;
        },
        destroy: (rec) => this.destroy(rec),
      },
      isLeaseActive,
      options,
    );
  }
}
