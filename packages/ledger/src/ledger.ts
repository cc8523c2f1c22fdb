import {
  type AbortOptions,
  type AdmitResult,
  type Asset,
  type Block,
  bytesToHex,
  type Certificate,
  type Clock,
  type Confirmation,
  type GenesisBundle,
  isXeError,
  type Logger,
  type NetworkParams,
  parseBlock,
  parseConfirmation,
  parseVote,
  silentLogger,
  systemClock,
  validateFinalityParams,
  validateNetworkParams,
  type Vote,
} from '@xe/core-types';
import { type BlockCheck, networkHash } from '@xe/crypto';
import { Admission } from './admission/admit.js';
import { admitCertificate, type CertificateResult } from './admission/certificate.js';
import { checkShape } from './admission/steps.js';
import type { StoredBlockSummary } from './codec.js';
import { archiveExpired } from './archive.js';
import { verifyLedgerState } from './consistency.js';
import { LedgerErrorCodes as C, LedgerOpenError, LedgerStoreError } from './errors.js';
import { emitSafely, type LedgerEventMap, LedgerEvents } from './events.js';
import { type ConfirmationResult, FinalityEngine, type FinalityOptions, type TickResult, type VoteResult } from './finality/engine.js';
import { isHash } from './hex.js';
import { migrateToChainOrder } from './migrate.js';
import { CommitQueue } from './queue.js';
import { Repositories } from './repos/index.js';
import type { AdmitOrigin } from './rules/index.js';
import { GroupStore, type Store } from './store.js';
import type {
  AccountView,
  AddBlockOptions,
  ConflictRecord,
  ConsistencyReport,
  FrontierEntry,
  LeaseFilter,
  LeasePage,
  LeaseRecord,
  PendingSend,
  ProviderUsage,
  SupplyCounters,
  SupplyView,
} from './types.js';

/**
 * 2: account heads, supply counters and pending sends in binary (codec.ts). 3: blocks stored
 * at their chain positions, found by hash through BLOCK (migrate.ts moves a schema 2 store on open).
 */
export const SCHEMA_VERSION = 3;

/**
 * Where a block's stateless checks (hash, proof of work, signature) run ahead of its
 * admission: `@xe/crypto`'s `VerifierPool` (worker threads) is the one the node uses.
 */
export interface BlockVerifier {
  check(job: { block: Block; networkId: string; difficulty: bigint; pubKey?: string }): Promise<BlockCheck>;
  /** Computes one waiting check on this thread (false: none waiting); called while admission would idle. */
  runOne?(): boolean;
}

export interface LedgerOptions {
  clock?: Clock;
  logger?: Logger;
  /** run finality (SPEC §12); without it a fork is first-seen (rejected `FORK`, recorded) */
  finality?: FinalityOptions;
  /** check hash, work and signature of offered blocks here (other threads) while earlier blocks are admitted */
  verifier?: BlockVerifier;
}

/** Accounts whose first block's key is remembered for pre-checks at most (see `offeredKeys`). */
const MAX_OFFERED_KEYS = 4096;

/**
 * The emitter admission and finality emit into: each event waits in the commit queue
 * until the batch holding the writes behind it is stored, then reaches `ledger.events`.
 */
class StagedEvents extends LedgerEvents {
  constructor(
    private readonly target: LedgerEvents,
    private readonly queue: CommitQueue,
    private readonly log: Logger,
  ) {
    super();
  }

  override emit<K extends keyof LedgerEventMap>(name: K, ...args: LedgerEventMap[K]): boolean {
    this.queue.afterCommit(() => emitSafely(this.target, this.log, name, args[0]));
    return true;
  }
}

/**
 * The ledger: block admission (SPEC §3.4, §5), balances, pending sends, the lease state
 * machine and its indexes over one Store. A facade over the repositories (`repos/`), the
 * admission steps (`admission/`) and the type rules (`rules/`). Admissions, sweeps and
 * checks are serialized; each accepted block is one atomic batch.
 */
