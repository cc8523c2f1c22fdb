import { LedgerErrorCodes as C, LedgerStoreError } from '../errors.js';
import type { BatchOp, Store } from '../store.js';
import { AccountRepo } from './accounts.js';
import { BlockRepo } from './blocks.js';
import { CandidateRepo } from './candidates.js';
import { CertificateRepo } from './certificates.js';
import { ConfirmationRepo } from './confirmations.js';
import { ConflictRepo } from './conflicts.js';
import { LeaseRepo } from './leases.js';
import { MetaRepo } from './meta.js';
import { PendingRepo } from './pending.js';
import { SupplyRepo } from './supply.js';
import { UndoRepo } from './undo.js';
import { VoteRepo } from './votes.js';

export {
  AccountRepo,
  BlockRepo,
  CandidateRepo,
  CertificateRepo,
  ConfirmationRepo,
  ConflictRepo,
  LeaseRepo,
  MetaRepo,
  PendingRepo,
  SupplyRepo,
  UndoRepo,
  VoteRepo,
};

/** The typed repositories over one store, and the one way to write: an atomic batch. */
export class Repositories {
  readonly meta: MetaRepo;
  readonly blocks: BlockRepo;
  readonly accounts: AccountRepo;
  readonly pending: PendingRepo;
  readonly leases: LeaseRepo;
  readonly certificates: CertificateRepo;
  readonly supply: SupplyRepo;
  readonly conflicts: ConflictRepo;
  readonly candidates: CandidateRepo;
  readonly votes: VoteRepo;
  readonly confirmations: ConfirmationRepo;
  readonly undo: UndoRepo;

  constructor(readonly store: Store) {
    this.meta = new MetaRepo(store);
    this.blocks = new BlockRepo(store);
    this.accounts = new AccountRepo(store);
    this.pending = new PendingRepo(store);
    this.leases = new LeaseRepo(store);
    this.certificates = new CertificateRepo(store);
    this.supply = new SupplyRepo(store);
    this.conflicts = new ConflictRepo(store);
    this.candidates = new CandidateRepo(store);
    this.votes = new VoteRepo(store);
    this.confirmations = new ConfirmationRepo(store);
    this.undo = new UndoRepo(store);
  }

  /** Writes `ops` as one batch. On failure the caches are dropped rather than trusted. */
  async commit(ops: BatchOp[]): Promise<void> {
    try {
      await this.store.batch(ops);
    } catch (err) {
      this.accounts.clearCache();
      await this.supply.load().catch(() => undefined);
      await this.candidates.load().catch(() => undefined);
      await this.votes.load().catch(() => undefined);
      throw new LedgerStoreError(C.STORE_FAILURE, `batch failed: ${(err as Error).message}`, { cause: err });
    }
  }
}
