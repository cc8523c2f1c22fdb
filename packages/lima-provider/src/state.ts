import { VmErrorCodes, VmStateError } from './errors.js';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type AbortOptions, type Hash, type Logger, type Resources, type VmStatus, parseJson, stringifyJson, throwIfAborted } from '@xe/core-types';
import type { LeaseActivePredicate, ReconcileResult, VmBackend, VmLimits } from './types.js';

/** What a backend persists about one VM, in `<dataDir>/vms/<name>.json`. */
export interface VmRecord {
  name: string;
  lease_hash: Hash;
  backend: VmBackend;
  status: VmStatus;
  resources: Resources;
  access_pub_key: string;
  /** unix ns */
  created_at: bigint;
  limits: VmLimits;
  /** Sandbox backend: the sandbox's processes and port. */
  sandbox?: SandboxRecord;
  /** Lima backend: the instance name (equal to `name`). */
  lima_instance?: string;
  /** Lima backend: the instance's SSH port on 127.0.0.1 (allowed through the host firewall). */
  lima_ssh_port?: number;
  /** QEMU backend: the VM's process, port and files. */
  qemu?: QemuRecord;
  /** SHA256 fingerprint of the VM's own SSH host key. */
  host_key_fingerprint?: string;
  /** The VM's own SSH host key as one OpenSSH public-key line (`ssh-ed25519 <base64>`). */
  host_public_key?: string;
}

export interface QemuRecord {
  /** The QEMU process (from its pid file). */
  pid: number;
  /** Its start time (/proc/<pid>/stat field 22): guards against PID reuse. */
  pid_start_time: string;
  /** Host port on 127.0.0.1 forwarded to the guest's SSH port. */
  ssh_port: number;
  /** The VM's directory: overlay disk, pid file, QMP socket, console log, known_hosts. */
  dir: string;
  accelerator: string;
}

export interface SandboxRecord {
  /** The detached monitor process (session and process-group leader). */
  pid: number;
  /** Its start time in clock ticks since boot (/proc/<pid>/stat field 22): guards against PID reuse. */
  pid_start_time: string;
  /** PID 1 of the sandbox's PID namespace, as seen from the host. */
  init_pid: number;
  /** The VM's own directory (its root file system, a loop-mounted ext4 image, is `<dir>/root`). */
  dir: string;
  /** The path bwrap was started with as the root, when not `<dir>/root` (a sandbox started ahead in the disk pool). */
  root?: string;
}

function num(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : (v as number);
}

function fromJson(value: unknown): VmRecord {
  const r = value as Record<string, unknown>;
  const res = r.resources as Record<string, unknown>;
  const rec: VmRecord = {
    name: r.name as string,
    lease_hash: r.lease_hash as string,
    backend: r.backend as VmRecord['backend'],
    status: r.status as VmStatus,
    resources: { vcpus: num(res.vcpus), memory_mb: num(res.memory_mb), disk_gb: num(res.disk_gb) },
    access_pub_key: r.access_pub_key as string,
    created_at: BigInt(r.created_at as bigint),
    limits: r.limits as VmLimits,
  };
  const s = r.sandbox as Record<string, unknown> | undefined;
  if (s) {
    rec.sandbox = {
      pid: num(s.pid),
      pid_start_time: String(s.pid_start_time),
      init_pid: num(s.init_pid),
      dir: s.dir as string,
      ...(typeof s.root === 'string' ? { root: s.root } : {}),
    };
  }
  const q = r.qemu as Record<string, unknown> | undefined;
  if (q) {
    rec.qemu = {
      pid: num(q.pid),
      pid_start_time: String(q.pid_start_time),
      ssh_port: num(q.ssh_port),
      dir: q.dir as string,
      accelerator: String(q.accelerator),
    };
  }
  if (typeof r.lima_instance === 'string') rec.lima_instance = r.lima_instance;
  if (r.lima_ssh_port !== undefined) rec.lima_ssh_port = num(r.lima_ssh_port);
  if (typeof r.host_key_fingerprint === 'string') rec.host_key_fingerprint = r.host_key_fingerprint;
  if (typeof r.host_public_key === 'string') rec.host_public_key = r.host_public_key;
  return rec;
}