export class Ledger {
  readonly events = new LedgerEvents();
  readonly params: NetworkParams;
  readonly networkId: string;
  readonly networkHash: string;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly repos: Repositories;
  private readonly admission: Admission;
  private readonly engine: FinalityEngine | undefined;
  private readonly queue: CommitQueue;
  /** the store with group commit: every write goes through it */
  private readonly store: GroupStore;
  private readonly verifier: BlockVerifier | undefined;
  /**
   * account → the pub_key of its first block as offered, for pre-checking the blocks offered
   * right behind it (a sync page brings an account's first block and its next ones together,
   * before the account exists). Only a hint: admission uses a check only when it was made
   * with the key it verifies with. Bounded: cleared when full.
   */
  private readonly offeredKeys = new Map<string, string>();
  private closed = false;

  private constructor(
    base: Store,
    bundle: GenesisBundle,
    netHash: string,
    options: LedgerOptions,
  ) {
    this.params = {
      network_id: bundle.network_id,
      pow_difficulty: bundle.pow_difficulty,
      timekeepers: bundle.timekeepers,
      lease: bundle.lease,
    };
    this.networkId = bundle.network_id;
    this.networkHash = netHash;
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger;
    this.verifier = options.verifier;
    this.store = new GroupStore(base);
    const repos = new Repositories(this.store);
    this.repos = repos;
    this.queue = new CommitQueue({
      store: this.store,
      // what memory holds of unwritten groups goes; the stored state is read again
      reset: async () => {
        repos.accounts.clearCache();
        await repos.supply.load();
        await repos.candidates.load();
        await repos.votes.load();
      },
      ...(options.verifier?.runOne === undefined ? {} : { help: () => options.verifier?.runOne?.() ?? false }),
    });
    const staged = new StagedEvents(this.events, this.queue, this.log);
    if (options.finality !== undefined) {
      this.engine = new FinalityEngine(options.finality, {
        repos: this.repos,
        events: staged,
        log: this.log,
        networkId: this.networkId,
        bundle: new Set(bundle.blocks.map((b) => b.hash)),
      });
    }
    this.admission = new Admission({
      repos: this.repos,
      params: this.params,
      events: staged,
      log: this.log,
      ...(this.engine === undefined ? {} : { finality: this.engine }),
    });
  }

  /**
   * Opens a ledger over `store` for the network of `bundle`: validates the bundle, applies
   * its blocks once, refuses a store made under another network (NETWORK_MISMATCH).
   */
  static async open(store: Store, bundle: GenesisBundle, options: LedgerOptions = {}): Promise<Ledger> {
    try {
      validateNetworkParams(bundle);
    } catch (err) {
      throw new LedgerOpenError(C.INVALID_BUNDLE, `invalid genesis bundle: ${(err as Error).message}`, { cause: err });
    }
    if (options.finality !== undefined) {
      try {
        validateFinalityParams(options.finality.params);
      } catch (err) {
        throw new LedgerOpenError(C.INVALID_BUNDLE, `invalid finality params: ${(err as Error).message}`, { cause: err });
      }
    }
    const netHash = networkHash(bundle);
    const ledger = new Ledger(store, bundle, netHash, options);
    await ledger.engine?.attach(ledger.admission, bundle.blocks);
    const meta = ledger.repos.meta;
    const storedHash = await meta.get('network_hash');
    if (storedHash !== undefined) {
      if (storedHash !== netHash) {
        throw new LedgerOpenError(C.NETWORK_MISMATCH, `store belongs to network ${storedHash}, not ${netHash}`, {
          details: { stored: storedHash, expected: netHash },
        });
      }
      const schema = await meta.get('schema_version');
      const version = schema === undefined ? -1 : Number(schema);
      if (version === 2) {
        const moved = await migrateToChainOrder(store);
        ledger.log.info('ledger store migrated', { from_schema: 2, to_schema: SCHEMA_VERSION, blocks: moved });
      } else if (version !== SCHEMA_VERSION) {
        throw new LedgerOpenError(C.SCHEMA_MISMATCH, `store schema ${version}, this ledger reads ${SCHEMA_VERSION} and migrates 2: resync it from peers (start from an empty ledger directory)`);
      }
      await ledger.repos.supply.load();
    } else {
      await ledger.repos.supply.load();
      await ledger.applyBundle(bundle);
    }
    const engine = ledger.engine;
    if (engine !== undefined) await ledger.queue.run(() => engine.resume(ledger.clock()));
    ledger.log.info('ledger open', { network_id: ledger.networkId, network_hash: netHash });
    return ledger;
  }

