import { type Block, bytesToHex, hexEqualsBytes, isSealedBlock, isXeError, LIVE_TIMESTAMP_TOLERANCE_NS, parseBlock } from '@xe/core-types';
import { type BlockCheck, deriveAddress, hashBlockBytes, verifyHashSignature, verifyPow } from '@xe/crypto';
import { LedgerErrorCodes as C, reject } from '../errors.js';
import type { AdmitOrigin } from '../rules/index.js';
import type { AccountState } from '../types.js';

/**
 * The checks of SPEC §3.4 that need no ledger state beyond the account head, in order.
 * Each throws a BlockRejection. `pre` is what `checkBlockStateless` (@xe/crypto) computed
 * for this block ahead of time, on a verifier thread: each step takes its fact from it
 * when it is there and computes it here otherwise, so the outcome is the same either way.
 */

/**
 * 1. Shape and field set; returns a copy (later caller mutations cannot reach the store),
 * or the block itself when it is sealed (`parseBlockSealed`: validated, and frozen).
 */
export function checkShape(input: Block): Block {
  if (isSealedBlock(input)) return input;
  try {
    return parseBlock(input);
  } catch (err) {
    const code = isXeError(err) ? err.code : 'INVALID_FIELD';
    reject(C.BAD_SHAPE, `${code}: ${(err as Error).message}`);
  }
}

/** 2. The hash recomputes; returns its 32 bytes. */
export function checkHash(block: Block, networkId: string, pre?: BlockCheck): Uint8Array {
  let digest: Uint8Array;
  if (pre !== undefined) {
    if (pre.digest === undefined) reject(C.BAD_SHAPE, pre.hashError ?? 'block cannot be hashed');
    digest = pre.digest;
  } else {
    try {
      digest = hashBlockBytes(block, networkId);
    } catch (err) {
      reject(C.BAD_SHAPE, (err as Error).message);
    }
  }
  if (!hexEqualsBytes(block.hash, digest)) reject(C.HASH_MISMATCH, `hash: fields hash to ${bytesToHex(digest)}`);
  return digest;
}

/** 4. Genesis only from the bundle; proof of work on every other block. */
export function checkWork(block: Block, origin: AdmitOrigin, difficulty: bigint, pre?: BlockCheck): void {
  if (block.type === 'genesis' && origin !== 'genesis') reject(C.GENESIS_NOT_ALLOWED, 'genesis blocks come only from the bundle');
  if (block.type !== 'genesis' && origin === 'genesis' && block.pow_nonce === undefined) reject(C.POW_INVALID, 'pow_nonce: missing');
  if (block.type !== 'genesis' && !(pre?.powOk ?? verifyPow(block, difficulty))) reject(C.POW_INVALID, 'pow_nonce: work below the network difficulty');
}

/** 5. The signature, by the first block's pub_key or the stored key; returns the key. */
export function checkSignature(block: Block, acct: AccountState | undefined, pre?: BlockCheck): string {
  let pubKey: string;
  if (block.pub_key !== undefined) {
    if (deriveAddress(block.pub_key) !== block.account) reject(C.PUB_KEY_MISMATCH, 'pub_key: does not derive account');
    pubKey = block.pub_key;
  } else if (acct !== undefined) {
    pubKey = acct.pub_key;
  } else if (block.previous === '0') {
    reject(C.MISSING_PUB_KEY, "pub_key: required on an account's first block");
  } else {
    reject(C.UNKNOWN_PREVIOUS, `previous: account ${block.account} is unknown`);
  }
  const ok = pre?.sigKey === pubKey && pre.sigOk !== undefined ? pre.sigOk : verifyHashSignature(block.hash, block.signature, pubKey);
  if (!ok) reject(C.SIGNATURE_INVALID, 'signature: does not verify');
  return pubKey;
}

/** 6. A live block's timestamp within ±1 h of the local clock (synced history skips this). */
export function checkLiveTime(block: Block, origin: AdmitOrigin, now: bigint): void {
  if (origin !== 'live') return;
  const d = block.timestamp - now;
  if (d > LIVE_TIMESTAMP_TOLERANCE_NS || -d > LIVE_TIMESTAMP_TOLERANCE_NS) {
    reject(C.TIMESTAMP_OUT_OF_RANGE, 'timestamp: more than 1 h from the local clock');
  }
}
