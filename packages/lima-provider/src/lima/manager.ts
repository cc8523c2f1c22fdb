import { chownSync, mkdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
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
  type VmStatus,
  abortError,
  silentLogger,
  systemClock,
  throwIfAborted,
} from '@xe/core-types';
import { LimaError, VmErrorCodes, VmInputError, VmStateError } from '../errors.js';
import { type AuthorizedKeyLineFn, authorizedKeyLineFor, checkLeaseHash, checkResources, vmName } from '../keys.js';
import { scanHostKey, sshKeyLineFingerprint } from '../ssh-keygen.js';
import { connectTcp, freePort, portClosed, sshBannerReady } from '../net.js';
import { pollUntil } from '../proc.js';
import { claimVm, reconcileRecords, recordOfLease, type VmRecord, VmStateStore } from '../state.js';
import {
  DEFAULT_EXEC_TIMEOUT_MS,
  type ExecOptions,
  type LeaseActivePredicate,
  type ProviderVmInfo,
  type ReconcileResult,
  type VmDetails,
  type VmLimits,
  type VmManager,
  type VmManagerComponents,
} from '../types.js';
import { vmInfoOf } from '../sandbox/manager.js';
import {
  type LimaFirewallOptions,
  allowLoopbackPort,
  checkLimaFirewall,
  denyLoopbackPort,
  firewallChain,
  installLimaFirewall,
  lookupUser,
} from './firewall.js';
import { DEFAULT_LIMACTL_TIMEOUTS, type LimaInstance, Limactl, type LimactlTimeouts } from './limactl.js';
import { type LimaImage, renderTemplate } from './template.js';

/**
 * Lima's unix sockets (the host agent's, ssh's ControlPath plus the random suffix ssh
 * appends while creating it) stop working beyond about this many bytes.
 */
export const LIMA_SOCKET_PATH_MAX = 100;
/** The longest socket path Lima makes under an instance directory: `<LIMA_HOME>/<name>/ssh.sock` + ssh's 17-byte temp suffix. */
const SOCKET_SUFFIX_BYTES = '/xe-000000000000/ssh.sock'.length + 17;

const LIMITS: VmLimits = { enforced: true, not_enforced: [], reason: 'Lima VM sized by its template (cpus, memory, disk)' };

export interface LimaVmManagerOptions {
  dataDir: string;
  /** limactl to run (default `limactl` on PATH). */
  limactlPath?: string;
  /** LIMA_HOME; default `<dataDir>/lima`. Must stay short (see LIMA_SOCKET_PATH_MAX). */
  limaHome?: string;
  images?: readonly LimaImage[];
  timeouts?: Partial<LimactlTimeouts>;
  /** How long to wait for the VM's SSH banner after `limactl start` (default 120 s). */
  sshReadyTimeoutMs?: number;
  defaultExecTimeoutMs?: number;
  /**
   * The dedicated unprivileged user that runs limactl, and so Lima's host agents and the
   * VMs' QEMU, whose user-mode network makes the guests' connections on the host: the host
   * firewall fences that user's traffic (see README, "What Lima isolates").
   */
  runAsUser?: string;
  /** How the firewall's iptables/ip6tables are run and which host addresses it fences (defaults: the host's). */
  firewall?: Omit<LimaFirewallOptions, 'uid'>;
  /**
   * Provision even when the host firewall is not in place (no `runAsUser`, no iptables, not
   * root); the VM object then lists `network` in `limits_not_enforced`. Default false:
   * provisioning fails with HOST_FIREWALL_MISSING.
   */
  acceptUnenforcedLimits?: boolean;
}

/** Throws LIMA_HOME_TOO_LONG when Lima's sockets under `limaHome` would exceed the limit. */
export function checkLimaHome(limaHome: string): void {
  const longest = Buffer.byteLength(limaHome) + SOCKET_SUFFIX_BYTES;
  if (longest > LIMA_SOCKET_PATH_MAX) {
    throw new LimaError(
      VmErrorCodes.LIMA_HOME_TOO_LONG,
      `LIMA_HOME ${limaHome} is too long: Lima's socket paths would be ${longest} bytes (max ${LIMA_SOCKET_PATH_MAX}); use a shorter data directory or limaHome`,
      { details: { limaHome, bytes: longest } },
    );
  }
}

function info(rec: VmRecord, status: VmStatus): ProviderVmInfo {
  return vmInfoOf(rec, status);
}