/** VM records as JSON files, one per VM, each written atomically (temp file + rename). */
export class VmStateStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'vms');
  }

  private file(name: string): string {
    return join(this.dir, `${name}.json`);
  }

  async put(rec: VmRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `.${rec.name}.${process.pid}.${Date.now()}.tmp`);
    await writeFile(tmp, `${stringifyJson(rec, 2)}\n`, { mode: 0o600 });
    await rename(tmp, this.file(rec.name));
  }

  async get(name: string): Promise<VmRecord | undefined> {
    let text: string;
    try {
      text = await readFile(this.file(name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return fromJson(parseJson(text));
  }

  async delete(name: string): Promise<void> {
    await rm(this.file(name), { force: true });
  }

  async all(): Promise<VmRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: VmRecord[] = [];
    for (const n of names.sort()) {
      if (!n.endsWith('.json') || n.startsWith('.')) continue;
      const rec = await this.get(n.slice(0, -5));
      if (rec) out.push(rec);
    }
    return out;
  }
}

/**
 * Claims `name` for a provision of `leaseHash`: synchronously in `busy` (name → lease), so
 * two concurrent provisions cannot both pass, then against the stored records. A name is
 * only 48 bits of the lease hash, so another lease may map to it: that is refused with
 * VM_NAME_COLLISION (never mistaken for, or merged with, the other lease's VM). The caller
 * releases `busy`.
 */
export async function claimVm(busy: Map<string, Hash>, store: Pick<VmStateStore, 'get'>, leaseHash: Hash, name: string): Promise<void> {
  const taken = (other: Hash) =>
    other === leaseHash
      ? new VmStateError(VmErrorCodes.VM_EXISTS, `a VM for lease ${leaseHash} exists already`, { details: { name } })
      : new VmStateError(VmErrorCodes.VM_NAME_COLLISION, `VM name ${name} of lease ${leaseHash} is taken by another lease`, {
          details: { name, lease_hash: leaseHash, other_lease_hash: other },
        });
  const inFlight = busy.get(name);
  if (inFlight !== undefined) throw taken(inFlight);
  busy.set(name, leaseHash);
  let existing: VmRecord | undefined;
  try {
    existing = await store.get(name);
  } catch (err) {
    busy.delete(name);
    throw err;
  }
  if (existing) {
    busy.delete(name);
    throw taken(existing.lease_hash);
  }
}

/**
 * The record of `leaseHash`'s VM: the record under its name only when it names this very
 * lease (full hash). Another lease whose name collides gets undefined, so teardown, exec,
 * dialSsh and get never act on a VM that is not the lease's own.
 */
export async function recordOfLease(store: Pick<VmStateStore, 'get'>, leaseHash: Hash, name: string): Promise<VmRecord | undefined> {
  const rec = await store.get(name);
  return rec !== undefined && rec.lease_hash === leaseHash ? rec : undefined;
}

/** What one backend contributes to `reconcileRecords`. */
export interface ReconcileBackend {
  backend: VmBackend;
  store: Pick<VmStateStore, 'all'>;
  /** names being provisioned or torn down in this process (left alone) */
  busy: Map<string, Hash>;
  log: Logger;
  /** Whether the recorded VM still runs as recorded; the fields say how it was found (logged on adoption). */
  running(rec: VmRecord): Promise<Record<string, unknown> | undefined>;
  destroy(rec: VmRecord): Promise<void>;
}

/**
 * The reconcile rule every backend follows on start: a running VM of an active lease is
 * adopted; any other recorded VM of this backend is torn down — `lost` when its lease is
 * active (the VM was gone), `removed` otherwise.
 */
export async function reconcileRecords(b: ReconcileBackend, isLeaseActive: LeaseActivePredicate, options: AbortOptions = {}): Promise<ReconcileResult> {
  const result: ReconcileResult = { adopted: [], removed: [], lost: [] };
  for (const rec of await b.store.all()) {
    throwIfAborted(options.signal);
    if (rec.backend !== b.backend || b.busy.has(rec.name)) continue;
    const found = rec.status === 'running' ? await b.running(rec) : undefined;
    const active = await isLeaseActive(rec.lease_hash);
    if (active && found) {
      result.adopted.push(rec.lease_hash);
      b.log.info('vm adopted', { vm: rec.name, lease: rec.lease_hash, ...found });
      continue;
    }
    await b.destroy(rec);
    if (active) {
      result.lost.push(rec.lease_hash);
      b.log.warn('vm of an active lease was not running; removed its leftovers', { vm: rec.name, lease: rec.lease_hash });
    } else {
      result.removed.push(rec.lease_hash);
      b.log.info('vm of an inactive lease torn down', { vm: rec.name, lease: rec.lease_hash });
    }
  }
  return result;
}
