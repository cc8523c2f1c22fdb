import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  type AbortOptions,
  type AdmitResult,
  type Attestation,
  type Block,
  type Certificate,
  DEFAULT_LEASE_PARAMS,
  DEVNET_LEASE_PARAMS,
  type ExecResult,
  type Lease,
  LEASE_STATES,
  type NetworkParams,
  SETTLED_STATES,
  type VmInfo,
  XeError,
} from '@xe/core-types';
import type {
  AccountInfo,
  ApiDeps,
  BalanceInfo,
  CancelLeaseResult,
  ChainPage,
  ConflictRecord,
  EventSubscription,
  ExecOptions,
  LeaseQuery,
  LeaseRequest,
  NodeInfo,
  PendingEntry,
  ProviderInfo,
  Readiness,
  StoredBlock,
  TunnelAuth,
} from '../../src/index.js';

export const START_TIME = 1709500180000000001n;

export function hashOf(label: string): string {
  return createHash('sha256').update(label).digest('hex');
}

/** The lease access key's public key (the fake tunnel verifier signs with it as the key). */
export const ACCESS_PUB = hashOf('access key');

export function makeLease(i: number, state: Lease['state'] = LEASE_STATES[i % LEASE_STATES.length]!): Lease {
  return {
    lease_hash: hashOf(`lease ${i}`),
    consumer: hashOf(`consumer ${i % 7}`),
    provider: hashOf(`provider ${i % 3}`),
    vcpus: 1 + (i % 4),
    memory_mb: 1024,
    disk_gb: 10,
    duration: 3600,
    access_pub_key: ACCESS_PUB,
    cost: 18446744073709551615n - BigInt(i),
    stake: 9007199254740993n,
    start_time: state === 'created' || state === 'cancelled' ? 0n : START_TIME,
    certificate_hash: hashOf(`cert ${i % 3}`),
    settled: SETTLED_STATES.includes(state),
    state,
  };
}

export function network(minDurationSecs: bigint = DEFAULT_LEASE_PARAMS.min_duration_secs): NetworkParams {
  const base = minDurationSecs === DEVNET_LEASE_PARAMS.min_duration_secs ? DEVNET_LEASE_PARAMS : DEFAULT_LEASE_PARAMS;
  return {
    network_id: 'testnet-1',
    pow_difficulty: 0xff00000000000000n,
    timekeepers: { keys: [hashOf('tk')], threshold: 1 },
    lease: { ...base, min_duration_secs: minDurationSecs },
  };
}

type Failable =
  | 'requestLease'
  | 'cancelLease'
  | 'requestAttestation'
  | 'execVm'
  | 'openTunnel'
  | 'submitBlock'
  | 'listLeases'
  | 'readiness';

/** An in-memory `ApiDeps` with knobs: its data is public, `fail` makes a method reject. */
export class FakeDeps implements ApiDeps {
  params: NetworkParams = network();
  leases: Lease[] = [];
  providers: ProviderInfo[] = [];
  /** stored blocks, oldest first */
  blocks: StoredBlock[] = [];
  pendingSends: PendingEntry[] = [];
  certificates: Certificate[] = [];
  /** `now` of the certificates' expiry */
  now = START_TIME;
  vms: VmInfo[] = [];
  accounts = new Map<string, AccountInfo>();
  conflictList: ConflictRecord[] = [];
  ready: Readiness = { synced: true, peered: true, timekeepers_reachable: true, ready: true };
  fail: Partial<Record<Failable, unknown>> = {};
  /** when set, submitBlock answers every block with this rejection */
  rejectBlocks: { code: string; message: string; retryable: boolean } | undefined;
  /** where openTunnel connects (an echo server in tests) */
  tunnelPort: number | undefined;
  readonly calls: {
    requestLease: LeaseRequest[];
    exec: { hash: string; command: string; options: ExecOptions }[];
    tunnels: { hash: string; auth: TunnelAuth }[];
    blocks: Block[];
    cancels: string[];
  } = { requestLease: [], exec: [], tunnels: [], blocks: [], cancels: [] };
  private readonly knownBlocks = new Set<string>();

  private check(name: Failable): void {
    const err = this.fail[name];
    if (err !== undefined) throw err;
  }

  network(): NetworkParams {
    return this.params;
  }

