import { meetsQuorum, type Position, type Vote } from '@xe/core-types';

export type VoteIntake = 'counted' | 'superseded' | 'equivocation';

export interface Tally {
  hash: string;
  round: number;
  weight: bigint;
  votes: Vote[];
}

function higher(a: Vote, b: Vote): boolean {
  return a.round > b.round || (a.round === b.round && a.timestamp > b.timestamp);
}

/**
 * One position's election (SPEC §12), pure: the candidates, the highest (round,
 * timestamp) vote of each representative, and the decisions taken from them.
 */
export class Election {
  /** candidate hashes in the order this node learned them (the first is its first valid one) */
  readonly candidates: string[] = [];
  private readonly votes = new Map<string, Vote>();

  constructor(
    readonly position: Position,
    private readonly weights: ReadonlyMap<string, bigint>,
    private readonly total: bigint,
    private readonly quorumPct: number,
  ) {}

  addCandidate(hash: string): void {
    if (!this.candidates.includes(hash)) this.candidates.push(hash);
  }

  removeCandidate(hash: string): void {
    const i = this.candidates.indexOf(hash);
    if (i >= 0) this.candidates.splice(i, 1);
  }

  /** Keeps `vote` if it is its representative's highest (round, timestamp). The caller verified it. */
  add(vote: Vote): VoteIntake {
    const prev = this.votes.get(vote.representative);
    if (prev !== undefined) {
      if (prev.round === vote.round && prev.timestamp === vote.timestamp) {
        return prev.block_hash === vote.block_hash && prev.final === vote.final ? 'superseded' : 'equivocation';
      }
      if (!higher(vote, prev)) return 'superseded';
    }
    this.votes.set(vote.representative, vote);
    return 'counted';
  }

  voteOf(representative: string): Vote | undefined {
    return this.votes.get(representative);
  }

  allVotes(): Vote[] {
    return [...this.votes.values()];
  }

  private tally(filter: (v: Vote) => boolean): Tally[] {
    const by = new Map<string, Tally>();
    for (const v of this.votes.values()) {
      if (!filter(v)) continue;
      const k = `${v.round}:${v.block_hash}`;
      let t = by.get(k);
      if (!t) {
        t = { hash: v.block_hash, round: v.round, weight: 0n, votes: [] };
        by.set(k, t);
      }
      t.weight += this.weights.get(v.representative) ?? 0n;
      t.votes.push(v);
    }
    return [...by.values()];
  }

  private quorum(t: Tally): boolean {
    return meetsQuorum(t.weight, this.total, this.quorumPct);
  }

  /** Final votes of ≥ quorum naming one block in one round: the position's winner. */
  finalWinner(): Tally | undefined {
    return this.tally((v) => v.final).find((t) => this.quorum(t));
  }

  /** The latest round ≥ `minRound` where votes (converge, or final, which follow converge) of ≥ quorum name one block. */
  convergeQuorum(minRound = 0): Tally | undefined {
    let best: Tally | undefined;
    for (const t of this.tally((v) => v.round >= minRound)) {
      if (this.quorum(t) && (best === undefined || t.round > best.round)) best = t;
    }
    return best;
  }

  /**
   * This representative's converge choice for `round` (SPEC §12): round 0 → the first
   * valid candidate; later → the locked one unless another had converge quorum in a
   * later round than the lock; else the most weight among current votes, ties to the
   * lowest hash; with no votes, the first candidate. Only current candidates that pass
   * `valid` are chosen (a dropped block is not).
   */
  choose(round: number, lock: { block_hash: string; round: number } | undefined, valid: (hash: string) => boolean): string | undefined {
    const first = this.candidates.find(valid);
    if (round === 0) return first;
    const ok = (h: string) => this.candidates.includes(h) && valid(h);
    const held = lock !== undefined && ok(lock.block_hash) ? lock : undefined;
    const later = this.convergeQuorum(held === undefined ? 0 : held.round + 1);
    if (later !== undefined && ok(later.hash) && (held === undefined || later.hash !== held.block_hash)) return later.hash;
    if (held !== undefined) return held.block_hash;
    const weight = new Map<string, bigint>();
    for (const v of this.votes.values()) {
      if (ok(v.block_hash)) weight.set(v.block_hash, (weight.get(v.block_hash) ?? 0n) + (this.weights.get(v.representative) ?? 0n));
    }
    let best: string | undefined;
    let bestW = -1n;
    for (const [h, w] of weight) {
      if (w > bestW || (w === bestW && best !== undefined && h < best)) {
        best = h;
        bestW = w;
      }
    }
    return best ?? first;
  }
}