function statusOf(inst: LimaInstance | undefined): VmStatus {
  if (!inst) return 'error';
  if (inst.status === 'Running') return 'running';
  if (inst.status === 'Stopped') return 'stopped';
  return 'error';
}

/** VMs as Lima instances named `xe-<first 12 hex of the lease hash>`, driven through limactl. */
export class LimaVmManager implements VmManager {
  readonly backend = 'lima' as const;
  readonly limaHome: string;
  readonly limactl: Limactl;
  private readonly dataDir: string;
  private readonly store: VmStateStore;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly busy = new Map<string, Hash>();
  private readonly keyLine: AuthorizedKeyLineFn | undefined;
  private readonly user: { uid: number; gid: number; home: string } | undefined;
  private fenced = false;

  constructor(
    private readonly options: LimaVmManagerOptions,
    components: VmManagerComponents = {},
  ) {
    if (typeof options.dataDir !== 'string' || options.dataDir === '') {
      throw new VmInputError(VmErrorCodes.INVALID_OPTION, 'dataDir is required', { field: 'dataDir' });
    }
    this.dataDir = resolve(options.dataDir);
    this.limaHome = resolve(options.limaHome ?? join(this.dataDir, 'lima'));
    checkLimaHome(this.limaHome);
    mkdirSync(this.limaHome, { recursive: true });
    if (options.runAsUser !== undefined) {
      this.user = lookupUser(options.runAsUser);
      // Lima keeps its instances here; the dedicated user must own it.
      if (process.getuid?.() === 0) chownSync(this.limaHome, this.user.uid, this.user.gid);
    }
    this.store = new VmStateStore(this.dataDir);
    this.log = (components.logger ?? silentLogger).child('lima-vm');
    this.clock = components.clock ?? systemClock;
    this.keyLine = components.authorizedKeyLine;
    this.limactl = new Limactl(
      options.limactlPath ?? 'limactl',
      this.limaHome,
      { ...DEFAULT_LIMACTL_TIMEOUTS, ...options.timeouts },
      this.log,
      this.user,
    );
  }

  private firewallOptions(): LimaFirewallOptions | undefined {
    return this.user ? { ...this.options.firewall, uid: this.user.uid } : undefined;
  }

  /**
   * The required setup step: the host firewall that fences the guests' user-mode network
   * (installed here when missing and this process is root). Resolves with why the network
   * is not fenced, or undefined when it is.
   */
  private async fence(): Promise<string | undefined> {
    const fw = this.firewallOptions();
    if (!fw) return 'Lima runs as the provider\'s own user (no runAsUser), so its guests reach whatever that user reaches';
    if (this.fenced && (await checkLimaFirewall(fw))) return undefined;
    if (!(await checkLimaFirewall(fw))) {
      try {
        await installLimaFirewall(fw);
      } catch (err) {
        return `cannot install the host firewall for uid ${fw.uid}: ${(err as Error).message}`;
      }
      this.log.info('host firewall installed for the Lima user', { uid: fw.uid, chain: firewallChain(fw.uid) });
    }
    this.fenced = await checkLimaFirewall(fw);
    return this.fenced ? undefined : `the host firewall rules for uid ${fw.uid} are absent after installing them`;
  }

  private templatePath(name: string): string {
    return join(this.dataDir, 'lima-templates', `${name}.yaml`);
  }

  private async instance(name: string, signal?: AbortSignal): Promise<LimaInstance | undefined> {
    return (await this.limactl.list(signal)).find((i) => i.name === name);
  }

