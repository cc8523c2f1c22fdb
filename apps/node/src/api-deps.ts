import type { Duplex } from 'node:stream';
import type {
  AccountInfo,
  ApiDeps,
  BalanceInfo,
  CancelLeaseResult,
  ChainPage,
  ConflictRecord,
  EventSubscription,
  NodeInfo,
  PendingEntry,
  ProviderInfo,
  Readiness,
  StoredBlock,
} from '@xe/api-server';
import {
  type AbortOptions,
  type AdmitResult,
  type Asset,
  type Attestation,
  type Block,
  type Certificate,
  type Clock,
  type ExecResult,
  isXeError,
  type Lease,
  type NetworkParams,
  systemClock,
  type VmInfo,
  XeError,
} from '@xe/core-types';
import { type ConfirmedView, type Ledger, toApiLease } from '@xe/ledger';
import { confirmedViewOf } from './confirmed.js';
import type { VmManager } from '@xe/lima-provider';
import type { AttestationGatherer } from '@xe/timekeeper';
import { NodeError, NodeErrorCodes } from './errors.js';
import type { EventHub } from './events.js';
import type { ConsumerService } from './services/consumer.js';
import { cancelAllowedAt } from './services/consumer/cancel.js';
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
  /** The clock certificates expire by; the system clock when absent. */
  clock?: Clock;
  /** `GET /events`'s feed */
  events: Pick<EventHub, 'subscribe'>;
}

/** Receivable sends `GET /pending/{address}` lists at most. */
export const MAX_PENDING_LISTED = 1000;

/** Lease states a provider reached by accepting (XE's `total_leases` counts these). */
const ACCEPTED_STATES = ['accepted', 'settled', 'unfulfilled', 'expired'] as const;

/** Newer first: by timestamp, then by hash. */
function newer(a: Block, b: Block): boolean {
  return a.timestamp === b.timestamp ? a.hash > b.hash : a.timestamp > b.timestamp;
}

/**
 * The HTTP API's view of the node (ApiDeps of @xe/api-server) over the ledger and services.
 * Balances, pending sends, leases and providers' usage come from confirmed blocks (SPEC §12,
 * the ledger's `ConfirmedView`); the account routes add `head`, the chain as applied, which
 * clients build the next block on.
 */
export class NodeApi implements ApiDeps {
  private readonly confirmed: ConfirmedView;

