import type { FinalityInfo, NodeCounts } from '@xe/api-server';
import {
  type AdmitResult,
  type Block,
  type Clock,
  type Confirmation,
  type FinalityParams,
  type GenesisBundle,
  type Logger,
  msToNs,
  NS_PER_SEC,
  nsToMs,
  positionKey,
  totalWeight,
  type Vote,
} from '@xe/core-types';
import type { KeyPair } from '@xe/crypto';
import {
  type ConfirmationIntake,
  type ConfirmationSource,
  fetchConfirmations,
  type GossipNode,
  MAX_VOTE_FETCH_HASHES,
  publishVote,
  serveVotes,
  type SyncSink,
  type SyncSource,
  type VoteIntake,
  VOTES_TOPIC,
  voteValidator,
} from '@xe/gossip';
import type { FinalityOptions, Ledger } from '@xe/ledger';
import type { Metrics } from './metrics.js';

/**
 * Finality in the node (SPEC §12): the ledger runs the rules (elections, locks, rounds,
 * confirmation, dropping losers); this module connects it to the network — it gossips
 * the votes the ledger casts on `xe/votes`, hands received votes and confirmations to the
 * ledger, runs the ledger's timers, fetches confirmations over `/xe/votes/1.0.0` for
 * blocks unconfirmed for 2 s (and the blocks that votes name but this node has not seen),
 * and serves the same protocol and the confirmations in sync pages. A representative keeps
 * a direct connection to the other representatives, so a block and the votes on it reach
 * each of them in one hop rather than through a relay's validation.
 */

/** How often the ledger's finality timers run. */
export const FINALITY_TICK_MS = 100;
/** A block unconfirmed this long is fetched from peers (SPEC §12: 2 s). */
export const FETCH_AFTER_MS = 2000;
/** The same hash is asked for at most this often. */
export const REFETCH_MS = 2000;
/** Peers asked per fetch round. */
export const FETCH_PEERS = 3;
/** Blocks named by votes but not seen here, remembered for fetching at most. */
export const MAX_WANTED = 1024;
/**
 * A fetched block this node cannot admit yet (its previous, its send or its lease are not
 * here) shows the peer holds blocks this node lacks: the node syncs with that peer at once,
 * at most this often per peer, instead of waiting for the periodic sync.
 */
export const SYNC_ON_GAP_MS = 5000;
/** Peers remembered for that limit at most. */
const MAX_GAP_PEERS = 256;
/** A representative whose vote arrived this recently counts as online. */
export const ONLINE_VOTE_MS = 60_000;
/** A representative keeps direct connections to at most this many other representatives (the heaviest). */
export const MAX_REP_LINKS = 16;
/** An unconnected representative is dialled again at most this often. */
export const REP_LINK_RETRY_MS = 5000;
/** Deadline of one such dial. */
const REP_LINK_DIAL_MS = 5000;
/** How far down a chain `confirmation(account)` looks for a stored confirmation. */
const CONFIRMATION_LOOKBACK = 32;

/**
 * The round timeout (SPEC §12: 1 s on a devnet, 5 s in production), chosen from the
 * bundle's lease timings: a network whose accept window is under 10 minutes (the devnet
 * set has 2 minutes) is a devnet.
 */
export function roundTimeoutNs(bundle: Pick<GenesisBundle, 'lease'>): bigint {
  return bundle.lease.accept_window_ns < 600n * NS_PER_SEC ? NS_PER_SEC : 5n * NS_PER_SEC;
}

/** The ledger's finality options for this node: the bundle's representatives, this node's key when it is one of them. */
export function ledgerFinalityOptions(bundle: GenesisBundle, key: KeyPair): FinalityOptions {
  const listed = bundle.finality.representatives.some((r) => r.address === key.address);
  return {
    params: bundle.finality,
    ...(listed ? { key } : {}),
    roundTimeoutNs: roundTimeoutNs(bundle),
    fetchAfterNs: msToNs(FETCH_AFTER_MS),
  };
}

