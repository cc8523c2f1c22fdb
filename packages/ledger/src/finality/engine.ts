import {
  type AdmitResult,
  type Asset,
  type Block,
  bytesToHex,
  detachString,
  type Confirmation,
  type FinalityParams,
  type Logger,
  type Position,
  positionKey,
  samePosition,
  totalWeight,
  VOTE_WINDOW_NS,
  type Vote,
  MAX_CANDIDATES_PER_POSITION,
  U32_MAX,
} from '@xe/core-types';
import { type KeyPair, representativeWeight, signVote, verifyVote } from '@xe/crypto';
import type { Admission, AdmissionFinality } from '../admission/admit.js';
import { heightAfter } from '../admission/fork.js';
import { emitSafely, type LedgerEvents } from '../events.js';
import { type BlockRejection, LedgerErrorCodes as C, LedgerStoreError } from '../errors.js';
import type { Repositories } from '../repos/index.js';
import type { BatchOp } from '../store.js';
import type { AccountState, ConflictReason, ConflictRecord, SupplyCounters, UndoRecord } from '../types.js';
import { Election, type Tally } from './election.js';
import { namedBy, positionKeyBytes, positionsOf } from './positions.js';
import { verifyConfirmation } from './verify.js';

/** How a ledger runs finality (SPEC §12). */
export interface FinalityOptions {
  params: FinalityParams;
  /** this node's key; it votes when its address is a representative */
  key?: KeyPair;
  /** round timeout: 1 s on a devnet, 5 s in production (default 1 s) */
  roundTimeoutNs?: bigint;
  /** an applied block unconfirmed for this long is listed for a confirmation fetch (default 2 s) */
  fetchAfterNs?: bigint;
}

export type VoteResult =
  | { status: 'counted' | 'duplicate' | 'held' }
  | { status: 'rejected'; code: string; message: string; retryable: boolean };

export type ConfirmationResult =
  | { status: 'confirmed' | 'duplicate'; hash: string }
  | { status: 'rejected'; code: string; message: string; retryable: boolean };

export interface TickResult {
  /** votes this node cast (also emitted as 'vote') */
  votes: Vote[];
  /** blocks (applied or held) unconfirmed for longer than the fetch delay: ask peers for confirmations */
  fetch: string[];
}

export interface FinalityComponents {
  repos: Repositories;
  events: LedgerEvents;
  log: Logger;
  networkId: string;
  /** hashes of the bundle's blocks: confirmed by definition */
  bundle: ReadonlySet<string>;
}

/** Votes for blocks not seen yet, held at most this many (oldest dropped). */
export const MAX_HELD_VOTES = 4096;
const MAX_FETCH_LIST = 256;
/** Elections kept in memory (each position with an unconfirmed candidate and recent votes). */
export const MAX_ELECTIONS = 50_000;
const MAX_TRACKED_UNCONFIRMED = 100_000;
const SEQ_META = 'apply_seq';

interface OwnVote {
  round: number;
  final: boolean;
  /** local time it was cast (round timeout) */
  at: bigint;
  timestamp: bigint;
  signature: string;
}

const rejected = (code: string, message: string, retryable = false): VoteResult & ConfirmationResult => ({
  status: 'rejected',
  code,
  message,
  retryable,
});

/**
 * The finality engine (SPEC §12) inside a ledger: competing candidates held per position,
 * votes tallied per election, this node's own converge/final votes with durable locks and
 * the dependency rule, confirmations decided or verified, and losers rolled back with
 * everything built on them. Pure: no network, time passed in. Runs inside the ledger's
 * serial queue.
 */
export class FinalityEngine implements AdmissionFinality {
  private readonly weights: Map<string, bigint>;
  private readonly total: bigint;
  private readonly self: KeyPair | undefined;
  private readonly roundTimeoutNs: bigint;
  private readonly fetchAfterNs: bigint;
  private readonly elections = new Map<string, Election>();
  private readonly own = new Map<string, OwnVote>();
  private readonly decided = new Map<string, Tally>();
  private readonly heldVotes = new Map<string, Vote[]>();
  private heldVoteCount = 0;
  private readonly heldVoteOrder: string[] = [];
  private readonly unconfirmedSince = new Map<string, bigint>();
  private readonly bundleHeights = new Map<string, bigint>();
  private outbox: Vote[] = [];
  private seq = 0n;
  private admission!: Admission;
  /** set when a vote signed with this node's key arrives that it did not cast */
  halted = false;

  constructor(
    private readonly options: FinalityOptions,
    private readonly components: FinalityComponents,
  ) {
    this.weights = new Map(options.params.representatives.map((r) => [r.address, r.weight]));
    this.total = totalWeight(options.params);
    const key = options.key;
    this.self = key !== undefined && this.weights.has(key.address) ? key : undefined;
    this.roundTimeoutNs = options.roundTimeoutNs ?? 1_000_000_000n;
    this.fetchAfterNs = options.fetchAfterNs ?? 2_000_000_000n;
  }

  get params(): FinalityParams {
    return this.options.params;
  }