  constructor(private readonly components: NodeApiComponents) {
    this.confirmed = confirmedViewOf(components.ledger);
  }

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
    const recs = await this.confirmed.listLeases({ ...(q.state ? { state: q.state } : {}), offset: q.offset, limit: q.limit });
    return recs.map(toApiLease);
  }

  /** The lease as its confirmed blocks left it; undefined while its lease block is unconfirmed. */
  async getLease(hash: string): Promise<Lease | undefined> {
    const r = await this.confirmed.lease(hash);
    return r ? toApiLease(r) : undefined;
  }

  /** The live adverts; usage and counts from confirmed leases. */
  async listProviders(): Promise<ProviderInfo[]> {
    const { confirmed } = this;
    const out: ProviderInfo[] = [];
    for (const ad of this.components.book.liveAdverts()) {
      const used = await confirmed.providerUsage(ad.provider);
      let total = 0;
      for (const state of ACCEPTED_STATES) total += await confirmed.countLeases({ provider: ad.provider, state });
      out.push({
        address: ad.provider,
        vcpus: ad.vcpus,
        memory_mb: ad.memory_mb,
        disk_gb: ad.disk_gb,
        active_leases: used.active_leases,
        available_vcpus: Math.max(0, ad.vcpus - used.vcpus),
        available_memory_mb: Math.max(0, ad.memory_mb - used.memory_mb),
        available_disk_gb: Math.max(0, ad.disk_gb - used.disk_gb),
        account: ad.provider,
        used_vcpus: used.vcpus,
        used_memory_mb: used.memory_mb,
        used_disk_gb: used.disk_gb,
        total_leases: total,
      });
    }
    return out.sort((a, b) => (a.address < b.address ? -1 : 1));
  }

  requestLease(req: { vcpus: number; memory_mb: number; disk_gb: number; duration: number; access_pub_key: string }, options: AbortOptions) {
    return this.components.consumer.requestLease(req, options);
  }

  /**
   * Not this node's lease → LEASE_NOT_OWN (403); a `created` lease before its cancel window
   * → LEASE_NOT_CANCELLABLE with `details.opens_at` (409, retryable).
   */
  async cancelLease(hash: string): Promise<CancelLeaseResult> {
    const lease = await this.components.ledger.getLease(hash);
    if (lease !== undefined && lease.consumer !== this.components.address) {
      throw new XeError('LEASE_NOT_OWN', `lease ${hash} is not this node's: only its consumer node can cancel it`);
    }
    try {
      const block = await this.components.consumer.cancelNow(hash);
      return { lease_hash: hash, state: 'cancelled', block_hash: block.hash };
    } catch (err) {
      if (lease?.state === 'created' && isXeError(err) && err.code === NodeErrorCodes.LEASE_NOT_CANCELLABLE) {
        const opens_at = cancelAllowedAt(lease, this.components.network.lease);
        throw new XeError(err.code, err.message, { retryable: true, details: { opens_at }, cause: err });
      }
      throw err;
    }
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
    const local = this.components.vms ? await this.components.vms.get(leaseHash) : undefined;
    // the provider's own VM is served as it pushes it to the consumer: with its signed host key
    return (local && this.components.provider ? this.components.provider.signedVmInfo(local) : local) ?? this.components.consumer.vmInfo(leaseHash);
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

  /** The account at its confirmed frontier, and its head; undefined for an account with no blocks. */
  async account(address: string): Promise<AccountInfo | undefined> {
    const c = await this.confirmed.account(address);
    if (c === undefined) return undefined;
    const a = await this.components.ledger.getAccount(address);
    if (a === undefined) return undefined;
    return {
      address,
      balances: c.balances,
      pending: c.pending,
      frontier: c.frontier,
      block_count: Number(c.height),
      head: { frontier: a.frontier, height: a.height, balances: a.balances },
    };
  }

  submitBlock(block: Block): Promise<AdmitResult> {
    return this.components.submit(block);
  }

  async conflicts(): Promise<ConflictRecord[]> {
    const list = await this.components.ledger.conflicts({ limit: 1000 });
    // SPEC §12: `kept` is the confirmed winner where finality decided (`winner`, `reason` beside it)
    return list.map((c) => ({
      account: c.account,
      previous: c.previous,
      kept: c.winner ?? c.existing,
      rejected: c.rejected,
      detected_at: c.detected_at,
      ...(c.winner === undefined ? {} : { winner: c.winner }),
      ...(c.reason === undefined ? {} : { reason: c.reason }),
    }));
  }

  // ---- XE's routes. `confirmed` and the confirmed height come from the ledger
  // (`isConfirmed`, `confirmedFrontier`): without finality every stored block counts as
  // confirmed; with it, the representatives' votes decide.

  private async stored(block: Block): Promise<StoredBlock> {
    return { ...block, confirmed: await this.components.ledger.isConfirmed(block.hash) };
  }

  async getBlock(hash: string): Promise<StoredBlock | undefined> {
    const block = await this.components.ledger.getBlock(hash);
    return block === undefined ? undefined : this.stored(block);
  }

  /**
   * A merge of the chains from their frontiers back (each chain's timestamps only grow),
   * newest first: one read per account plus one per block answered.
   */
  async recentBlocks(q: { limit: number; since?: bigint }): Promise<StoredBlock[]> {
    const { ledger } = this.components;
    const heads: Block[] = [];
    for (const f of await ledger.frontiers()) {
      const b = await ledger.getBlock(f.frontier);
      if (b !== undefined) heads.push(b);
    }
    const out: StoredBlock[] = [];
    while (out.length < q.limit && heads.length > 0) {
      let best = 0;
      for (let i = 1; i < heads.length; i++) if (newer(heads[i]!, heads[best]!)) best = i;
      const b = heads[best]!;
      if (q.since !== undefined && b.timestamp <= q.since) break;
      out.push(await this.stored(b));
      const prev = b.previous === '0' ? undefined : await ledger.getBlock(b.previous);
      if (prev === undefined) heads.splice(best, 1);
      else heads[best] = prev;
    }
    return out;
  }

  /**
   * `balances` and `final_height` as the account's newest confirmed block left them;
   * `spendable` per asset the smaller of those and the head's (an unconfirmed debit is not
   * spendable twice); `head` the chain as applied.
   */
  async balance(address: string): Promise<BalanceInfo> {
    const c = await this.confirmed.balances(address);
    if (c === undefined) {
      const zero = (): Record<Asset, bigint> => ({ XE: 0n, XUSD: 0n });
      return { address, balances: zero(), spendable: zero(), final_height: 0n, head: { frontier: '0', height: 0n, balances: zero() } };
    }
    return { address, balances: c.balances, spendable: c.spendable, final_height: c.height, head: c.head };
  }

  async chain(address: string, page: { offset: number; limit: number }): Promise<ChainPage> {
    const { ledger } = this.components;
    const a = await ledger.getAccount(address);
    if (a === undefined) return { address, total: 0n, blocks: [] };
    const top = a.height - BigInt(page.offset);
    if (top < 1n) return { address, total: a.height, blocks: [] };
    const from = top - BigInt(page.limit) + 1n > 1n ? top - BigInt(page.limit) + 1n : 1n;
    const blocks = await ledger.chain(address, { fromHeight: from, limit: Number(top - from + 1n) });
    const out: StoredBlock[] = [];
    for (const b of blocks.reverse()) out.push(await this.stored(b));
    return { address, total: a.height, blocks: out };
  }

  /** Confirmed sends the account's head has not received. */
  async pending(address: string): Promise<PendingEntry[]> {
    const list = await this.confirmed.receivable(address, { limit: MAX_PENDING_LISTED });
    return list.map((p) => ({ SendHash: p.hash, Source: p.from, Destination: p.to, Amount: p.amount, Asset: p.asset }));
  }

  /** The unexpired certificate issued last (then the later expiry). */
  async certificateOf(provider: string): Promise<Certificate | undefined> {
    const now = (this.components.clock ?? systemClock)();
    let best: Certificate | undefined;
    for (const c of await this.components.ledger.certificatesOf(provider)) {
      if (c.expires_at <= now) continue;
      if (best === undefined || c.issued_at > best.issued_at || (c.issued_at === best.issued_at && c.expires_at > best.expires_at)) best = c;
    }
    return best;
  }

  certificateByHash(hash: string): Promise<Certificate | undefined> {
    return this.components.ledger.getCertificate(hash);
  }

  subscribeEvents(lastEventId: bigint | undefined, onOverflow: () => void): EventSubscription {
    return this.components.events.subscribe(lastEventId, onOverflow);
  }
}