  private async applyBundle(bundle: GenesisBundle): Promise<void> {
    const blocks = bundle.blocks;
    if (blocks.length < 2 || blocks[0]!.type !== 'genesis' || blocks[1]!.type !== 'genesis') {
      throw new LedgerOpenError(C.INVALID_BUNDLE, 'a bundle starts with the two treasury genesis blocks');
    }
    const assets = new Set([blocks[0]!.asset, blocks[1]!.asset]);
    if (assets.size !== 2) throw new LedgerOpenError(C.INVALID_BUNDLE, 'one genesis block per asset');
    for (const [i, b] of blocks.entries()) {
      if (i >= 2 && b.type !== 'send') {
        throw new LedgerOpenError(C.INVALID_BUNDLE, `blocks[${i}]: only treasury sends follow the genesis blocks`);
      }
      const r = await this.queue.run(() => this.admit(b, 'genesis', this.clock()));
      if (r.status === 'rejected') {
        throw new LedgerOpenError(C.INVALID_BUNDLE, `blocks[${i}] rejected: ${r.code}: ${r.message}`, { details: { code: r.code } });
      }
    }
    const meta = this.repos.meta;
    await this.repos.commit([
      meta.putOp('network_id', this.networkId),
      meta.putOp('schema_version', String(SCHEMA_VERSION)),
      // written last: its presence means the bundle is fully applied
      meta.putOp('network_hash', this.networkHash),
    ]);
  }

  // ---- admission

  /**
   * Admits a block (SPEC §3.4, §5). Never throws for bad input; store failures throw LedgerStoreError.
   * Blocks are admitted in call order; the result comes once the block's batch is stored.
   * With a `verifier`, the block's hash, work and signature are checked there first
   * (several blocks at once), the state rules then run here in order.
   */
  addBlock(block: Block, options: AddBlockOptions): Promise<AdmitResult> {
    const now = options.now ?? this.clock();
    const verifier = this.verifier;
    if (verifier === undefined) return this.queue.run(() => this.admit(block, options.origin, now));
    let parsed: Block;
    try {
      parsed = checkShape(block);
    } catch {
      // admission rejects it at the same step, with the same code
      return this.queue.run(() => this.admit(block, options.origin, now));
    }
    const pre = this.precheck(verifier, parsed);
    return this.queue.run(async () => this.admit(parsed, options.origin, now, await pre, true), pre);
  }

  /**
   * The block's stateless checks on the verifier, with the account's stored key (or the key
   * of its first block offered before it) when the block carries none.
   */
  private async precheck(verifier: BlockVerifier, block: Block): Promise<BlockCheck | undefined> {
    try {
      let pubKey: string | undefined;
      if (block.pub_key !== undefined) {
        if (this.offeredKeys.size >= MAX_OFFERED_KEYS) this.offeredKeys.clear();
        this.offeredKeys.set(block.account, block.pub_key);
      } else {
        pubKey = (await this.repos.accounts.get(block.account))?.pub_key ?? this.offeredKeys.get(block.account);
      }
      return await verifier.check({
        block,
        networkId: this.networkId,
        difficulty: this.params.pow_difficulty,
        ...(pubKey === undefined ? {} : { pubKey }),
      });
    } catch (err) {
      // a verifier failure costs the head start only: admission checks inline
      this.log.debug('block pre-check failed', { err });
      return undefined;
    }
  }

  /** As addBlock, for a JSON value or text: runs parseBlock first. */
  addBlockJson(value: unknown, options: AddBlockOptions = { origin: 'live' }): Promise<AdmitResult> {
    let block: Block;
    try {
      block = parseBlock(value);
    } catch (err) {
      const code = isXeError(err) ? err.code : 'INVALID_JSON';
      return Promise.resolve({ status: 'rejected', code: C.BAD_SHAPE, message: `${code}: ${(err as Error).message}`, retryable: false });
    }
    return this.addBlock(block, options);
  }

