import { type Block, bytesToHex } from '@xe/core-types';
import { verifyHashSignature } from './block-sign.js';
import { hashBlockBytes } from './encode.js';
import { verifyPow } from './pow.js';

/** The stateless checks of one block: what a worker thread (or the caller's thread) computes. */
export interface BlockCheckJob {
  /** a block that passed its shape check (`parseBlock`) */
  block: Block;
  networkId: string;
  difficulty: bigint;
  /** the key to verify the signature with when the block carries no `pub_key` (the account's stored key) */
  pubKey?: string;
}

/**
 * Facts about a block, each the result of the same function the inline checks call:
 * `digest` (or `hashError` when the fields cannot be hashed), `hashOk` (the `hash` field
 * is the digest), `powOk` (`verifyPow`, undefined for genesis blocks or a wrong hash) and
 * `sigOk` for the key `sigKey` (undefined when no key was known or the hash is wrong).
 */
export interface BlockCheck {
  digest?: Uint8Array;
  hashError?: string;
  hashOk: boolean;
  powOk?: boolean;
  sigKey?: string;
  sigOk?: boolean;
  /** where it was computed */
  source: 'worker' | 'inline';
}

/** Runs the stateless checks of `job` on this thread. Never throws. */
export function checkBlockStateless(job: BlockCheckJob, source: BlockCheck['source'] = 'inline'): BlockCheck {
  const { block } = job;
  let digest: Uint8Array;
  try {
    digest = hashBlockBytes(block, job.networkId);
  } catch (err) {
    return { hashOk: false, hashError: (err as Error).message, source };
  }
  const out: BlockCheck = { digest, hashOk: bytesToHex(digest) === block.hash, source };
  if (!out.hashOk) return out;
  if (block.type !== 'genesis') out.powOk = verifyPow(block, job.difficulty);
  const key = block.pub_key ?? job.pubKey;
  if (key !== undefined) {
    out.sigKey = key;
    out.sigOk = verifyHashSignature(block.hash, block.signature, key);
  }
  return out;
}