/** The other representatives `self` keeps a direct connection to: the heaviest MAX_REP_LINKS, ties to the lower address. */
export function linkTargets(params: FinalityParams, self: string): string[] {
  return params.representatives
    .filter((r) => r.address !== self)
    .sort((a, b) => (a.weight !== b.weight ? (a.weight > b.weight ? -1 : 1) : a.address < b.address ? -1 : 1))
    .slice(0, MAX_REP_LINKS)
    .map((r) => r.address);
}

type FinalityLedger = Pick<
  Ledger,
  | 'addVote'
  | 'addConfirmation'
  | 'finalityTick'
  | 'isConfirmed'
  | 'confirmedFrontier'
  | 'getConfirmation'
  | 'getConflict'
  | 'getBlock'
  | 'getBlockOrCandidate'
  | 'getStoredBlock'
  | 'hasBlock'
  | 'events'
  | 'votingHalted'
  | 'openConflicts'
  | 'frontiers'
>;

export interface NodeFinalityComponents {
  ledger: FinalityLedger;
  gossip: Pick<GossipNode, 'subscribe' | 'publish' | 'handle' | 'request' | 'helloPeerIds' | 'findNode' | 'dialAddress' | 'sync'>;
  /** Where fetched blocks go (the node's block intake, origin `sync`). */
  ingestBlock(block: Block): Promise<AdmitResult>;
  bundle: GenesisBundle;
  /** This node's account address. */
  address: string;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
}

export class NodeFinality {
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private haltLogged = false;
  private readonly lastAsked = new Map<string, number>();
  /** peer → when this node last synced with it over a gap in fetched blocks (ms) */
  private readonly gapSynced = new Map<string, number>();
  /** block hash → the peer that relayed a vote naming it */
  private readonly wanted = new Map<string, string>();
  private readonly lastVoteAt = new Map<string, number>();
  private readonly unconfirmed = new Set<string>();
  private fetchList: string[] = [];
  private readonly reps: Set<string>;
  /** the representatives this node links to directly (none when it is not one) */
  private readonly links: string[];
  private readonly linkAsked = new Map<string, number>();
  /** this node's votes emitted in the current burst, the newest per position (published together) */
  private readonly outgoing = new Map<string, Vote>();
  private readonly countVote: (labels: { result: string }) => void;
  private readonly countFetch: (labels: { result: string }) => void;
  private readonly countConfirmed: () => void;

  constructor(private readonly components: NodeFinalityComponents) {
    const c = components;
    this.reps = new Set(c.bundle.finality.representatives.map((r) => r.address));
    this.links = this.reps.has(c.address) ? linkTargets(c.bundle.finality, c.address) : [];
    this.countVote = c.metrics.counter('xe_votes_received_total', 'Votes received on xe/votes, by what the ledger said', ['result']);
    this.countFetch = c.metrics.counter('xe_confirmation_fetches_total', 'Confirmation fetches over /xe/votes/1.0.0, by result', ['result']);
    const confirmed = c.metrics.counter('xe_blocks_confirmed_total', 'Blocks that became confirmed (SPEC §12)');
    this.countConfirmed = () => confirmed();
    c.metrics.gauge('xe_finality_unconfirmed_blocks', 'Applied blocks not yet confirmed', () => this.unconfirmed.size);
    c.metrics.gauge('xe_finality_open_conflicts', 'Positions with a held rival candidate', () => c.ledger.openConflicts);
    c.metrics.gauge('xe_finality_voting_halted', '1 when this node stopped voting (a vote under its key it did not cast)', () => (c.ledger.votingHalted ? 1 : 0));
  }

