import { type AdmitResult, type Block, I64_MIN, isXeError, type Logger, type NetworkParams } from '@xe/core-types';
import { emitSafely, type LedgerEvents } from '../events.js';
import { BlockRejection, LedgerErrorCodes as C, LedgerStoreError, reject } from '../errors.js';
import { newMutation } from '../mutation.js';
import type { Repositories } from '../repos/index.js';
import { type AdmitOrigin, applyRules } from '../rules/index.js';
import type { AccountState } from '../types.js';
import { rejectFork } from './fork.js';
import { checkHash, checkLiveTime, checkShape, checkSignature, checkWork } from './steps.js';

export interface AdmissionComponents {
  repos: Repositories;
  params: NetworkParams;
  events: LedgerEvents;
  log: Logger;
}

/** Block admission (SPEC §3.4): the steps in order, type rules, one atomic batch. Callers serialize. */
export class Admission {
  constructor(private readonly c: AdmissionComponents) {}

  async admit(input: Block, origin: AdmitOrigin, now: bigint): Promise<AdmitResult> {
    let hash: string | undefined;
    try {
      const block = checkShape(input);
      const digest = checkHash(block, this.c.params.network_id);
      hash = block.hash;
      // 3. already stored: idempotent success
      if (await this.c.repos.blocks.hasDigest(digest)) return { status: 'duplicate', hash };
      checkWork(block, origin, this.c.params.pow_difficulty);
      const acct = await this.c.repos.accounts.get(block.account);
      const pubKey = checkSignature(block, acct);
      checkLiveTime(block, origin, now);
      // 7. chain position
      if (acct === undefined) {
        if (block.previous !== '0') reject(C.UNKNOWN_PREVIOUS, `previous: ${block.previous} is unknown`);
      } else if (block.previous !== acct.frontier) {
        return await rejectFork(this.c.repos, block, acct, now, this.c.log);
      } else if (block.pub_key !== undefined) {
        reject(C.UNEXPECTED_PUB_KEY, "pub_key: only on an account's first block");
      }
      const head: AccountState = acct
        ? { ...acct, balances: { ...acct.balances } }
        : { address: block.account, pub_key: pubKey, frontier: '0', height: 0n, balances: { XE: 0n, XUSD: 0n }, last_timestamp: I64_MIN };
      if (block.timestamp < head.last_timestamp) reject(C.TIMESTAMP_BEFORE_PREVIOUS, 'timestamp: before the previous block');
      // 8. type rules
      const m = newMutation(head);
      await applyRules({ repos: this.c.repos, params: this.c.params, origin, now }, block, m);
      // 9. commit atomically
      head.frontier = hash;
      head.height += 1n;
      head.last_timestamp = block.timestamp;
      m.ops.push(...this.c.repos.blocks.putOps(block, digest, head.height), this.c.repos.accounts.putOp(head));
      m.ops.push(...this.c.repos.supply.putOps(m.supply));
      await this.c.repos.commit(m.ops);
      this.c.repos.accounts.remember(head);
      this.c.repos.supply.remember(m.supply);
      emitSafely(this.c.events, this.c.log, 'block', { block, origin });
      for (const ev of m.leaseChanges) emitSafely(this.c.events, this.c.log, 'lease', ev);
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