  /** Whether this node votes (its key is a listed representative). */
  get voting(): boolean {
    return this.self !== undefined && !this.halted;
  }

  /** Wires the admission used to apply a held winner, and reads the apply counter. */
  async attach(admission: Admission, bundleBlocks: readonly Block[]): Promise<void> {
    this.admission = admission;
    await this.components.repos.candidates.load();
    await this.components.repos.votes.load();
    const seq = await this.components.repos.meta.get(SEQ_META);
    this.seq = seq === undefined ? 0n : BigInt(seq);
    for (const b of bundleBlocks) this.bundleHeights.set(b.account, (this.bundleHeights.get(b.account) ?? 0n) + 1n);
  }

  /**
   * After an open: decisions the stored votes already make are carried out (a crash may
   * have come between a rollback and the winner's confirmation), applied blocks still
   * unconfirmed go back on the fetch list, and a representative resumes their elections.
   */
  async resume(now: bigint): Promise<void> {
    for (const held of await this.components.repos.candidates.all(MAX_TRACKED_UNCONFIRMED)) {
      if (!(await this.components.repos.candidates.has(held.hash))) continue;
      this.unconfirmedSince.set(held.hash, now);
      for (const p of positionsOf(held)) await this.evaluate(await this.election(p), now);
    }
    for (const hash of await this.components.repos.undo.unconfirmed(MAX_TRACKED_UNCONFIRMED)) {
      const stored = await this.components.repos.blocks.get(hash);
      if (stored === undefined || (await this.isConfirmed(hash))) continue;
      this.unconfirmedSince.set(hash, now);
      for (const p of positionsOf(stored.block)) {
        const pk = positionKey(p);
        if (this.voting || this.elections.has(pk) || (await this.components.repos.votes.at(positionKeyBytes(p), 1)).length > 0) {
          await this.evaluate(await this.election(p), now);
        }
      }
    }
  }

  // ---- confirmed state

  async confirmedHeight(account: string): Promise<bigint> {
    const stored = await this.components.repos.confirmations.height(account);
    const bundle = this.bundleHeights.get(account) ?? 0n;
    return stored > bundle ? stored : bundle;
  }

  async isConfirmed(hash: string): Promise<boolean> {
    if (this.components.bundle.has(hash)) return true;
    const place = await this.components.repos.blocks.place(hash);
    if (place === undefined) return false;
    return place.height <= (await this.confirmedHeight(place.account));
  }

  // ---- admission hooks

  async isHeld(hash: string): Promise<boolean> {
    const candidates = this.components.repos.candidates;
    return !candidates.none && (await candidates.has(hash));
  }

  async offFrontier(block: Block, acct: AccountState, now: bigint): Promise<AdmitResult> {
    const height = await heightAfter(this.components.repos, block);
    if (height > acct.height + 1n) throw new LedgerStoreError(C.INTERNAL, 'a known previous above the frontier');
    const ref = await this.components.repos.blocks.hashAt(acct.address, height);
    if (ref === undefined) throw new LedgerStoreError(C.INTERNAL, 'chain index is missing a position');
    const existing = bytesToHex(ref);
    return this.hold(block, existing, now);
  }

  async outcomeTaken(block: Block, err: BlockRejection, now: bigint): Promise<AdmitResult | undefined> {
    if (err.code !== C.LEASE_STATE || !('source' in block) || block.type === 'receive') return undefined;
    const lease = await this.components.repos.leases.get(block.source);
    if (lease === undefined) return undefined;
    const start = block.type === 'lease_accept' || block.type === 'lease_cancel';
    const holder = start ? (lease.accept_hash ?? lease.cancel_hash) : (lease.settle_hash ?? lease.force_settle_hash);
    if (holder === undefined || holder === block.hash) return undefined;
    return this.hold(block, holder, now);
  }

  /** Holds `block` as a candidate competing with the applied `existing`. */
  private async hold(block: Block, existing: string, now: bigint): Promise<AdmitResult> {
    const positions = positionsOf(block);
    if (await this.isConfirmed(existing)) {
      await this.record([{ block, reason: 'confirmed_sibling', existing }], existing, now);
      return { status: 'rejected', hash: block.hash, code: C.FORK_CONFIRMED, message: `fork: ${existing} holds this position and is confirmed`, retryable: false };
    }
    const keys = positions.map(positionKeyBytes);
    for (const k of keys) {
      if ((await this.components.repos.candidates.at(k, MAX_CANDIDATES_PER_POSITION)).length + 1 >= MAX_CANDIDATES_PER_POSITION) {
        return { status: 'rejected', hash: block.hash, code: C.TOO_MANY_CANDIDATES, message: `position already holds ${MAX_CANDIDATES_PER_POSITION} candidates`, retryable: false };
      }
    }
    const ops = this.components.repos.candidates.putOps(block, keys);
    this.pushDependentOps(block, ops);
    await this.components.repos.commit(ops);
    // a held candidate may be the one the others confirmed: it is fetched like an applied one
    this.trackUnconfirmed(block.hash, now);
    this.components.log.warn('fork: candidate held', { account: block.account, existing, held: block.hash });
    for (const p of positions) (await this.election(p)).addCandidate(block.hash);
    await this.voteWhereAlone(block, now);
    await this.replayHeldVotes(block.hash, now);
    return { status: 'rejected', hash: block.hash, code: C.FORK_HELD, message: `fork: held as a candidate beside ${existing}`, retryable: false };
  }