  async provision(leaseHash: Hash, resources: Resources, accessPubKey: PubKey, options: AbortOptions = {}): Promise<ProviderVmInfo> {
    checkLeaseHash(leaseHash);
    const res = checkResources(resources);
    const authorizedKey = authorizedKeyLineFor(this.keyLine, accessPubKey);
    const name = vmName(leaseHash);
    throwIfAborted(options.signal);
    await claimVm(this.busy, this.store, leaseHash, name);
    const rec: VmRecord = {
      name,
      lease_hash: leaseHash,
      backend: 'lima',
      status: 'provisioning',
      resources: res,
      access_pub_key: accessPubKey,
      created_at: this.clock(),
      limits: { ...LIMITS },
      lima_instance: name,
    };
    const signal = options.signal;
    let unfenced: string | undefined;
    try {
      unfenced = await this.fence();
    } catch (err) {
      this.busy.delete(name);
      throw err;
    }
    if (unfenced !== undefined) {
      if (this.options.acceptUnenforcedLimits !== true) {
        this.busy.delete(name);
        throw new LimaError(
          VmErrorCodes.HOST_FIREWALL_MISSING,
          `the guest's network is not fenced on the host: ${unfenced}; run Lima as a dedicated user (runAsUser) as root so the provider installs the host firewall, or pass the option that accepts unenforced limits`,
          { details: { not_enforced: ['network'] } },
        );
      }
      rec.limits = { enforced: false, not_enforced: ['network'], reason: `${LIMITS.reason}; network NOT ENFORCED: ${unfenced}` };
      this.log.warn('lease network not fenced (accepted by configuration)', { vm: name, reason: unfenced });
    } else {
      rec.limits = { enforced: true, not_enforced: [], reason: `${LIMITS.reason}; network: host firewall ${firewallChain(this.user!.uid)}` };
    }
    try {
      rec.lima_ssh_port = await freePort();
      await this.store.put(rec);
      const fw = unfenced === undefined ? this.firewallOptions() : undefined;
      if (fw) await allowLoopbackPort(fw, rec.lima_ssh_port);
      const template = this.templatePath(name);
      await mkdir(join(this.dataDir, 'lima-templates'), { recursive: true });
      const input = {
        name,
        resources: res,
        authorizedKey,
        sshLocalPort: rec.lima_ssh_port,
        ...(this.options.images ? { images: this.options.images } : {}),
      };
      await writeFile(template, renderTemplate(input));
      await this.limactl.create(name, template, signal);
      await this.limactl.start(name, signal);
      const inst = await this.instance(name, signal);
      if (inst?.status !== 'Running' || inst.sshLocalPort <= 0) {
        throw new LimaError(VmErrorCodes.LIMACTL_FAILED, `instance ${name} is not running after limactl start`, {
          details: { status: inst?.status },
        });
      }
      const ready = await pollUntil(async () => ((await sshBannerReady(inst.sshLocalPort, signal)) ? true : undefined), {
        timeoutMs: this.options.sshReadyTimeoutMs ?? 120_000,
        intervalMs: 200,
        signal,
      });
      if (!ready) throw new LimaError(VmErrorCodes.LIMACTL_FAILED, `instance ${name}: no SSH banner on port ${inst.sshLocalPort}`);
      // The guest made its host key at first boot; read it (and its fingerprint) from the forwarded port.
      const pub = await scanHostKey('ssh-keyscan', inst.sshLocalPort);
      const fp = pub === undefined ? undefined : await sshKeyLineFingerprint('ssh-keygen', pub);
      if (pub === undefined || fp === undefined) {
        throw new LimaError(VmErrorCodes.LIMACTL_FAILED, `instance ${name}: its sshd on port ${inst.sshLocalPort} offers no Ed25519 host key`);
      }
      rec.host_public_key = pub;
      rec.host_key_fingerprint = fp;
      rec.status = 'running';
      await this.store.put(rec);
      if (signal?.aborted) throw abortError(signal);
      this.log.info('vm provisioned', { vm: name, lease: leaseHash, port: inst.sshLocalPort });
      return info(rec, 'running');
    } catch (err) {
      await this.destroy(name).catch((e) => this.log.error('cleanup after failed provision failed', { vm: name, err: e }));
      throw signal?.aborted ? abortError(signal) : err;
    } finally {
      this.busy.delete(name);
    }
  }

  /** Stops and deletes the instance (if Lima knows it), then removes its template and record. */
  private async destroy(name: string, signal?: AbortSignal): Promise<void> {
    const inst = await this.instance(name, signal);
    if (inst) {
      if (inst.status === 'Running') {
        await this.limactl.stop(name, signal).catch((err) => this.log.warn('limactl stop failed, deleting by force', { vm: name, err }));
      }
      await this.limactl.delete(name, signal);
      if (inst.sshLocalPort > 0) {
        const closed = await pollUntil(async () => ((await portClosed(inst.sshLocalPort)) ? true : undefined), {
          timeoutMs: 10_000,
        });
        if (!closed) this.log.warn('ssh port still open after limactl delete', { vm: name, port: inst.sshLocalPort });
      }
    }
    const rec = await this.store.get(name);
    const fw = this.firewallOptions();
    if (fw && rec?.lima_ssh_port) await denyLoopbackPort(fw, rec.lima_ssh_port);
    await rm(this.templatePath(name), { force: true });
    await this.store.delete(name);
  }

