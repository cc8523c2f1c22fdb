import type { AbortOptions, AdmitResult, Block, LeaseState } from '@xe/core-types';
import { verifyBlockSignature } from '@xe/crypto';
import type { BlockIngest, LeaseStateLookup } from '../../src/index.js';
import { NETWORK_ID } from './fixtures.js';

/**
 * An in-package fake of the lookup and ingest the signer declares: a map from lease hash
 * to state, filled by `ingest` (which checks the block's hash and signature for real).
 */
export class FakeLedger {
  readonly states = new Map<string, LeaseState>();
  readonly ingested: string[] = [];

  readonly leaseState: LeaseStateLookup = async (leaseHash: string, _options?: AbortOptions) => this.states.get(leaseHash);

  readonly ingest: BlockIngest = async (block: Block): Promise<AdmitResult> => {
    if (this.states.has(block.hash)) return { status: 'duplicate', hash: block.hash };
    if (block.type !== 'lease' || block.pub_key === undefined || !verifyBlockSignature(block, block.pub_key, NETWORK_ID)) {
      return { status: 'rejected', hash: block.hash, code: 'INVALID_SIGNATURE', message: 'block hash or signature does not verify', retryable: false };
    }
    this.states.set(block.hash, 'created');
    this.ingested.push(block.hash);
    return { status: 'accepted', hash: block.hash, block };
  };

  /** A ledger that already knows these blocks as `created`. */
  static knowing(...blocks: Block[]): FakeLedger {
    const l = new FakeLedger();
    for (const b of blocks) l.states.set(b.hash, 'created');
    return l;
  }
}