  private admit(block: Block, origin: AdmitOrigin, now: bigint, pre?: BlockCheck, shaped = false): Promise<AdmitResult> {
    if (this.closed) throw new LedgerStoreError(C.STORE_CLOSED, 'ledger is closed');
    return this.admission.admit(block, origin, now, { pre, shaped });
  }

  /** Verifies and stores a provider certificate (idempotent). Invalid ones are rejected with a code. */
  addCertificate(input: Certificate | unknown): Promise<CertificateResult> {
    return this.queue.run(() => admitCertificate(this.repos, input, this.networkId));
  }

  async getCertificate(hash: string): Promise<Certificate | undefined> {
    return isHash(hash) ? this.repos.certificates.get(hash) : undefined;
  }

  /** The provider's certificates, newest expiry first. */
  async certificatesOf(provider: string, options: AbortOptions = {}): Promise<Certificate[]> {
    return isHash(provider) ? this.repos.certificates.ofProvider(provider, options) : [];
  }

  // ---- finality (SPEC §12)

  /** Whether this ledger runs finality (opened with `finality` options). */
  get finalityEnabled(): boolean {
    return this.engine !== undefined;
  }

  /** Positions where a rival candidate is held, undecided (0 without finality). */
  get openConflicts(): number {
    return this.engine === undefined ? 0 : this.repos.candidates.positions;
  }

  /** True when this node's key signed a vote it did not cast: it stopped voting. */
  get votingHalted(): boolean {
    return this.engine?.halted ?? false;
  }

  /** Takes a vote (a Vote, or JSON to parse). Without finality: rejected `NOT_A_REPRESENTATIVE`. */
  addVote(input: Vote | unknown, options: { origin?: 'live' | 'sync'; now?: bigint } = {}): Promise<VoteResult> {
    let vote: Vote;
    try {
      vote = parseVote(input);
    } catch (err) {
      return Promise.resolve({ status: 'rejected', code: C.BAD_SHAPE, message: (err as Error).message, retryable: false });
    }
    const engine = this.engine;
    if (engine === undefined) {
      return Promise.resolve({ status: 'rejected', code: C.NOT_A_REPRESENTATIVE, message: 'this ledger runs no finality', retryable: false });
    }
    const now = options.now ?? this.clock();
    return this.queue.run(() => engine.addVote(vote, options.origin ?? 'live', now));
  }

  /** Takes a confirmation from a peer; verified against the representatives' weights. */
  addConfirmation(input: Confirmation | unknown, options: { now?: bigint } = {}): Promise<ConfirmationResult> {
    let conf: Confirmation;
    try {
      conf = parseConfirmation(input);
    } catch (err) {
      return Promise.resolve({ status: 'rejected', code: C.BAD_SHAPE, message: (err as Error).message, retryable: false });
    }
    const engine = this.engine;
    if (engine === undefined) {
      return Promise.resolve({ status: 'rejected', code: C.CONFIRMATION_INVALID, message: 'this ledger runs no finality', retryable: false });
    }
    const now = options.now ?? this.clock();
    return this.queue.run(() => engine.addConfirmation(conf, now));
  }

  /** Round timeouts and the confirmation-fetch list; call about every 100 ms. */
  finalityTick(now: bigint = this.clock()): Promise<TickResult> {
    const engine = this.engine;
    if (engine === undefined) return Promise.resolve({ votes: [], fetch: [] });
    return this.queue.run(() => engine.tick(now));
  }

  /** A block counts as confirmed: the bundle's blocks always; without finality, every stored block. */
  async isConfirmed(hash: string): Promise<boolean> {
    if (!isHash(hash)) return false;
    if (this.engine === undefined) return this.repos.blocks.has(hash);
    return this.engine.isConfirmed(hash);
  }

