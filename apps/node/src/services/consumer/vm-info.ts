import { fields, type VmInfo, VM_STATUSES } from '@xe/core-types';
import type { Ledger, LeaseRecord } from '@xe/ledger';
import type { NetPort } from '../ports.js';
import type { Scheduler } from '../scheduler.js';

const PULL_TIMEOUT_MS = 5000;
const PULL_MAX_DELAY_MS = 30_000;

export function parseVmInfo(value: unknown): VmInfo {
  const o = fields.expectObject(value, 'vm');
  const status = o.status;
  if (typeof status !== 'string' || !(VM_STATUSES as readonly string[]).includes(status)) throw fields.invalid('vm.status', 'unknown status');
  const r = fields.expectObject(o.resources, 'vm.resources');
  return {
    lease_hash: fields.hash(o.lease_hash, 'vm.lease_hash'),
    status: status as VmInfo['status'],
    resources: {
      vcpus: fields.boundedInt(r.vcpus, 'vm.resources.vcpus', 0, 1e9),
      memory_mb: fields.boundedInt(r.memory_mb, 'vm.resources.memory_mb', 0, 1e12),
      disk_gb: fields.boundedInt(r.disk_gb, 'vm.resources.disk_gb', 0, 1e12),
    },
    created_at: fields.u64(o.created_at, 'vm.created_at'),
  };
}

/** The VM info of the consumer's leases: pushed by providers, or pulled from them with backoff until it arrives. */
export class VmInfoStore {
  private readonly vms = new Map<string, VmInfo>();

  constructor(
    private readonly options: { signal: AbortSignal },
    private readonly components: { ledger: Ledger; net: NetPort; scheduler: Scheduler },
  ) {}

  /** Pulls the VM info of an accepted lease from its provider, retrying with backoff while the lease stays accepted. */
  async pull(lease: LeaseRecord, attempt = 0): Promise<void> {
    const { signal } = this.options;
    if (signal.aborted || this.vms.has(lease.hash)) return;
    try {
      const v = await this.components.net.requestByAddress(lease.provider, '/xe/vminfo/1.0.0', { lease_hash: lease.hash }, { timeoutMs: PULL_TIMEOUT_MS, signal });
      this.put(lease.hash, parseVmInfo(v));
    } catch {
      const cur = await this.components.ledger.getLease(lease.hash);
      if (cur?.state !== 'accepted') return;
      const delay = Math.min(PULL_MAX_DELAY_MS, 1000 * 2 ** attempt);
      this.components.scheduler.after(`vminfo:${lease.hash}`, delay, () => void this.pull(lease, attempt + 1));
    }
  }

  has(leaseHash: string): boolean {
    return this.vms.has(leaseHash);
  }

  put(leaseHash: string, vm: VmInfo): void {
    if (vm.lease_hash !== leaseHash) return;
    this.vms.set(leaseHash, vm);
  }

  /** The lease ended: its VM is gone. */
  markStopped(leaseHash: string): void {
    const vm = this.vms.get(leaseHash);
    if (vm) this.vms.set(leaseHash, { ...vm, status: 'stopped' });
  }

  get(leaseHash: string): VmInfo | undefined {
    return this.vms.get(leaseHash);
  }

  all(): VmInfo[] {
    return [...this.vms.values()];
  }
}
