import type { Duplex } from 'node:stream';
import type { AccountInfo, ApiDeps, CancelLeaseResult, ConflictRecord, NodeInfo, Readiness } from '@xe/api-server';
import type {
  AbortOptions,
  AdmitResult,
  Attestation,
  Block,
  ExecResult,
  Lease,
  NetworkParams,
  Provider,
  VmInfo,
} from '@xe/core-types';
import { type Ledger, toApiLease } from '@xe/ledger';
import type { VmManager } from '@xe/lima-provider';
import type { AttestationGatherer } from '@xe/timekeeper';
import { NodeError, NodeErrorCodes } from './errors.js';
import type { ConsumerService } from './services/consumer.js';
import type { MarketplaceBook } from './services/marketplace.js';
import type { NetPort } from './services/ports.js';
import type { ProviderService } from './services/provider.js';
import { openTunnelStream, type TunnelServer } from './services/tunnel.js';

export interface NodeApiComponents {
  address: string;
  network: NetworkParams;
  ledger: Ledger;
  book: MarketplaceBook;
  consumer: ConsumerService;
  provider: ProviderService | undefined;
  vms: VmManager | undefined;
  gatherer: AttestationGatherer;
  tunnels: TunnelServer;
  net: NetPort;
  nodeInfo(): NodeInfo;
  readiness(): Promise<Readiness>;
  /** Admits a block from the API and gossips it when accepted. */
  submit(block: Block): Promise<AdmitResult>;
}

/** The HTTP API's view of the node (ApiDeps of @xe/api-server) over the ledger and services. */
export class NodeApi implements ApiDeps {
  constructor(private readonly components: NodeApiComponents) {}

  network(): NetworkParams {
    return this.components.network;
  }

  nodeInfo(): NodeInfo {
    return this.components.nodeInfo();
  }

  readiness(): Promise<Readiness> {
    return this.components.readiness();
  }

  async listLeases(q: { state?: Lease['state']; offset: number; limit: number }): Promise<Lease[]> {
    const recs = await this.components.ledger.listLeases({ ...(q.state ? { state: q.state } : {}), offset: q.offset, limit: q.limit });
    return recs.map(toApiLease);
  }

  async getLease(hash: string): Promise<Lease | undefined> {
    const r = await this.components.ledger.getLease(hash);
    return r ? toApiLease(r) : undefined;
  }

  async listProviders(): Promise<Provider[]> {
    const out: Provider[] = [];
    for (const ad of this.components.book.liveAdverts()) {
      const used = await this.components.ledger.providerUsage(ad.provider);
      out.push({
        address: ad.provider,
        vcpus: ad.vcpus,
        memory_mb: ad.memory_mb,
        disk_gb: ad.disk_gb,
        active_leases: used.active_leases,
        available_vcpus: Math.max(0, ad.vcpus - used.vcpus),
        available_memory_mb: Math.max(0, ad.memory_mb - used.memory_mb),
        available_disk_gb: Math.max(0, ad.disk_gb - used.disk_gb),
      });
    }
    return out.sort((a, b) => (a.address < b.address ? -1 : 1));
  }

  requestLease(req: { vcpus: number; memory_mb: number; disk_gb: number; duration: number; access_pub_key: string }, options: AbortOptions) {
    return this.components.consumer.requestLease(req, options);
  }

  async cancelLease(hash: string): Promise<CancelLeaseResult> {
    const block = await this.components.consumer.cancelNow(hash);
    return { lease_hash: hash, block_hash: block.hash };
  }

  async requestAttestation(leaseHash: string, options: AbortOptions & { requester?: string }): Promise<Attestation> {
    const block = await this.components.ledger.getBlock(leaseHash);
    if (block?.type !== 'lease') throw new NodeError(NodeErrorCodes.LEASE_NOT_FOUND, `lease ${leaseHash} not found`);
    return this.components.gatherer.requestOne(leaseHash, {
      block,
      requester: `http:${options.requester ?? 'local'}`,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  async listVms(): Promise<VmInfo[]> {
    const local = this.components.vms ? await this.components.vms.list() : [];
    const seen = new Set(local.map((v) => v.lease_hash));
    return [...local, ...this.components.consumer.vmInfos().filter((v) => !seen.has(v.lease_hash))];
  }

  async getVm(leaseHash: string): Promise<VmInfo | undefined> {
    return (this.components.vms ? await this.components.vms.get(leaseHash) : undefined) ?? this.components.consumer.vmInfo(leaseHash);
  }

  async execVm(leaseHash: string, command: string, options: { timeoutMs?: number; signal?: AbortSignal }): Promise<ExecResult> {
    const vm = this.components.vms ? await this.components.vms.get(leaseHash) : undefined;
    if (!this.components.vms || !vm) throw new NodeError(NodeErrorCodes.VM_NOT_FOUND, `no VM for lease ${leaseHash} on this node (exec runs on the provider's node)`);
    return this.components.vms.exec(leaseHash, command, options);
  }

  async openTunnel(leaseHash: string, auth: { timestamp: bigint; signature: string }, options: AbortOptions): Promise<Duplex> {
    const lease = await this.components.ledger.getLease(leaseHash);
    if (!lease) throw new NodeError(NodeErrorCodes.LEASE_NOT_FOUND, `lease ${leaseHash} not found`);
    const frame = { lease_hash: leaseHash, timestamp: auth.timestamp, signature: auth.signature };
    if (lease.provider === this.components.address && this.components.vms) {
      // The API's entry checks (the node's one checker) have passed and spent the signature.
      const socket = await this.components.vms.dialSsh(leaseHash, options);
      this.components.tunnels.register(leaseHash, socket);
      return socket;
    }
    let stream: Duplex;
    try {
      stream = await this.components.net.openStreamByAddress(lease.provider, '/xe/tunnel/1.0.0', options);
    } catch (err) {
      throw new NodeError(NodeErrorCodes.PROVIDER_UNREACHABLE, `provider node unreachable: ${(err as Error).message}`, { cause: err });
    }
    try {
      return await openTunnelStream(stream, frame, options.signal);
    } catch (err) {
      stream.destroy();
      throw new NodeError(NodeErrorCodes.PROVIDER_UNREACHABLE, (err as Error).message, { cause: err });
    }
  }

  async account(address: string): Promise<AccountInfo | undefined> {
    const a = await this.components.ledger.getAccount(address);
    if (!a) return undefined;
    const pending = { XE: 0n, XUSD: 0n };
    for (const p of await this.components.ledger.pendingFor(address)) pending[p.asset] += p.amount;
    return { address, balances: a.balances, pending, frontier: a.frontier, block_count: Number(a.height) };
  }

  submitBlock(block: Block): Promise<AdmitResult> {
    return this.components.submit(block);
  }

  async conflicts(): Promise<ConflictRecord[]> {
    const list = await this.components.ledger.conflicts({ limit: 1000 });
    return list.map((c) => ({ account: c.account, previous: c.previous, kept: c.existing, rejected: c.rejected, detected_at: c.detected_at }));
  }
}