  nodeInfo(): NodeInfo {
    return {
      name: 'xe-node',
      version: '0.1.0',
      network_id: this.params.network_id,
      address: hashOf('node address'),
      peer_id: '12D3KooWExamplePeer',
      roles: ['consumer', 'provider'],
      peers: 3,
      multiaddrs: ['/ip4/127.0.0.1/tcp/4001'],
      counts: { blocks: 42, accounts: 5, leases: this.leases.length, vms: this.vms.length },
      certificate: { hash: hashOf('cert 0'), expires_at: START_TIME + 604800000000000n, valid: true },
      id: '12D3KooWExamplePeer',
      public_key: hashOf('node key'),
      peer_count: 3,
      pow_difficulty: this.params.pow_difficulty.toString(16).padStart(16, '0'),
      lease_timing: {
        min_duration_secs: this.params.lease.min_duration_secs,
        settle_grace_ns: this.params.lease.settle_grace_ns,
        force_settle_gap_ns: this.params.lease.force_settle_gap_ns,
        escrow_expiry_ns: this.params.lease.escrow_expiry_ns,
        archive_gap_ns: this.params.lease.archive_gap_ns,
        max_attestation_skew_ns: this.params.lease.max_attestation_skew_ns,
      },
      pow_algorithm: 'blake3',
      finality: {
        quorum_pct: 67,
        total_weight: 18446744073709551615n,
        online_weight: 9007199254740993n,
        representatives: 3,
        online_representatives: 2,
        confirmed_blocks: 40n,
        unconfirmed_blocks: 2n,
        open_conflicts: 1,
      },
    };
  }

  async readiness(): Promise<Readiness> {
    this.check('readiness');
    return this.ready;
  }

  async listLeases(q: LeaseQuery): Promise<Lease[]> {
    this.check('listLeases');
    const all = q.state === undefined ? this.leases : this.leases.filter((l) => l.state === q.state);
    return all.slice(q.offset, q.offset + q.limit);
  }

  async getLease(hash: string): Promise<Lease | undefined> {
    return this.leases.find((l) => l.lease_hash === hash);
  }

  async listProviders(): Promise<ProviderInfo[]> {
    return this.providers;
  }

  async requestLease(request: LeaseRequest, _options: AbortOptions): Promise<{ lease_hash: string }> {
    this.calls.requestLease.push(request);
    this.check('requestLease');
    return { lease_hash: hashOf(`requested ${this.calls.requestLease.length}`) };
  }

  async cancelLease(hash: string, _options: AbortOptions): Promise<CancelLeaseResult> {
    this.calls.cancels.push(hash);
    this.check('cancelLease');
    const lease = this.leases.find((l) => l.lease_hash === hash);
    if (lease === undefined) throw new XeError('LEASE_NOT_FOUND', `lease ${hash} not found`);
    if (lease.state !== 'created') throw new XeError('LEASE_NOT_CANCELLABLE', `lease ${hash} is ${lease.state}`);
    return { lease_hash: hash, state: 'cancelled', block_hash: hashOf(`cancel ${hash}`) };
  }

  async requestAttestation(leaseHash: string, _options: AbortOptions): Promise<Attestation> {
    this.check('requestAttestation');
    if (!this.leases.some((l) => l.lease_hash === leaseHash)) throw new XeError('LEASE_NOT_FOUND', `lease ${leaseHash} not found`);
    return { public_key: hashOf('tk'), timestamp: START_TIME, signature: 'ab'.repeat(64) };
  }

  async listVms(): Promise<VmInfo[]> {
    return this.vms;
  }

  async getVm(leaseHash: string): Promise<VmInfo | undefined> {
    return this.vms.find((v) => v.lease_hash === leaseHash);
  }

  async execVm(leaseHash: string, command: string, options: ExecOptions): Promise<ExecResult> {
    this.calls.exec.push({ hash: leaseHash, command, options });
    this.check('execVm');
    if (!this.vms.some((v) => v.lease_hash === leaseHash)) throw new XeError('VM_NOT_FOUND', `no VM for lease ${leaseHash}`);
    return { exit_code: 0, stdout: `ran: ${command}\n`, stderr: '' };
  }