  /** Registers `xe/votes`, `/xe/votes/1.0.0` and the ledger listeners (before gossip starts). */
  wire(): void {
    const { gossip, ledger, bundle, clock, logger: log } = this.components;
    gossip.subscribe(
      VOTES_TOPIC,
      voteValidator({
        networkId: bundle.network_id,
        clock,
        admit: async (vote, ctx): Promise<VoteIntake> => {
          const r = await ledger.addVote(vote, { origin: 'live' });
          this.countVote({ result: r.status === 'rejected' ? r.code : r.status });
          if (r.status !== 'rejected') this.lastVoteAt.set(vote.representative, nsToMs(clock()));
          // a vote that overtook its block is held; the block usually follows at once
          if (r.status === 'held' && (await ledger.getBlockOrCandidate(vote.block_hash)) === undefined) this.want(vote.block_hash, ctx.from);
          return r;
        },
      }),
      () => undefined,
    );
    serveVotes(gossip, this.source());
    ledger.events.on('vote', this.onVote);
    ledger.events.on('block', this.onBlock);
    ledger.events.on('confirmed', this.onConfirmed);
    ledger.events.on('dropped', this.onDropped);
    log.info('finality on', {
      representatives: bundle.finality.representatives.length,
      quorum_pct: bundle.finality.quorum_pct,
      voting: this.reps.has(this.components.address),
      round_timeout_ms: Number(roundTimeoutNs(bundle) / 1_000_000n),
    });
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), FINALITY_TICK_MS);
    this.timer.unref();
    this.linkRepresentatives();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const { ledger } = this.components;
    ledger.events.off('vote', this.onVote);
    ledger.events.off('block', this.onBlock);
    ledger.events.off('confirmed', this.onConfirmed);
    ledger.events.off('dropped', this.onDropped);
  }

  /**
   * The ledger emits the votes a task cast once its writes are stored, together; a
   * representative that sees converge quorum at once casts its converge and its final
   * vote in one task. Only the newest of this node's votes per position is published: the
   * earlier one would count for nothing (per representative and position only the highest
   * (round, timestamp) counts, and a final vote counts toward converge quorum too), and each
   * vote a peer takes costs it a signature check and a write.
   */
  private onVote = (vote: Vote) => {
    const pk = positionKey(vote.position);
    const prev = this.outgoing.get(pk);
    if (prev === undefined || vote.round > prev.round || (vote.round === prev.round && vote.timestamp > prev.timestamp)) this.outgoing.set(pk, vote);
    if (this.outgoing.size === 1 && prev === undefined) queueMicrotask(this.publishOutgoing);
  };

  private publishOutgoing = () => {
    const votes = [...this.outgoing.values()];
    this.outgoing.clear();
    for (const v of votes) {
      void publishVote(this.components.gossip, v).catch((err) => this.components.logger.debug('vote publish failed', { err }));
    }
  };

  private onBlock = ({ block }: { block: Block }) => {
    if (this.unconfirmed.size < 100_000) this.unconfirmed.add(block.hash);
    this.wanted.delete(block.hash);
  };

  private onConfirmed = ({ hash }: { hash: string }) => {
    this.unconfirmed.delete(hash);
    this.countConfirmed();
  };

  private onDropped = (record: { rejected: string; winner?: string; reason?: string; account: string }) => {
    this.unconfirmed.delete(record.rejected);
    this.components.logger.info('block dropped', { block: record.rejected, account: record.account, winner: record.winner, reason: record.reason });
  };

  private want(hash: string, from: string): void {
    if (this.wanted.has(hash)) return;
    if (this.wanted.size >= MAX_WANTED) this.wanted.delete(this.wanted.keys().next().value as string);
    this.wanted.set(hash, from);
  }

  /**
   * Dials the representatives this node links to that it has no hello'd connection to (each
   * at most every REP_LINK_RETRY_MS; a refused peer's dial fails at the connection gate).
   * Returns the addresses dialled.
   */
  linkRepresentatives(): string[] {
    if (this.links.length === 0) return [];
    const { gossip, logger: log } = this.components;
    const now = nsToMs(this.components.clock());
    const connected = new Set(gossip.helloPeerIds());
    const dialled: string[] = [];
    for (const rep of this.links) {
      const rec = gossip.findNode(rep);
      if (rec === undefined || connected.has(rec.peer_id)) continue;
      const last = this.linkAsked.get(rep);
      if (last !== undefined && now - last < REP_LINK_RETRY_MS) continue;
      this.linkAsked.set(rep, now);
      dialled.push(rep);
      gossip.dialAddress(rep, { signal: AbortSignal.timeout(REP_LINK_DIAL_MS) }).then(
        () => log.debug('linked to a representative', { representative: rep }),
        (err) => log.debug('representative link failed', { representative: rep, err }),
      );
    }
    return dialled;
  }

  /** One timer step: representative links, the ledger's timers, the halt alarm, then fetches. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      this.linkRepresentatives();
      const r = await this.components.ledger.finalityTick();
      this.fetchList = r.fetch;
      if (this.components.ledger.votingHalted && !this.haltLogged) {
        this.haltLogged = true;
        this.components.logger.error(
          'VOTING HALTED: a vote signed with this node key was seen that this node did not cast; the key may be in use elsewhere. This node no longer votes; replace its key.',
          { address: this.components.address },
        );
      }
      await this.fetch(r.fetch);
    } catch (err) {
      this.components.logger.warn('finality tick failed', { err });
    } finally {
      this.ticking = false;
    }
  }

  /** Asks peers for the confirmations of `hashes` and the blocks votes named that are not here. */
  private async fetch(unconfirmed: readonly string[]): Promise<void> {
    const now = nsToMs(this.components.clock());
    const due = (h: string) => now - (this.lastAsked.get(h) ?? 0) >= REFETCH_MS;
    const wanted = [...this.wanted.entries()].filter(([h]) => due(h));
    const hashes = [...new Set([...wanted.map(([h]) => h), ...unconfirmed.filter(due)])].slice(0, MAX_VOTE_FETCH_HASHES);
    if (hashes.length === 0) return;
    for (const h of hashes) this.lastAsked.set(h, now);
    if (this.lastAsked.size > 4 * MAX_WANTED) {
      for (const [h, t] of this.lastAsked) if (now - t > 10 * REFETCH_MS) this.lastAsked.delete(h);
    }
    const peers = this.components.gossip.helloPeerIds();
    const first = wanted.map(([, p]) => p).filter((p) => peers.includes(p));
    const order = [...new Set([...first, ...shuffle(peers)])].slice(0, FETCH_PEERS);
    await Promise.all(order.map((peer) => this.fetchFrom(peer, hashes)));
  }

  private async fetchFrom(peer: string, hashes: readonly string[]): Promise<void> {
    const { ledger, logger: log } = this.components;
    try {
      const answer = await fetchConfirmations(this.components.gossip, peer, hashes);
      let gap = false;
      for (const b of answer.blocks) {
        const r = await this.components.ingestBlock(b);
        if (r.status === 'rejected' && r.retryable) gap = true;
      }
      if (gap) this.syncOverGap(peer);
      let confirmed = 0;
      for (const conf of answer.confirmations) {
        const r = await ledger.addConfirmation(conf);
        if (r.status === 'confirmed') confirmed++;
        else if (r.status === 'rejected' && !r.retryable) log.warn('peer sent a bad confirmation', { peer, block: conf.block_hash, code: r.code });
      }
      this.countFetch({ result: confirmed > 0 ? 'confirmed' : answer.blocks.length > 0 ? 'blocks' : 'nothing' });
    } catch (err) {
      this.countFetch({ result: 'failed' });
      log.debug('confirmation fetch failed', { peer, err });
    }
  }

  /** Syncs with `peer`, which sent a block whose dependencies are not here (at most every SYNC_ON_GAP_MS per peer). */
  private syncOverGap(peer: string): void {
    const now = nsToMs(this.components.clock());
    const last = this.gapSynced.get(peer);
    if (last !== undefined && now - last < SYNC_ON_GAP_MS) return;
    if (this.gapSynced.size >= MAX_GAP_PEERS) {
      for (const [p, t] of this.gapSynced) if (now - t >= SYNC_ON_GAP_MS) this.gapSynced.delete(p);
      if (this.gapSynced.size >= MAX_GAP_PEERS) this.gapSynced.delete(this.gapSynced.keys().next().value as string);
    }
    this.gapSynced.set(peer, now);
    const log = this.components.logger;
    log.debug('a fetched block misses blocks the peer holds: syncing with it', { peer });
    this.components.gossip.sync(peer).then(
      (s) => log.debug('sync over a gap done', { peer, accepted: s.accepted }),
      (err) => log.debug('sync over a gap failed', { peer, err }),
    );
  }

  /** What `/xe/votes/1.0.0` answers from this ledger. */
  source(): ConfirmationSource {
    const { ledger } = this.components;
    return {
      lookup: async (hash) => {
        // applied or held: a peer that saw only votes for a rival learns it from any node holding it
        const block = await ledger.getBlockOrCandidate(hash);
        if (block !== undefined) {
          const confirmation = await ledger.getConfirmation(hash);
          return confirmation === undefined ? { block } : { block, confirmation };
        }
        const conflict = await ledger.getConflict(hash);
        if (conflict?.winner === undefined) return undefined;
        const winner = await ledger.getBlock(conflict.winner);
        const confirmation = await ledger.getConfirmation(conflict.winner);
        if (winner === undefined) return undefined;
        return confirmation === undefined ? { block: winner } : { block: winner, confirmation };
      },
    };
  }

  /** `GET /node`'s `finality`. */
  info(counts: NodeCounts): FinalityInfo {
    const { bundle, gossip, ledger } = this.components;
    const peers = new Set(gossip.helloPeerIds());
    const now = nsToMs(this.components.clock());
    let online = 0n;
    let onlineReps = 0;
    for (const r of bundle.finality.representatives) {
      const rec = r.address === this.components.address ? undefined : gossip.findNode(r.address);
      const up = r.address === this.components.address || (rec !== undefined && peers.has(rec.peer_id)) || now - (this.lastVoteAt.get(r.address) ?? 0) < ONLINE_VOTE_MS;
      if (up) {
        online += r.weight;
        onlineReps++;
      }
    }
    const unconfirmed = BigInt(Math.max(this.unconfirmed.size, this.fetchList.length));
    const blocks = BigInt(counts.blocks);
    return {
      quorum_pct: bundle.finality.quorum_pct,
      total_weight: totalWeight(bundle.finality),
      online_weight: online,
      representatives: bundle.finality.representatives.length,
      online_representatives: onlineReps,
      confirmed_blocks: blocks > unconfirmed ? blocks - unconfirmed : 0n,
      unconfirmed_blocks: unconfirmed,
      open_conflicts: ledger.openConflicts,
    };
  }
}

