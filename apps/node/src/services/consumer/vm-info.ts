import { fields, type VmInfo, VM_STATUSES } from '@xe/core-types';
import { canonicalHostKey, verifyVmHostKey } from '@xe/crypto';
import type { Ledger, LeaseRecord } from '@xe/ledger';
import { NodeError, NodeErrorCodes } from '../../errors.js';
import type { NetPort } from '../ports.js';
import type { Scheduler } from '../scheduler.js';

const PULL_TIMEOUT_MS = 5000;
const PULL_MAX_DELAY_MS = 30_000;

/**
 * The VM object as a consumer's node keeps and serves it: SPEC §11's fields plus, when the
 * provider's VM has one, its SSH host key and the provider's signature over it
 * (`signVmHostKey` of @xe/crypto), which `xe-node ssh` checks again and pins.
 */
export interface SignedVmInfo extends VmInfo {
  /** One canonical OpenSSH public-key line, `<type> <base64>`. */
  host_public_key?: string;
  /** The lease provider's Ed25519 signature (128 hex) of `vmHostKeyDigest(lease_hash, host_public_key)`. */
  host_key_signature?: string;
}

/** Reads VM info from the network: the VM object's fields, and the host key with its signature (both or neither). */
export function parseVmInfo(value: unknown): SignedVmInfo {
  const o = fields.expectObject(value, 'vm');
  const status = o.status;
  if (typeof status !== 'string' || !(VM_STATUSES as readonly string[]).includes(status)) throw fields.invalid('vm.status', 'unknown status');
  const r = fields.expectObject(o.resources, 'vm.resources');
  const out: SignedVmInfo = {
    lease_hash: fields.hash(o.lease_hash, 'vm.lease_hash'),
    status: status as VmInfo['status'],
    resources: {
      vcpus: fields.boundedInt(r.vcpus, 'vm.resources.vcpus', 0, 1e9),
      memory_mb: fields.boundedInt(r.memory_mb, 'vm.resources.memory_mb', 0, 1e12),
      disk_gb: fields.boundedInt(r.disk_gb, 'vm.resources.disk_gb', 0, 1e12),
    },
    created_at: fields.u64(o.created_at, 'vm.created_at'),
  };
  if (o.host_public_key !== undefined || o.host_key_signature !== undefined) {
    const key = fields.str(o.host_public_key, 'vm.host_public_key');
    if (canonicalHostKey(key) !== key) throw fields.invalid('vm.host_public_key', 'expected one OpenSSH public key line `<type> <base64>`');
    out.host_public_key = key;
    out.host_key_signature = fields.signature(o.host_key_signature, 'vm.host_key_signature');
  }
  return out;
}

/**
 * The VM info of the consumer's leases: pushed by providers, or pulled from them with
 * backoff until it arrives. A host key is kept only when its signature verifies under the
 * lease provider's key on the ledger; VM info whose signature does not is refused whole.
 */
export class VmInfoStore {
  private readonly vms = new Map<string, SignedVmInfo>();

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
      await this.put(lease.hash, parseVmInfo(v));
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

  /** Keeps `vm` for the lease; a host key whose signature does not verify is VM_HOST_KEY_INVALID and nothing is kept. */
  async put(leaseHash: string, vm: SignedVmInfo): Promise<void> {
    if (vm.lease_hash !== leaseHash) throw new NodeError(NodeErrorCodes.CLIENT, 'vm.lease_hash: VM info of another lease');
    if (vm.host_public_key !== undefined) {
      const { ledger } = this.components;
      const lease = await ledger.getLease(leaseHash);
      const provider = lease ? await ledger.getAccount(lease.provider) : undefined;
      if (!provider?.pub_key || !verifyVmHostKey(leaseHash, vm.host_public_key, vm.host_key_signature ?? '', provider.pub_key)) {
        throw new NodeError(NodeErrorCodes.VM_HOST_KEY_INVALID, "VM info: the host key's signature does not verify under the lease provider's key");
      }
    }
    this.vms.set(leaseHash, vm);
  }

  /** The lease ended: its VM is gone. */
  markStopped(leaseHash: string): void {
    const vm = this.vms.get(leaseHash);
    if (vm) this.vms.set(leaseHash, { ...vm, status: 'stopped' });
  }

  get(leaseHash: string): SignedVmInfo | undefined {
    return this.vms.get(leaseHash);
  }

  all(): SignedVmInfo[] {
    return [...this.vms.values()];
  }
}