  /** The newest confirmed block of an account's chain and its height (undefined: none). */
  async confirmedFrontier(address: string): Promise<{ frontier: string; height: bigint } | undefined> {
    if (!isHash(address)) return undefined;
    const acct = await this.repos.accounts.get(address);
    if (acct === undefined) return undefined;
    const height = this.engine === undefined ? acct.height : await this.engine.confirmedHeight(address);
    if (height === 0n) return undefined;
    const ref = await this.repos.blocks.hashAt(address, height);
    return ref === undefined ? undefined : { frontier: bytesToHex(ref), height };
  }

  /** The stored confirmation of a block (one quorum of final votes). */
  async getConfirmation(hash: string): Promise<Confirmation | undefined> {
    return isHash(hash) && this.engine !== undefined ? this.engine.getConfirmation(hash) : undefined;
  }

  // ---- housekeeping

  /**
   * Archives accepted leases nobody settled or force-settled (SPEC §5): once
   * `now ≥ expiry + escrow_expiry + archive_gap` the escrow is burned, the stake
   * forfeited and the lease becomes `expired`. One batch per lease. Returns the hashes.
   */
  archiveSweep(now: bigint = this.clock(), options: AbortOptions = {}): Promise<string[]> {
    const engine = this.engine;
    const c = { repos: this.repos, params: this.params, events: this.events, log: this.log };
    return this.queue.run(() => archiveExpired(engine === undefined ? c : { ...c, isConfirmed: (h) => engine.isConfirmed(h) }, now, options));
  }

  /** Accepted leases whose expiry has passed at `now` (due for settlement). */
  async leasesDue(options: { now?: bigint } & AbortOptions = {}): Promise<LeaseRecord[]> {
    const now = options.now ?? this.clock();
    return (await this.repos.leases.inState('accepted', options)).filter((l) => l.expiry <= now);
  }

  /** The provider's accepted leases. */
  async acceptedLeasesOf(provider: string, options: AbortOptions = {}): Promise<LeaseRecord[]> {
    return (await this.listLeases({ provider, state: 'accepted', limit: Number.MAX_SAFE_INTEGER }, options)).filter(
      (l) => l.state === 'accepted',
    );
  }

  // ---- queries

  async getBlock(hash: string): Promise<Block | undefined> {
    return (await this.getStoredBlock(hash))?.block;
  }

  /** The block and its height in its chain. */
  async getStoredBlock(hash: string): Promise<{ block: Block; height: bigint } | undefined> {
    return isHash(hash) ? this.repos.blocks.get(hash) : undefined;
  }

  async hasBlock(hash: string): Promise<boolean> {
    return isHash(hash) && (await this.repos.blocks.has(hash));
  }

  async getAccount(address: string): Promise<AccountView | undefined> {
    if (!isHash(address)) return undefined;
    const a = await this.repos.accounts.get(address);
    if (!a) return undefined;
    return { address: a.address, pub_key: a.pub_key, frontier: a.frontier, height: a.height, balances: { ...a.balances } };
  }

  /** Blocks of an account's chain from `fromHeight` (default 1), ascending. */
  async chain(address: string, options: { fromHeight?: bigint; limit?: number } & AbortOptions = {}): Promise<Block[]> {
    if (!isHash(address)) return [];
    return this.blocksAfter(address, (options.fromHeight ?? 1n) - 1n, options.limit ?? 1000, options);
  }

  /** Blocks of `account`'s chain with height > `height`, ascending, at most `limit` (sync). */
  async blocksAfter(account: string, height: bigint, limit: number, options: AbortOptions = {}): Promise<Block[]> {
    if (!isHash(account) || limit <= 0) return [];
    return this.repos.blocks.after(account, height, limit, options);
  }

  /**
   * As `blocksAfter`, each block as the UTF-8 of its JSON as stored (the text `stringifyJson`
   * prints) with its type, timestamp and certificate hash, read without parsing the rest:
   * sync orders and serves that text without building or printing each block again.
   */
  async blocksAfterJson(account: string, height: bigint, limit: number, options: AbortOptions = {}): Promise<StoredBlockSummary[]> {
    if (!isHash(account) || limit <= 0) return [];
    return this.repos.blocks.afterJson(account, height, limit, options);
  }