  async openTunnel(leaseHash: string, auth: TunnelAuth, options: AbortOptions): Promise<Duplex> {
    this.calls.tunnels.push({ hash: leaseHash, auth });
    this.check('openTunnel');
    const port = this.tunnelPort;
    if (port === undefined) throw new XeError('PROVIDER_UNREACHABLE', 'no provider stream configured');
    return await new Promise<Duplex>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port });
      const onAbort = () => s.destroy();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      s.once('connect', () => {
        options.signal?.removeEventListener('abort', onAbort);
        resolve(s);
      });
      s.once('error', (err) => reject(new XeError('PROVIDER_UNREACHABLE', `provider unreachable: ${err.message}`, { cause: err })));
    });
  }

  async account(address: string): Promise<AccountInfo | undefined> {
    return this.accounts.get(address);
  }

  async submitBlock(block: Block, _options: AbortOptions): Promise<AdmitResult> {
    this.calls.blocks.push(block);
    this.check('submitBlock');
    if (this.rejectBlocks !== undefined) return { status: 'rejected', hash: block.hash, ...this.rejectBlocks };
    const seen = this.knownBlocks.has(block.hash);
    this.knownBlocks.add(block.hash);
    if (!seen) this.blocks.push({ ...block, confirmed: false });
    return seen ? { status: 'duplicate', hash: block.hash } : { status: 'accepted', hash: block.hash, block };
  }

  async conflicts(): Promise<ConflictRecord[]> {
    return this.conflictList;
  }

  async getBlock(hash: string): Promise<StoredBlock | undefined> {
    return this.blocks.find((b) => b.hash === hash);
  }

  async recentBlocks(q: { limit: number; since?: bigint }): Promise<StoredBlock[]> {
    const newest = [...this.blocks].sort((a, b) => (a.timestamp === b.timestamp ? 0 : a.timestamp > b.timestamp ? -1 : 1));
    return newest.filter((b) => q.since === undefined || b.timestamp > q.since).slice(0, q.limit);
  }

  async balance(address: string): Promise<BalanceInfo> {
    const a = this.accounts.get(address);
    const balances = a?.balances ?? { XE: 0n, XUSD: 0n };
    const head = a?.head ?? { frontier: '0' as const, height: 0n, balances };
    const spendable = { XE: balances.XE < head.balances.XE ? balances.XE : head.balances.XE, XUSD: balances.XUSD < head.balances.XUSD ? balances.XUSD : head.balances.XUSD };
    return { address, balances, spendable, final_height: BigInt(a?.block_count ?? 0), head };
  }

  async chain(address: string, page: { offset: number; limit: number }): Promise<ChainPage> {
    const mine = this.blocks.filter((b) => b.account === address).reverse();
    return { address, total: BigInt(mine.length), blocks: mine.slice(page.offset, page.offset + page.limit) };
  }

  async pending(address: string): Promise<PendingEntry[]> {
    return this.pendingSends.filter((p) => p.Destination === address);
  }

  async certificateOf(provider: string): Promise<Certificate | undefined> {
    return this.certificates.filter((c) => c.provider === provider && c.expires_at > this.now).sort((a, b) => (a.expires_at > b.expires_at ? -1 : 1))[0];
  }

  async certificateByHash(hash: string): Promise<Certificate | undefined> {
    return this.certificates.find((c) => c.hash === hash);
  }

  /** `GET /events`: the text of event i is `eventFrames[i]` (its id is i + 1); a stream ends after the last one. */
  readonly eventFrames: string[] = [];
  lastEventIds: Array<bigint | undefined> = [];

  subscribeEvents(lastEventId: bigint | undefined): EventSubscription {
    this.lastEventIds.push(lastEventId);
    let i = lastEventId === undefined ? 0 : Number(lastEventId);
    let closed = false;
    return {
      next: async () => (closed || i >= this.eventFrames.length ? undefined : this.eventFrames[i++]),
      close: () => {
        closed = true;
      },
    };
  }
}

/** A fake with a little of everything: leases in every state, a provider, a VM, an account. */
export function seededFake(): FakeDeps {
  const f = new FakeDeps();
  f.leases = LEASE_STATES.map((s, i) => makeLease(i, s));
  f.providers = [
    {
      address: hashOf('provider 0'),
      vcpus: 16,
      memory_mb: 65536,
      disk_gb: 1000,
      active_leases: 2,
      available_vcpus: 12,
      available_memory_mb: 61440,
      available_disk_gb: 980,
      account: hashOf('provider 0'),
      used_vcpus: 4,
      used_memory_mb: 4096,
      used_disk_gb: 20,
      total_leases: 9,
    },
  ];
  f.blocks = [
    {
      type: 'send',
      account: hashOf('account'),
      previous: hashOf('frontier before'),
      balance: 18446744073709551615n,
      timestamp: START_TIME,
      asset: 'XE',
      destination: hashOf('provider 0'),
      amount: 1n,
      signature: 'cd'.repeat(64),
      hash: hashOf('stored send'),
      pow_nonce: 12345678901234567890n,
      confirmed: true,
    },
  ];
  f.pendingSends = [{ SendHash: hashOf('stored send'), Source: hashOf('account'), Destination: hashOf('provider 0'), Amount: 18446744073709551615n, Asset: 'XE' }];
  f.certificates = [
    {
      provider: hashOf('provider 0'),
      provider_pub_key: hashOf('provider 0 key'),
      score: 900n,
      price_multiplier_milli: 1000n,
      issued_at: START_TIME,
      expires_at: START_TIME + 604800000000000n,
      signature: 'ef'.repeat(64),
      hash: hashOf('cert 0'),
    },
  ];
  f.vms = [{ lease_hash: f.leases[1]!.lease_hash, status: 'running', resources: { vcpus: 2, memory_mb: 1024, disk_gb: 10 }, created_at: START_TIME }];
  f.accounts.set(hashOf('account'), {
    address: hashOf('account'),
    balances: { XE: 12345678901234567890n, XUSD: 5000000n },
    pending: { XE: 0n, XUSD: 1000000n },
    frontier: hashOf('frontier'),
    block_count: 7,
    // one block past the confirmed frontier: a send of 1 XUSD not confirmed yet
    head: { frontier: hashOf('head'), height: 8n, balances: { XE: 12345678901234567890n, XUSD: 4000000n } },
  });
  f.conflictList = [
    { account: hashOf('account'), previous: hashOf('prev'), kept: hashOf('kept'), rejected: hashOf('rejected'), detected_at: START_TIME },
  ];
  return f;
}
