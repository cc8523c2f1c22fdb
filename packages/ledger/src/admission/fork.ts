import { type AdmitResult, type Block, bytesToHex, type Logger } from '@xe/core-types';
import { LedgerErrorCodes as C, reject } from '../errors.js';
import type { Repositories } from '../repos/index.js';
import type { AccountState, ConflictRecord } from '../types.js';

/** The chain height a block at `previous` would take; throws when `previous` is unknown or foreign. */
export async function heightAfter(repos: Repositories, block: Block): Promise<bigint> {
  if (block.previous === '0') return 1n;
  const prev = await repos.blocks.place(block.previous);
  if (prev === undefined) reject(C.UNKNOWN_PREVIOUS, `previous: ${block.previous} is not known yet`);
  if (prev.account !== block.account) reject(C.PREVIOUS_MISMATCH, 'previous: a block of another account');
  return prev.height + 1n;
}

/**
 * A block whose previous is not the frontier, without finality: an unknown previous, a
 * mismatch, or a fork — first seen wins and the fork is recorded and rejected.
 */
export async function rejectFork(repos: Repositories, block: Block, acct: AccountState, now: bigint, log: Logger): Promise<AdmitResult> {
  const height = await heightAfter(repos, block);
  const existingRef = await repos.blocks.hashAt(acct.address, height);
  if (existingRef === undefined) reject(C.INTERNAL, 'chain index is missing a position');
  const existing = bytesToHex(existingRef);
  const conflict: ConflictRecord = {
    account: block.account,
    previous: block.previous,
    existing,
    rejected: block.hash,
    block,
    detected_at: now,
  };
  await repos.commit(await repos.conflicts.putOps([conflict]));
  log.warn('fork rejected', { account: block.account, height, existing, rejected: block.hash });
  return {
    status: 'rejected',
    hash: block.hash,
    code: C.FORK,
    message: `fork: position ${height} of ${block.account} holds ${existing}`,
    retryable: false,
  };
}