  /**
   * A held candidate can stand where nothing is applied: a lease_accept held because this
   * node applied the lease's cancel still stands alone at its chain position (provider,
   * previous). Only the nodes that applied it would vote there, and if they are not a
   * quorum the block could never win every position it stands at — the outcome election
   * would be decided and both blocks would stay unconfirmed for good. So a representative
   * casts its round-0 vote for a held block at each of its positions where it has not voted
   * and nothing is applied (SPEC §12: round 0 votes the first valid candidate it holds).
   */
  private async voteWhereAlone(block: Block, now: bigint): Promise<void> {
    if (!this.voting) return;
    for (const p of positionsOf(block)) {
      const e = await this.election(p);
      const pk = positionKey(p);
      if (this.own.has(pk) || this.decided.has(pk) || (await this.appliedAt(p)) !== undefined) continue;
      await this.cast(e, block.hash, 0, false, now);
    }
  }

  /**
   * Tracks an applied or held block until it is confirmed (at most MAX_TRACKED_UNCONFIRMED).
   * The key is a copy: the block's hash is cut out of the page or message it came in, and
   * would keep all of that text alive while tracked (5 MB per 10,000 synced blocks).
   */
  private trackUnconfirmed(hash: string, now: bigint): void {
    if (this.unconfirmedSince.size < MAX_TRACKED_UNCONFIRMED) this.unconfirmedSince.set(detachString(hash), now);
  }

