import type { FinalityInfo, LeaseTiming, NodeCounts, NodeInfo, Readiness } from '@xe/api-server';
import type { Clock, GenesisBundle, NodeRole } from '@xe/core-types';
import type { GossipNode } from '@xe/gossip';
import type { Ledger } from '@xe/ledger';
import type { Metrics } from './metrics.js';

/** How often the GET /node counts are refreshed in the background. */
export const COUNTS_REFRESH_MS = 5000;

/** XE writes the PoW difficulty as 16 lowercase hex chars, and `"0"` when proof of work is off. */
export function powDifficultyHex(difficulty: bigint): string {
  return difficulty === 0n ? '0' : difficulty.toString(16).padStart(16, '0');
}

/** `finality` under the first-seen rules: every stored block is confirmed. */
export function firstSeenFinality(counts: NodeCounts): FinalityInfo {
  return {
    quorum_pct: 0,
    total_weight: 0n,
    online_weight: 0n,
    representatives: 0,
    online_representatives: 0,
    confirmed_blocks: BigInt(counts.blocks),
    unconfirmed_blocks: 0n,
    open_conflicts: 0,
  };
}

export interface NodeStatusOptions {
  name: string;
  version: string;
  address: string;
  peerId: string;
  pubKeyHex: string;
  roles: NodeRole[];
  bundle: GenesisBundle;
  /** Peers to sync from; with none, the first peer is enough to be synced. */
  bootstrap: readonly string[];
}

export interface NodeStatusComponents {
  ledger: Pick<Ledger, 'frontiers' | 'countLeases'>;
  gossip: Pick<GossipNode, 'helloPeerIds' | 'multiaddrs' | 'nodes' | 'on'>;
  /** VMs this node runs (a provider), for the counts. */
  vmCount?: () => Promise<number>;
  /** The provider certificate, when this node is a provider. */
  certificate?: () => { hash: string; expires_at: bigint } | undefined;
  /** Whether this node signs attestations itself. */
  signs: boolean;
  /** Blocks held by the intake for a missing dependency. */
  heldBlocks: () => number;
  /**
   * `GET /node`'s `finality`, from the ledger's representative voting (SPEC §12). Absent:
   * the first-seen rules, where every stored block counts as confirmed (no representatives,
   * nothing held for votes, no open conflicts).
   */
  finality?: (counts: NodeCounts) => FinalityInfo;
  metrics: Metrics;
  clock: Clock;
}

/**
 * What the node says about itself: GET /node (identity, peers, counts, certificate), the
 * readiness of GET /ready (synced, peered, timekeepers reachable) and the node's gauges on
 * /metrics. Counts are refreshed in the background so the routes stay cheap.
 */
export class NodeStatus {
  private counts: NodeCounts = { blocks: 0, accounts: 0, leases: 0, vms: 0 };
  private synced = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: NodeStatusOptions,
    private readonly components: NodeStatusComponents,
  ) {
    components.gossip.on('sync:done', () => {
      this.synced = true;
    });
    const { metrics, gossip } = components;
    metrics.gauge('xe_ledger_blocks', 'Blocks in the ledger', () => this.counts.blocks);
    metrics.gauge('xe_ledger_accounts', 'Accounts in the ledger', () => this.counts.accounts);
    metrics.gauge('xe_vms_running', 'VMs this provider runs', () => this.counts.vms);
    metrics.gauge('xe_peers', 'Connected peers that completed hello', () => gossip.helloPeerIds().length);
    metrics.gauge('xe_blocks_held_for_retry', 'Blocks waiting for a dependency', () => components.heldBlocks());
    const identity = { address: options.address, network: options.bundle.network_id, version: options.version };
    metrics.gauge('xe_node_info', 'Constant 1 with the node identity as labels', () => [[identity, 1]], ['address', 'network', 'version']);
  }

  /** Starts the background refresh of the counts. */
  start(): void {
    const refresh = () => void this.refreshCounts().catch(() => undefined);
    refresh();
    this.timer = setInterval(refresh, COUNTS_REFRESH_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  async refreshCounts(): Promise<void> {
    const { ledger, vmCount } = this.components;
    const frontiers = await ledger.frontiers();
    let blocks = 0;
    for (const f of frontiers) blocks += Number(f.height);
    this.counts = { blocks, accounts: frontiers.length, leases: await ledger.countLeases({}), vms: vmCount ? await vmCount() : 0 };
  }

  nodeInfo(): NodeInfo {
    const { options: o, components: c } = this;
    const cert = c.certificate?.();
    const now = c.clock();
    const peers = c.gossip.helloPeerIds().length;
    const l = o.bundle.lease;
    const lease_timing: LeaseTiming = {
      min_duration_secs: l.min_duration_secs,
      settle_grace_ns: l.settle_grace_ns,
      force_settle_gap_ns: l.force_settle_gap_ns,
      escrow_expiry_ns: l.escrow_expiry_ns,
      archive_gap_ns: l.archive_gap_ns,
      max_attestation_skew_ns: l.max_attestation_skew_ns,
    };
    return {
      name: o.name,
      version: o.version,
      network_id: o.bundle.network_id,
      address: o.address,
      peer_id: o.peerId,
      roles: o.roles,
      peers,
      multiaddrs: c.gossip.multiaddrs(),
      counts: this.counts,
      certificate: cert ? { hash: cert.hash, expires_at: cert.expires_at, valid: cert.expires_at > now } : null,
      id: o.peerId,
      public_key: o.pubKeyHex,
      peer_count: peers,
      pow_difficulty: powDifficultyHex(o.bundle.pow_difficulty),
      lease_timing,
      pow_algorithm: 'blake3',
      finality: (c.finality ?? firstSeenFinality)(this.counts),
    };
  }

  async readiness(): Promise<Readiness> {
    const { options: o, components: c } = this;
    const peered = c.gossip.helloPeerIds().length > 0;
    const synced = this.synced || (peered && o.bootstrap.length === 0);
    const tk = o.bundle.timekeepers;
    const known = new Set(c.gossip.nodes('timekeeper').map((r) => r.pub_key));
    if (c.signs) known.add(o.pubKeyHex);
    const reachable = tk.keys.filter((k) => known.has(k)).length >= tk.threshold;
    return { synced, peered, timekeepers_reachable: reachable, ready: synced && peered && reachable };
  }
}