  /** Every account's frontier and height (sync). */
  async frontiers(options: AbortOptions = {}): Promise<FrontierEntry[]> {
    const out: FrontierEntry[] = [];
    for await (const a of this.repos.accounts.all(options)) out.push({ account: a.address, frontier: a.frontier, height: a.height });
    return out;
  }

  /** Receivable sends to `address` (lease escrows are not receivable). */
  async pendingFor(address: string, options: { limit?: number } & AbortOptions = {}): Promise<PendingSend[]> {
    return isHash(address) ? this.repos.pending.listFor(address, options) : [];
  }

  async getLease(hash: string): Promise<LeaseRecord | undefined> {
    return isHash(hash) ? this.repos.leases.get(hash) : undefined;
  }

  /** Leases matching the filter, oldest first (lease timestamp, then hash), paged by offset/limit. */
  listLeases(page: LeasePage = {}, options: AbortOptions = {}): Promise<LeaseRecord[]> {
    return this.repos.leases.list(page, options);
  }

  countLeases(filter: LeaseFilter = {}, options: AbortOptions = {}): Promise<number> {
    return this.repos.leases.count(filter, options);
  }

  /** Resources held by the provider's accepted leases. */
  async providerUsage(address: string, options: AbortOptions = {}): Promise<ProviderUsage> {
    const u: ProviderUsage = { vcpus: 0, memory_mb: 0, disk_gb: 0, active_leases: 0 };
    for (const l of await this.acceptedLeasesOf(address, options)) {
      u.vcpus += Number(l.vcpus);
      u.memory_mb += Number(l.memory_mb);
      u.disk_gb += Number(l.disk_gb);
      u.active_leases++;
    }
    return u;
  }

  /** Supply counters of an asset plus the sum of all balances (computed by scanning accounts). */
  async supply(asset: Asset, options: AbortOptions = {}): Promise<SupplyView> {
    const balances = await this.repos.accounts.balanceSum(asset, options);
    return { asset, balances, ...this.repos.supply.current(asset) };
  }

  /** Recorded forks, ordered by the rejected block's hash. */
  conflicts(options: { limit?: number } & AbortOptions = {}): Promise<ConflictRecord[]> {
    return this.repos.conflicts.list(options);
  }

  /** A block by hash, applied or held as a rival candidate (finality): what a peer that saw only votes for it asks for. */
  async getBlockOrCandidate(hash: string): Promise<Block | undefined> {
    if (!isHash(hash)) return undefined;
    const stored = await this.repos.blocks.get(hash);
    if (stored !== undefined) return stored.block;
    return this.engine === undefined ? undefined : this.repos.candidates.get(hash);
  }

  /** The conflict record of a dropped (or first-seen rejected) block, by its hash. */
  async getConflict(hash: string): Promise<ConflictRecord | undefined> {
    return isHash(hash) ? this.repos.conflicts.get(hash) : undefined;
  }

  /** Waits for pending admissions, then closes the store. */
  async close(): Promise<void> {
    await this.queue.run(async () => {
      this.closed = true;
    });
    await this.queue.idle();
    await this.store.close();
  }

  /**
   * Recomputes derived state from the stored blocks (chains, balances by replay, pending,
   * leases and indexes, supply counters and identity) and reports every disagreement.
   */
  checkConsistency(): Promise<ConsistencyReport> {
    return this.queue.run(() => verifyLedgerState(this.store, this.repos.supply.snapshot()));
  }

  /** The underlying store (consistency checks, digests). */
  get storage(): Store {
    return this.store;
  }

  /** Snapshot of the in-memory supply counters (for checks against a recomputation). */
  supplyCounterSnapshot(): Map<Asset, SupplyCounters> {
    return this.repos.supply.snapshot();
  }

  /** Runs `fn` inside the admission queue (no admission interleaves). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.run(fn);
  }
}

/**
 * Recomputes the ledger's derived state from the stored blocks and compares (see
 * `Ledger.checkConsistency`). Runs inside the admission queue.
 */
export function checkConsistency(ledger: Ledger): Promise<ConsistencyReport> {
  return ledger.checkConsistency();
}