  async teardown(leaseHash: Hash, options: AbortOptions = {}): Promise<void> {
    const name = vmName(leaseHash);
    throwIfAborted(options.signal);
    const rec = await recordOfLease(this.store, leaseHash, name);
    if (!rec) return;
    await this.destroy(name, options.signal);
    this.log.info('vm torn down', { vm: name, lease: leaseHash });
  }

  private async running(leaseHash: Hash, signal?: AbortSignal): Promise<LimaInstance> {
    const name = vmName(leaseHash);
    const rec = await recordOfLease(this.store, leaseHash, name);
    if (!rec) {
      throw new VmStateError(VmErrorCodes.VM_NOT_FOUND, `no VM for lease ${leaseHash}`, { details: { name } });
    }
    const inst = rec.status === 'running' ? await this.instance(name, signal) : undefined;
    if (inst?.status !== 'Running') {
      throw new VmStateError(VmErrorCodes.VM_NOT_RUNNING, `the VM of lease ${leaseHash} is not running`, {
        details: { name, status: inst?.status ?? rec.status },
      });
    }
    return inst;
  }

  async exec(leaseHash: Hash, command: string, options: ExecOptions = {}): Promise<ExecResult> {
    checkLeaseHash(leaseHash);
    if (typeof command !== 'string' || command === '') {
      throw new VmInputError(VmErrorCodes.INVALID_OPTION, 'command must be a non-empty string', { field: 'command' });
    }
    const inst = await this.running(leaseHash, options.signal);
    return this.limactl.shell(
      inst.name,
      command,
      options.timeoutMs ?? this.options.defaultExecTimeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS,
      options.signal,
    );
  }

  async dialSsh(leaseHash: Hash, options: AbortOptions = {}): Promise<Socket> {
    checkLeaseHash(leaseHash);
    const inst = await this.running(leaseHash, options.signal);
    return connectTcp(inst.sshLocalPort, { signal: options.signal });
  }

  async get(leaseHash: Hash, options: AbortOptions = {}): Promise<ProviderVmInfo | undefined> {
    const rec = await recordOfLease(this.store, leaseHash, vmName(leaseHash));
    if (!rec) return undefined;
    if (rec.status !== 'running') return info(rec, rec.status);
    return info(rec, statusOf(await this.instance(rec.name, options.signal)));
  }

  async list(options: AbortOptions = {}): Promise<ProviderVmInfo[]> {
    const recs = (await this.store.all()).filter((r) => r.backend === 'lima');
    if (recs.length === 0) return [];
    const insts = new Map((await this.limactl.list(options.signal)).map((i) => [i.name, i]));
    return recs.map((r) => info(r, r.status === 'running' ? statusOf(insts.get(r.name)) : r.status));
  }

  async details(leaseHash: Hash, options: AbortOptions = {}): Promise<VmDetails | undefined> {
    const rec = await recordOfLease(this.store, leaseHash, vmName(leaseHash));
    if (!rec) return undefined;
    const inst = await this.instance(rec.name, options.signal);
    const status = rec.status === 'running' ? statusOf(inst) : rec.status;
    const out: VmDetails = {
      name: rec.name,
      lease_hash: rec.lease_hash,
      backend: 'lima',
      status,
      pids: [inst?.hostAgentPID, inst?.driverPID].filter((p): p is number => typeof p === 'number' && p > 0),
      limits: rec.limits,
    };
    if (status === 'running' && inst) out.ssh_port = inst.sshLocalPort;
    return out;
  }

  async reconcile(isLeaseActive: LeaseActivePredicate, options: AbortOptions = {}): Promise<ReconcileResult> {
    const insts = new Map((await this.limactl.list(options.signal)).map((i) => [i.name, i]));
    const recorded = new Set((await this.store.all()).filter((r) => r.backend === 'lima').map((r) => r.name));
    const result = await reconcileRecords(
      {
        backend: 'lima',
        store: this.store,
        busy: this.busy,
        log: this.log,
        running: async (rec) => {
          const inst = insts.get(rec.name);
          return inst?.status === 'Running' ? { port: inst.sshLocalPort } : undefined;
        },
        destroy: (rec) => this.destroy(rec.name, options.signal),
      },
      isLeaseActive,
      options,
    );
    // Instances in our LIMA_HOME without a record (a crash between create and the record): ours, unpaid.
    for (const inst of insts.values()) {
      if (recorded.has(inst.name) || this.busy.has(inst.name) || !/^xe-[0-9a-f]{12}$/.test(inst.name)) continue;
      this.log.warn('deleting an instance with no record', { vm: inst.name });
      await this.limactl.delete(inst.name, options.signal);
    }
    return result;
  }
}