function shuffle<T>(list: readonly T[]): T[] {
  const a = [...list];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Sync with confirmations: frontiers carry the confirmed height, pages the newest confirmation of each account. */
export function withConfirmations(source: SyncSource, ledger: Pick<Ledger, 'confirmedFrontier' | 'getConfirmation' | 'getStoredBlock'>): SyncSource {
  return {
    frontiers: async () => {
      const list = await source.frontiers();
      const out = [];
      for (const f of list) {
        const c = await ledger.confirmedFrontier(f.account);
        out.push({ ...f, confirmed: c === undefined ? 0 : Number(c.height) });
      }
      return out;
    },
    blocksAfter: (account, height, limit) => source.blocksAfter(account, height, limit),
    certificate: (hash) => source.certificate(hash),
    confirmation: async (account) => {
      const c = await ledger.confirmedFrontier(account);
      if (c === undefined) return undefined;
      // the newest block holding its own confirmation (one confirmed as a dependency holds none)
      let hash: string | undefined = c.frontier;
      for (let i = 0; i < CONFIRMATION_LOOKBACK && hash !== undefined && hash !== '0'; i++) {
        const conf: Confirmation | undefined = await ledger.getConfirmation(hash);
        if (conf !== undefined) return conf;
        hash = (await ledger.getStoredBlock(hash))?.block.previous;
      }
      return undefined;
    },
  };
}

/** The sink side: confirmations from sync pages go to the ledger. */
export function withConfirmationIntake(sink: SyncSink, ledger: Pick<Ledger, 'addConfirmation'>): SyncSink {
  return {
    ingestBlock: (block, origin) => sink.ingestBlock(block, origin),
    ingestCertificate: (cert) => sink.ingestCertificate(cert),
    ingestConfirmation: async (conf): Promise<ConfirmationIntake> => ledger.addConfirmation(conf),
  };
}
