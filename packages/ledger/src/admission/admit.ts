import { type AdmitResult, type Block, detachString, I64_MIN, isXeError, type Logger, type NetworkParams } from '@xe/core-types';
import type { BlockCheck } from '@xe/crypto';
import { emitSafely, type LedgerEvents } from '../events.js';
import { BlockRejection, LedgerErrorCodes as C, LedgerStoreError, reject } from '../errors.js';
import { type Mutation, newMutation } from '../mutation.js';
import type { Repositories } from '../repos/index.js';
import type { BatchOp } from '../store.js';
import { type AdmitOrigin, applyRules } from '../rules/index.js';
import type { AccountState } from '../types.js';
import { rejectFork } from './fork.js';
import { checkHash, checkLiveTime, checkShape, checkSignature, checkWork } from './steps.js';

/** What admission asks of finality (SPEC §12) when a ledger runs it; absent: first-seen forks. */
export interface AdmissionFinality {
  /** A held candidate with this hash exists (a second offer of it is a duplicate). */
  isHeld(hash: string): Promise<boolean>;
  /** A block whose previous is not the frontier: hold it as a competing candidate, or reject. */
  offFrontier(block: Block, acct: AccountState, now: bigint): Promise<AdmitResult>;
  /** An outcome block whose lease outcome is already taken: hold it, or undefined to reject as usual. */
  outcomeTaken(block: Block, err: BlockRejection, now: bigint): Promise<AdmitResult | undefined>;
  /**
   * Bookkeeping writes for an applied, unconfirmed block (before-images of `ops`, dependents).
   * `known`: before-images admission already has (undefined: the key is absent), not read again.
   */
  beforeCommit(block: Block, ops: readonly BatchOp[], supply: Mutation['supply'], known?: ReadonlyMap<BatchOp, Uint8Array | undefined>): Promise<BatchOp[]>;
  /** After the block's batch: elections, own votes, held votes. */
  afterCommit(block: Block, now: bigint): Promise<void>;
}

export interface AdmitOptions {
  /** writes that join the block's batch (a held winner's own records, removed as it is applied) */
  extraOps?: readonly BatchOp[];
  /** the block's stateless checks computed ahead (a verifier thread), used by the steps in their place */
  pre?: BlockCheck | undefined;
  /** the block is already the ledger's own copy from `checkShape` (step 1 is not repeated) */
  shaped?: boolean;
}

export interface AdmissionComponents {
  repos: Repositories;
  params: NetworkParams;
  events: LedgerEvents;
  log: Logger;
  finality?: AdmissionFinality;
}

/** Block admission (SPEC §3.4): the steps in order, type rules, one atomic batch. Callers serialize. */
export class Admission {
  constructor(private readonly components: AdmissionComponents) {}

  /** Admits one block (see AdmitOptions). */
  async admit(input: Block, origin: AdmitOrigin, now: bigint, options: AdmitOptions = {}): Promise<AdmitResult> {
    const { extraOps = [], pre } = options;
    const fin = this.components.finality;
    let hash: string | undefined;
    try {
      const block = options.shaped === true ? input : checkShape(input);
      const digest = checkHash(block, this.components.params.network_id, pre);
      hash = block.hash;
      const acct = await this.components.repos.accounts.get(block.account);
      // 3. already stored: idempotent success. A stored block is in its account's chain, so
      // its previous is never the frontier: a block naming the frontier (or '0' for an
      // account with no blocks) is new without a read.
      const onFrontier = acct === undefined ? block.previous === '0' : block.previous === acct.frontier;
      if (!onFrontier && (await this.components.repos.blocks.hasDigest(digest))) return { status: 'duplicate', hash };
      if (fin !== undefined && extraOps.length === 0 && (await fin.isHeld(hash))) return { status: 'duplicate', hash };
      checkWork(block, origin, this.components.params.pow_difficulty, pre);
      const pubKey = checkSignature(block, acct, pre);
      checkLiveTime(block, origin, now);
      // 7. chain position
      if (acct === undefined) {
        if (block.previous !== '0') reject(C.UNKNOWN_PREVIOUS, `previous: ${block.previous} is unknown`);
      } else if (block.previous !== acct.frontier) {
        if (fin !== undefined) return await fin.offFrontier(block, acct, now);
        return await rejectFork(this.components.repos, block, acct, now, this.components.log);
      } else if (block.pub_key !== undefined) {
        reject(C.UNEXPECTED_PUB_KEY, "pub_key: only on an account's first block");
      }
      // the head is cached (up to 100,000 of them): its strings are copies, not cuts of the
      // text the block came in (a sync page would stay alive as long as the head)
      const head: AccountState = acct
        ? { ...acct, balances: { ...acct.balances } }
        : { address: detachString(block.account), pub_key: detachString(pubKey), frontier: '0', height: 0n, balances: { XE: 0n, XUSD: 0n }, last_timestamp: I64_MIN };
      if (block.timestamp < head.last_timestamp) reject(C.TIMESTAMP_BEFORE_PREVIOUS, 'timestamp: before the previous block');
      // 8. type rules
      const m = newMutation(head);
      try {
        await applyRules({ repos: this.components.repos, params: this.components.params, origin, now }, block, m);
      } catch (err) {
        const held = fin !== undefined && err instanceof BlockRejection ? await fin.outcomeTaken(block, err, now) : undefined;
        if (held !== undefined) return held;
        throw err;
      }
      // 9. commit atomically
      head.frontier = detachString(hash);
      head.height += 1n;
      head.last_timestamp = block.timestamp;
      const blockOps = this.components.repos.blocks.putOps(block, digest, head.height);
      const accountOp = this.components.repos.accounts.putOp(head);
      m.ops.push(...blockOps, accountOp);
      if (fin !== undefined) {
        // before-images admission holds: the block and its chain entry are new, the head is `acct`
        const known = new Map<BatchOp, Uint8Array | undefined>(blockOps.map((op) => [op, undefined]));
        known.set(accountOp, acct === undefined ? undefined : this.components.repos.accounts.encoded(acct));
        m.ops.push(...(await fin.beforeCommit(block, m.ops, m.supply, known)));
      }
      m.ops.push(...this.components.repos.supply.putOps(m.supply), ...extraOps);
      await this.components.repos.commit(m.ops);
      this.components.repos.accounts.remember(head);
      this.components.repos.supply.remember(m.supply);
      emitSafely(this.components.events, this.components.log, 'block', { block, origin });
      for (const ev of m.leaseChanges) emitSafely(this.components.events, this.components.log, 'lease', ev);
      if (fin !== undefined) await fin.afterCommit(block, now);
      return { status: 'accepted', hash, block };
    } catch (err) {
      return rejectionOf(err, hash);
    }
  }
}

/** A BlockRejection (or an overflow) as a rejected result; anything else is a store failure and throws. */
export function rejectionOf(err: unknown, hash: string | undefined): AdmitResult {
  if (err instanceof BlockRejection) {
    const r: AdmitResult = { status: 'rejected', code: err.code, message: err.message, retryable: err.retryable };
    if (hash !== undefined) r.hash = hash;
    return r;
  }
  if (isXeError(err) && (err.code === 'OVERFLOW' || err.code === 'INVALID_FIELD')) {
    const r: AdmitResult = { status: 'rejected', code: C.OVERFLOW, message: err.message, retryable: false };
    if (hash !== undefined) r.hash = hash;
    return r;
  }
  if (err instanceof LedgerStoreError) throw err;
  throw new LedgerStoreError(C.INTERNAL, `admission failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
