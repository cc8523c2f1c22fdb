// A SyncSource / SyncSink double with confirmations (SPEC §12): MemoryLedger plus each
// account's newest confirmation, checked on intake the way a ledger checks one against
// the representatives' weights (final votes, signatures, one vote per representative, the
// block's chain position, quorum). Chain positions only: the double keeps no leases.
import { meetsQuorum } from '@xe/core-types';
import { signVote, verifyVote } from '@xe/crypto';
import { keyFor, MemoryLedger, NETWORK_ID } from './chain.mjs';

export const REPS = [1, 2, 3].map((i) => keyFor(`rep/${i}`));
export const QUORUM_PCT = 60;

const VOTE_TS = 1_700_000_000_000_000_000n;

/** Final votes of `reps` naming `block` at its chain position, round 0. */
export function confirmationFor(block, reps = REPS, networkId = NETWORK_ID) {
  const position = { type: 'chain', account: block.account, previous: block.previous };
  return {
    block_hash: block.hash,
    votes: reps.map((k) => signVote({ position, block_hash: block.hash, round: 0, final: true, timestamp: VOTE_TS }, k, networkId)),
  };
}

const rejected = (code, retryable = false) => ({ status: 'rejected', code, message: code.toLowerCase(), retryable });

export class ConfirmedLedger extends MemoryLedger {
  constructor(options = {}) {
    super(options);
    this.reps = options.reps ?? REPS;
    this.weights = new Map(this.reps.map((k) => [k.address, 1n]));
    this.total = BigInt(this.reps.length);
    this.confirmedHeights = new Map();
    this.confs = new Map();
    this.verifiedVotes = 0;
  }

  /** Confirms every chain's newest block with the representatives' final votes. */
  confirmAll(reps = this.reps) {
    for (const [account, chain] of this.chains) {
      this.confs.set(account, confirmationFor(chain[chain.length - 1], reps, this.networkId));
      this.confirmedHeights.set(account, chain.length);
    }
  }

  confirmedHeight(account) {
    return this.confirmedHeights.get(account) ?? 0;
  }

  async frontiers() {
    return (await super.frontiers()).map((f) => ({ ...f, confirmed: this.confirmedHeight(f.account) }));
  }

  async confirmation(account) {
    return this.confs.get(account);
  }

  async ingestConfirmation(conf) {
    const block = this.byHash.get(conf.block_hash);
    if (block === undefined) return rejected('UNKNOWN_BLOCK', true);
    const seen = new Set();
    let weight = 0n;
    for (const v of conf.votes) {
      const w = this.weights.get(v.representative);
      if (w === undefined || !v.final || v.block_hash !== block.hash || seen.has(v.representative)) return rejected('CONFIRMATION_INVALID');
      if (v.position.type !== 'chain' || v.position.account !== block.account || v.position.previous !== block.previous) {
        return rejected('CONFIRMATION_INVALID');
      }
      if (!verifyVote(v, this.networkId)) return rejected('CONFIRMATION_INVALID');
      this.verifiedVotes++;
      seen.add(v.representative);
      weight += w;
    }
    if (!meetsQuorum(weight, this.total, QUORUM_PCT)) return rejected('CONFIRMATION_INVALID');
    const chain = this.chains.get(block.account);
    const height = chain.indexOf(block) + 1;
    if (this.confirmedHeight(block.account) >= height) return { status: 'duplicate' };
    this.confirmedHeights.set(block.account, height);
    this.confs.set(block.account, conf);
    return { status: 'confirmed' };
  }
}