  async beforeCommit(
    block: Block,
    ops: readonly BatchOp[],
    supply: Map<Asset, SupplyCounters>,
    known?: ReadonlyMap<BatchOp, Uint8Array | undefined>,
  ): Promise<BatchOp[]> {
    if (this.components.bundle.has(block.hash)) return [];
    const writes: [Uint8Array, Uint8Array | null][] = [];
    // a key holding this (new) block's hash did not exist before it: only the block itself
    // and blocks naming it (applied after it, rolled back before it) write such keys, and a
    // rollback restores them to absent — so it is not read
    let own: Buffer | undefined;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      // a key written twice keeps its first before-image (a block writes a handful of keys)
      if (writtenBefore(ops, i)) continue;
      let before: Uint8Array | undefined;
      if (known?.has(op) === true) before = known.get(op);
      else {
        own ??= Buffer.from(block.hash, 'hex');
        const kb = Buffer.from(op.key.buffer, op.key.byteOffset, op.key.byteLength);
        before = kb.includes(own) ? undefined : await this.components.repos.store.get(op.key);
      }
      writes.push([op.key, before ?? null]);
    }
    const deltas: [Asset, SupplyCounters][] = [];
    for (const [asset, after] of supply) {
      const b = this.components.repos.supply.current(asset);
      deltas.push([
        asset,
        {
          genesis: after.genesis - b.genesis,
          emitted: after.emitted - b.emitted,
          burned: after.burned - b.burned,
          forfeited: after.forfeited - b.forfeited,
          locked: after.locked - b.locked,
          pending: after.pending - b.pending,
        },
      ]);
    }
    this.seq += 1n;
    const record: UndoRecord = { seq: this.seq, writes, supply: deltas };
    const out = [this.components.repos.undo.putOp(block.hash, record), this.components.repos.meta.putOp(SEQ_META, String(this.seq))];
    this.pushDependentOps(block, out);
    return out;
  }

  /**
   * The DEPENDENT writes of `block` (one per block it names), pushed onto `ops` one by one:
   * spreading a mapped list (empty for a send, one name for a receive) gave V8 arrays of two
   * shapes in admission, and its compiled code was thrown away.
   */
  private pushDependentOps(block: Block, ops: BatchOp[]): void {
    const named = namedBy(block);
    for (let i = 0; i < named.length; i++) ops.push(this.components.repos.undo.dependentOp(named[i]!, block.hash));
  }

  async afterCommit(block: Block, now: bigint): Promise<void> {
    if (this.components.bundle.has(block.hash)) return;
    this.trackUnconfirmed(block.hash, now);
    for (const p of positionsOf(block)) {
      const pk = positionKey(p);
      // an observer needs an election only once votes arrive (it is built from the store then)
      const e = this.voting || this.elections.has(pk) ? await this.election(p) : undefined;
      e?.addCandidate(block.hash);
      if (e !== undefined && this.voting && !this.own.has(pk) && !this.decided.has(pk)) await this.cast(e, block.hash, 0, false, now);
    }
    await this.replayHeldVotes(block.hash, now);
    // held winners that waited for this block (built on it, or naming it) may be applied now
    if (this.components.repos.candidates.none) return;
    const waiting = [
      ...(await this.components.repos.candidates.at(positionKeyBytes({ type: 'chain', account: block.account, previous: block.hash }))),
      ...(await this.components.repos.undo.dependents(block.hash, 1024)),
    ];
    for (const h of waiting) if (await this.components.repos.candidates.has(h)) await this.tryConfirm(h, now);
  }

  // ---- elections

  private async election(p: Position): Promise<Election> {
    const pk = positionKey(p);
    let e = this.elections.get(pk);
    if (e !== undefined) return e;
    e = new Election(p, this.weights, this.total, this.options.params.quorum_pct);
    const applied = await this.appliedAt(p);
    if (applied !== undefined) e.addCandidate(applied);
    for (const h of await this.components.repos.candidates.at(positionKeyBytes(p))) e.addCandidate(h);
    // after a restart: the stored votes (this node's own among them) rebuild the tally
    for (const v of await this.components.repos.votes.at(positionKeyBytes(p))) {
      e.add(v);
      if (this.self !== undefined && v.representative === this.self.address && !this.own.has(pk)) {
        this.own.set(pk, { round: v.round, final: v.final, at: v.timestamp, timestamp: v.timestamp, signature: v.signature });
      }
    }
    this.elections.set(pk, e);
    this.boundElections();
    return e;
  }

  /**
   * Keeps at most MAX_ELECTIONS elections in memory: the oldest undecided ones are dropped
   * first (with this node's note of its own vote there); both are rebuilt from the stored
   * candidates and votes when the position is touched again.
   */
  private boundElections(): void {
    if (this.elections.size <= MAX_ELECTIONS) return;
    for (const pk of this.elections.keys()) {
      if (this.elections.size <= MAX_ELECTIONS) break;
      if (this.decided.has(pk)) continue;
      this.elections.delete(pk);
      this.own.delete(pk);
    }
  }

  /** The applied block standing at a position, if any. */
  private async appliedAt(p: Position): Promise<string | undefined> {
    if (p.type === 'chain') {
      const height = p.previous === '0' ? 1n : ((await this.components.repos.blocks.place(p.previous))?.height ?? -1n) + 1n;
      if (height <= 0n) return undefined;
      const ref = await this.components.repos.blocks.hashAt(p.account, height);
      return ref === undefined ? undefined : bytesToHex(ref);
    }
    const lease = await this.components.repos.leases.get(p.lease);
    if (lease === undefined) return undefined;
    return p.outcome === 'start' ? (lease.accept_hash ?? lease.cancel_hash) : (lease.settle_hash ?? lease.force_settle_hash);
  }

  /** The block with this hash, applied or held. */
  private async blockOf(hash: string): Promise<{ block: Block; applied: boolean } | undefined> {
    const stored = await this.components.repos.blocks.get(hash);
    if (stored !== undefined) return { block: stored.block, applied: true };
    const held = await this.components.repos.candidates.get(hash);
    return held === undefined ? undefined : { block: held, applied: false };
  }

  // ---- votes

  /** Takes a vote (SPEC §12). `live` votes must be within 5 minutes of `now`. */
  async addVote(vote: Vote, origin: 'live' | 'sync', now: bigint): Promise<VoteResult> {
    if (representativeWeight(this.options.params, vote.representative) === 0n) {
      return rejected(C.NOT_A_REPRESENTATIVE, `representative: ${vote.representative} is not listed`);
    }
    if (!verifyVote(vote, this.components.networkId)) return rejected(C.VOTE_INVALID, 'vote: signature or key does not verify');
    if (origin === 'live') {
      const d = vote.timestamp - now;
      if (d > VOTE_WINDOW_NS || -d > VOTE_WINDOW_NS) return rejected(C.VOTE_STALE, 'vote: timestamp more than 5 min from the local clock');
    }
    const pk = positionKey(vote.position);
    const known = await this.blockOf(vote.block_hash);
    if (known === undefined) {
      if (this.decided.has(pk)) return { status: 'duplicate' };
      this.holdVote(vote);
      return { status: 'held' };
    }
    if (!positionsOf(known.block).some((p) => samePosition(p, vote.position))) {
      return rejected(C.VOTE_POSITION_MISMATCH, 'vote: the block does not stand at this position');
    }
    if (known.applied && (await this.isConfirmed(vote.block_hash))) return { status: 'duplicate' };
    if (await this.stolenKey(vote)) return rejected(C.OWN_KEY_VOTE, 'vote: signed with this node key, not cast by this node');
    return this.count(vote, now);
  }

  /** A vote under this node's key that it did not cast: voting stops for good, loudly. */
  private async stolenKey(vote: Vote): Promise<boolean> {
    if (this.self === undefined || vote.representative !== this.self.address || (await this.castByUs(vote))) return false;
    if (!this.halted) {
      this.components.log.error('a vote signed with this node key was not cast by this node: voting stopped', {
        position: positionKey(vote.position),
        block: vote.block_hash,
      });
    }
    this.halted = true;
    return true;
  }

  /**
   * Whether this node cast `vote` (signed with its key): the vote it holds as its own at
   * the position, or an older one of its own coming back (gossip, a restart).
   */
  private async castByUs(vote: Vote): Promise<boolean> {
    const e = await this.election(vote.position);
    const mine = e.voteOf(vote.representative);
    if (mine === undefined) return false;
    if (mine.signature === vote.signature) return true;
    return vote.round < mine.round || (vote.round === mine.round && vote.timestamp < mine.timestamp);
  }

  private async count(vote: Vote, now: bigint): Promise<VoteResult> {
    const e = await this.election(vote.position);
    e.addCandidate(vote.block_hash);
    const intake = e.add(vote);
    if (intake === 'equivocation') return rejected(C.VOTE_EQUIVOCATION, 'vote: a different vote of this representative with the same round and timestamp');
    if (intake === 'superseded') return { status: 'duplicate' };
    await this.components.repos.commit([this.components.repos.votes.putOp(positionKeyBytes(vote.position), vote)]);
    await this.catchUp(e, vote, now);
    await this.evaluate(e, now);
    return { status: 'counted' };
  }

  /**
   * Another representative voting in a later round than this node pulls it into that
   * round at once (its converge choice there), so timers that fire at different moments do
   * not leave the representatives in different rounds forever.
   */
  private async catchUp(e: Election, vote: Vote, now: bigint): Promise<void> {
    if (!this.voting || vote.representative === this.self?.address || vote.round >= U32_MAX) return;
    const pk = positionKey(e.position);
    const mine = this.own.get(pk);
    if (mine === undefined || vote.round <= mine.round || this.decided.has(pk)) return;
    const lock = await this.components.repos.votes.lock(positionKeyBytes(e.position));
    const choice = e.choose(vote.round, lock, () => true);
    if (choice !== undefined) await this.cast(e, choice, vote.round, false, now);
  }

  private holdVote(vote: Vote): void {
    const list = this.heldVotes.get(vote.block_hash) ?? [];
    list.push(vote);
    this.heldVotes.set(vote.block_hash, list);
    this.heldVoteOrder.push(vote.block_hash);
    this.heldVoteCount++;
    while (this.heldVoteCount > MAX_HELD_VOTES) {
      const oldest = this.heldVoteOrder.shift()!;
      const l = this.heldVotes.get(oldest);
      if (l === undefined) continue;
      l.shift();
      this.heldVoteCount--;
      if (l.length === 0) this.heldVotes.delete(oldest);
    }
  }

  private async replayHeldVotes(hash: string, now: bigint): Promise<void> {
    const list = this.heldVotes.get(hash);
    if (list === undefined) return;
    this.heldVotes.delete(hash);
    this.heldVoteCount -= list.length;
    for (const v of list) {
      const known = await this.blockOf(hash);
      if (known === undefined || !positionsOf(known.block).some((p) => samePosition(p, v.position))) continue;
      if (await this.stolenKey(v)) continue;
      await this.count(v, now);
    }
  }

  /** Decides what a new vote changes: a winner, or (voting) this node's final vote. */
  private async evaluate(e: Election, now: bigint): Promise<void> {
    const pk = positionKey(e.position);
    const winner = e.finalWinner();
    if (winner !== undefined) {
      if (!this.decided.has(pk)) this.decided.set(pk, winner);
      if (!(await this.isConfirmed(winner.hash))) await this.tryConfirm(winner.hash, now);
      return;
    }
    if (!this.voting) return;
    const q = e.convergeQuorum();
    if (q === undefined) return;
    const mine = this.own.get(pk);
    // a final vote only in the round this node is in (or a later one), once per round
    if (mine !== undefined && (mine.round > q.round || (mine.final && mine.round === q.round))) return;
    if (!(await this.dependenciesConfirmed(q.hash))) return;
    // record the lock durably, then cast the final vote
    const posBytes = positionKeyBytes(e.position);
    await this.components.repos.commit([this.components.repos.votes.lockOp(posBytes, { block_hash: q.hash, round: q.round })]);
    await this.cast(e, q.hash, q.round, true, now);
  }

  /** Dependency rule: previous and every named block (and a settle's accept) confirmed. */
  private async dependenciesConfirmed(hash: string): Promise<boolean> {
    const known = await this.blockOf(hash);
    if (known === undefined) return false;
    const b = known.block;
    if (b.previous !== '0' && !(await this.isConfirmed(b.previous))) return false;
    for (const n of namedBy(b)) if (!(await this.isConfirmed(n))) return false;
    if (b.type === 'lease_settle' || b.type === 'lease_force_settle') {
      const accept = (await this.components.repos.leases.get(b.source))?.accept_hash;
      if (accept === undefined || !(await this.isConfirmed(accept))) return false;
    }
    return true;
  }

  private async cast(e: Election, hash: string, round: number, final: boolean, now: bigint): Promise<void> {
    const key = this.self;
    if (key === undefined || this.halted) return;
    const pk = positionKey(e.position);
    // a representative's later vote at a position must be higher in (round, timestamp)
    const last = this.own.get(pk)?.timestamp;
    const timestamp = last !== undefined && now <= last ? last + 1n : now;
    const v = signVote({ position: e.position, block_hash: hash, round, final, timestamp }, key, this.components.networkId);
    this.own.set(pk, { round, final, at: now, timestamp, signature: v.signature });
    this.outbox.push(v);
    emitSafely(this.components.events, this.components.log, 'vote', v);
    await this.count(v, now);
  }

  /** Round timeouts and the confirmation-fetch list (SPEC §12 timers). */
  async tick(now: bigint): Promise<TickResult> {
    if (this.voting) {
      for (const [pk, e] of [...this.elections]) {
        const mine = this.own.get(pk);
        if (mine === undefined || this.decided.has(pk) || now - mine.at < this.roundTimeoutNs || e.candidates.length === 0) continue;
        if (mine.round >= U32_MAX) continue;
        const lock = await this.components.repos.votes.lock(positionKeyBytes(e.position));
        const round = mine.round + 1;
        const choice = e.choose(round, lock, () => true);
        if (choice !== undefined) await this.cast(e, choice, round, false, now);
      }
    }
    const fetch: string[] = [];
    for (const [h, since] of this.unconfirmedSince) {
      if (fetch.length >= MAX_FETCH_LIST) break;
      if (now - since >= this.fetchAfterNs) fetch.push(h);
    }
    const votes = this.outbox;
    this.outbox = [];
    return { votes, fetch };
  }

  /** Votes cast since the last tick (they were also emitted as 'vote'). */
  drainOutbox(): Vote[] {
    const v = this.outbox;
    this.outbox = [];
    return v;
  }

  // ---- confirmation

  private async tryConfirm(hash: string, now: bigint): Promise<void> {
    const known = await this.blockOf(hash);
    if (known === undefined) return;
    const votes: Vote[] = [];
    for (const p of positionsOf(known.block)) {
      const t = this.decided.get(positionKey(p));
      if (t === undefined || t.hash !== hash) return;
      votes.push(...t.votes);
    }
    await this.confirm(known.block, known.applied, { block_hash: hash, votes }, now);
  }

  /** Takes a confirmation from a peer (sync, fetch): verified against the weights, no vote window. */
  async addConfirmation(conf: Confirmation, now: bigint): Promise<ConfirmationResult> {
    const check = verifyConfirmation(conf, this.options.params, this.components.networkId);
    if (!check.ok) return rejected(C.CONFIRMATION_INVALID, `confirmation: ${check.reason}`);
    const known = await this.blockOf(conf.block_hash);
    if (known === undefined) return rejected(C.UNKNOWN_BLOCK, `confirmation: block ${conf.block_hash} not seen yet`, true);
    const positions = positionsOf(known.block);
    for (const p of positions) {
      if (!check.positions.some((q) => samePosition(p, q))) {
        return rejected(C.CONFIRMATION_INVALID, `confirmation: no quorum at ${positionKey(p)}`);
      }
    }
    if (check.positions.some((q) => !positions.some((p) => samePosition(p, q)))) {
      return rejected(C.CONFIRMATION_INVALID, 'confirmation: votes at a position the block does not stand at');
    }
    if (known.applied && (await this.isConfirmed(conf.block_hash))) return { status: 'duplicate', hash: conf.block_hash };
    const ok = await this.confirm(known.block, known.applied, conf, now);
    if (!ok) return rejected(C.UNKNOWN_PREVIOUS, 'confirmation: the block cannot be applied yet', true);
    return { status: 'confirmed', hash: conf.block_hash };
  }

  /** The stored confirmation of a block (sync pages, fetches). */
  getConfirmation(hash: string): Promise<Confirmation | undefined> {
    return this.components.repos.confirmations.get(hash);
  }

  /**
   * Confirms `block`: drops the other candidates at its positions with everything built
   * on them, applies it if it was held, stores the confirmation and marks it and
   * everything below it confirmed. False when a held winner cannot be applied yet.
   */
  private async confirm(block: Block, applied: boolean, conf: Confirmation, now: bigint): Promise<boolean> {
    if (!applied) {
      const prevOk = block.previous === '0' || (await this.components.repos.blocks.has(block.previous));
      if (!prevOk) return false;
    }
    const losers = await this.rivals(block);
    if (losers.length > 0) await this.drop(losers, block.hash, now);
    if (!applied) {
      const keys = positionsOf(block).map(positionKeyBytes);
      const r = await this.admission.admit(block, 'sync', now, { extraOps: this.components.repos.candidates.delOps(block.hash, keys) });
      if (r.status !== 'accepted') {
        // the batch that would have removed its held records was not written
        await this.components.repos.candidates.load();
        if (r.status === 'rejected' && r.retryable) return false;
        // the position opens again: the held records and the votes that chose this block go
        const reps = this.options.params.representatives.map((x) => x.address);
        await this.components.repos.commit([...this.components.repos.candidates.delOps(block.hash, keys), ...keys.flatMap((k) => this.components.repos.votes.clearOps(k, reps))]);
        await this.record([{ block, reason: 'invalid', existing: block.hash }], block.hash, now);
        this.forgetPositions(block);
        return true;
      }
    }
    await this.components.repos.commit([this.components.repos.confirmations.putOp(conf)]);
    await this.markConfirmed(block.hash, now);
    return true;
  }

  /** The other candidates (applied or held) at every position `block` stands at. */
  private async rivals(block: Block): Promise<string[]> {
    const out = new Set<string>();
    const isApplied = await this.components.repos.blocks.has(block.hash);
    for (const p of positionsOf(block)) {
      // an applied block is the one applied at its chain position; held rivals only there
      const applied = p.type === 'chain' && isApplied ? undefined : await this.appliedAt(p);
      if (applied !== undefined && applied !== block.hash) out.add(applied);
      for (const h of await this.components.repos.candidates.at(positionKeyBytes(p))) if (h !== block.hash) out.add(h);
    }
    return [...out];
  }

  /** Marks `hash` and everything below it (its chain, the blocks it names) confirmed. */
  private async markConfirmed(hash: string, now: bigint): Promise<void> {
    let any = false;
    const stack = [hash];
    while (stack.length > 0) {
      const h = stack.pop()!;
      if (this.components.bundle.has(h)) continue;
      const place = await this.components.repos.blocks.place(h);
      if (place === undefined) continue;
      const { account, height } = place;
      const from = await this.confirmedHeight(account);
      if (height <= from) continue;
      // usually just this block: its chain below is confirmed already (one range read either way)
      const chain = await this.components.repos.blocks.after(account, from, Number(height - from));
      const ops: BatchOp[] = [this.components.repos.confirmations.heightOp(account, height)];
      const reps = this.options.params.representatives.map((r) => r.address);
      for (const b of chain) {
        const losers = (await this.rivals(b)).filter((x) => x !== b.hash);
        if (losers.length > 0) await this.drop(losers, b.hash, now);
        ops.push(this.components.repos.undo.delOp(b.hash));
        // the position is decided: its votes and lock go (the confirmation keeps a quorum)
        for (const p of positionsOf(b)) ops.push(...this.components.repos.votes.clearOps(positionKeyBytes(p), reps));
        for (const n of namedBy(b)) {
          ops.push(this.components.repos.undo.delDependentOp(n, b.hash));
          stack.push(n);
        }
      }
      await this.components.repos.commit(ops);
      any = true;
      for (const b of chain) {
        this.unconfirmedSince.delete(b.hash);
        this.forgetPositions(b);
        emitSafely(this.components.events, this.components.log, 'confirmed', { hash: b.hash });
      }
    }
    if (any && this.voting) await this.reevaluate(now);
  }

  private reevaluating = false;
  private reevaluateAgain = false;

  /** After a confirmation: elections whose final vote waited on the dependency rule are looked at again. */
  private async reevaluate(now: bigint): Promise<void> {
    if (this.reevaluating) {
      this.reevaluateAgain = true;
      return;
    }
    this.reevaluating = true;
    try {
      let passes = 0;
      do {
        this.reevaluateAgain = false;
        // each pass follows a confirmation; a chain of them is bounded by the open elections
        if (++passes > MAX_ELECTIONS) break;
        for (const e of [...this.elections.values()]) {
          if (this.elections.get(positionKey(e.position)) === e) await this.evaluate(e, now);
        }
      } while (this.reevaluateAgain);
    } finally {
      this.reevaluating = false;
    }
  }

  private forgetPositions(block: Block): void {
    for (const p of positionsOf(block)) {
      const pk = positionKey(p);
      this.elections.delete(pk);
      this.own.delete(pk);
      this.decided.delete(pk);
    }
  }

  // ---- dropping losers

  /**
   * Drops `roots` (candidates that lost to `winner`) and everything built on them: chain
   * successors, blocks naming them, held forks on them, and the settle/force-settle of a
   * dropped accept's lease. Applied ones are rolled back from their undo records, newest
   * first, in one batch; each dropped block is recorded as a conflict.
   */
  private async drop(roots: readonly string[], winner: string, now: bigint): Promise<void> {
    const found = new Map<string, { block: Block; applied: boolean; height: bigint }>();
    const stack = [...roots];
    while (stack.length > 0) {
      const h = stack.pop()!;
      if (found.has(h)) continue;
      const stored = await this.components.repos.blocks.get(h);
      if (stored !== undefined) {
        if (await this.isConfirmed(h)) throw new LedgerStoreError(C.INTERNAL, `cannot drop confirmed block ${h}`);
        found.set(h, { block: stored.block, applied: true, height: stored.height });
        const next = await this.components.repos.blocks.hashAt(stored.block.account, stored.height + 1n);
        if (next !== undefined) stack.push(bytesToHex(next));
        if (stored.block.type === 'lease_accept') {
          for (const d of await this.components.repos.undo.dependents(stored.block.source)) {
            const db = await this.blockOf(d);
            if (db?.block.type === 'lease_settle' || db?.block.type === 'lease_force_settle') stack.push(d);
          }
        }
      } else {
        const held = await this.components.repos.candidates.get(h);
        if (held === undefined) continue;
        found.set(h, { block: held, applied: false, height: 0n });
      }
      stack.push(...(await this.components.repos.undo.dependents(h)));
      const account = found.get(h)!.block.account;
      stack.push(...(await this.components.repos.candidates.at(positionKeyBytes({ type: 'chain', account, previous: h }))));
    }
    const applied: { hash: string; undo: UndoRecord }[] = [];
    const ops: BatchOp[] = [];
    for (const [h, f] of found) {
      if (f.applied) {
        const undo = await this.components.repos.undo.get(h);
        if (undo === undefined) throw new LedgerStoreError(C.INTERNAL, `no undo record for unconfirmed block ${h}`);
        applied.push({ hash: h, undo });
      } else {
        ops.push(...this.components.repos.candidates.delOps(h, positionsOf(f.block).map(positionKeyBytes)));
      }
      ops.push(this.components.repos.undo.delOp(h), ...namedBy(f.block).map((n) => this.components.repos.undo.delDependentOp(n, h)));
    }
    applied.sort((a, b) => (a.undo.seq > b.undo.seq ? -1 : a.undo.seq < b.undo.seq ? 1 : 0));
    const supply = new Map<Asset, SupplyCounters>();
    for (const { undo } of applied) {
      for (const [k, before] of undo.writes) {
        ops.push(before === null ? { type: 'del', key: k } : { type: 'put', key: k, value: before });
      }
      for (const [asset, d] of undo.supply) {
        const s = supply.get(asset) ?? this.components.repos.supply.copyOf(asset);
        s.genesis -= d.genesis;
        s.emitted -= d.emitted;
        s.burned -= d.burned;
        s.forfeited -= d.forfeited;
        s.locked -= d.locked;
        s.pending -= d.pending;
        supply.set(asset, s);
      }
    }
    ops.push(...this.components.repos.supply.putOps(supply));
    const records = [...found.entries()].map(([h, f]) => ({ block: f.block, reason: (roots.includes(h) ? 'lost' : 'dependent') as ConflictReason, existing: winner }));
    await this.components.repos.commit([...ops, ...(await this.components.repos.conflicts.putOps(records.map((r) => this.conflictOf(r, winner, now))))]);
    this.components.repos.supply.remember(supply);
    this.components.repos.accounts.clearCache();
    for (const [h, f] of found) {
      this.unconfirmedSince.delete(h);
      for (const p of positionsOf(f.block)) {
        const pk = positionKey(p);
        const e = this.elections.get(pk);
        e?.removeCandidate(h);
        // a position with no candidate left is dead (built on a loser): no more rounds there
        if (e !== undefined && e.candidates.length === 0) {
          this.elections.delete(pk);
          this.own.delete(pk);
          this.decided.delete(pk);
        }
      }
    }
    await this.clearDeadPositions([...found.values()].map((f) => f.block));
    for (const r of records) emitSafely(this.components.events, this.components.log, 'dropped', this.conflictOf(r, winner, now));
    this.components.log.warn('fork resolved: candidates dropped', { winner, dropped: found.size });
  }

  /**
   * The votes and lock stored at a position where no candidate is left after a drop are
   * for blocks that can never be confirmed; they go, so the next block at that position (a
   * provider's next block after its accept lost) starts a fresh election in round 0 instead
   * of meeting a lock on a dropped block.
   */
  private async clearDeadPositions(dropped: readonly Block[]): Promise<void> {
    const reps = this.options.params.representatives.map((r) => r.address);
    const ops: BatchOp[] = [];
    const seen = new Set<string>();
    for (const b of dropped) {
      for (const p of positionsOf(b)) {
        const pk = positionKey(p);
        if (seen.has(pk)) continue;
        seen.add(pk);
        const k = positionKeyBytes(p);
        if ((await this.appliedAt(p)) !== undefined || (await this.components.repos.candidates.at(k, 1)).length > 0) continue;
        ops.push(...this.components.repos.votes.clearOps(k, reps));
        this.elections.delete(pk);
        this.own.delete(pk);
        this.decided.delete(pk);
      }
    }
    if (ops.length > 0) await this.components.repos.commit(ops);
  }

  private conflictOf(r: { block: Block; reason: ConflictReason; existing: string }, winner: string, now: bigint): ConflictRecord {
    return {
      account: r.block.account,
      previous: r.block.previous,
      existing: r.existing,
      rejected: r.block.hash,
      block: r.block,
      detected_at: now,
      winner,
      reason: r.reason,
    };
  }

  private async record(list: { block: Block; reason: ConflictReason; existing: string }[], winner: string, now: bigint): Promise<void> {
    await this.components.repos.commit(await this.components.repos.conflicts.putOps(list.map((r) => this.conflictOf(r, winner, now))));
    for (const r of list) emitSafely(this.components.events, this.components.log, 'dropped', this.conflictOf(r, winner, now));
  }
}

/** True when an op before `i` writes the same key as op `i`. */
function writtenBefore(ops: readonly BatchOp[], i: number): boolean {
  const key = ops[i]!.key;
  for (let j = 0; j < i; j++) if (Buffer.compare(ops[j]!.key, key) === 0) return true;
  return false;
}
