import { ErrorCodes } from './errors.js';
import type { Address, FinalityParams, Hash, PubKey, SignatureHex } from './types.js';
import {
  array,
  asJsonValue,
  bool,
  boundedInt,
  expectObject,
  hash,
  invalid,
  onlyFields,
  requireField,
  signature,
  str,
  u64,
} from './validate.js';

/**
 * Finality (SPEC §12): the positions blocks compete for, representative votes,
 * confirmations, and the representatives with their weights.
 */

/** A chain position `(account, previous)` or a lease-outcome position `(lease, start|end)`. */
export type Position =
  | { type: 'chain'; account: Address; previous: Hash | '0' }
  | { type: 'lease'; lease: Hash; outcome: 'start' | 'end' };

export interface Vote {
  representative: Address;
  pub_key: PubKey;
  position: Position;
  block_hash: Hash;
  /** u32 */
  round: number;
  final: boolean;
  /** unix ns */
  timestamp: bigint;
  signature: SignatureHex;
}

/** One quorum of final votes naming `block_hash`, for every position the block stands at. */
export interface Confirmation {
  block_hash: Hash;
  votes: Vote[];
}

export const MIN_QUORUM_PCT = 51;
export const MAX_QUORUM_PCT = 100;
/** At most this many representatives in a network's params (bounds every tally). */
export const MAX_REPRESENTATIVES = 1024;
/** Competing candidates held per position (SPEC §12 / issue: at most 10). */
export const MAX_CANDIDATES_PER_POSITION = 10;
/** A live vote's timestamp may be this far from the local clock (5 min). */
export const VOTE_WINDOW_NS = 300_000_000_000n;
export const U32_MAX = 0xffff_ffff;

/** Quorum test: `weight · 100 ≥ total · quorum_pct`. */
export function meetsQuorum(weight: bigint, total: bigint, quorumPct: number): boolean {
  return total > 0n && weight * 100n >= total * BigInt(quorumPct);
}

export function totalWeight(params: FinalityParams): bigint {
  let t = 0n;
  for (const r of params.representatives) t += r.weight;
  return t;
}

/** Two positions are the same position. */
export function samePosition(a: Position, b: Position): boolean {
  if (a.type === 'chain') return b.type === 'chain' && a.account === b.account && a.previous === b.previous;
  return b.type === 'lease' && a.lease === b.lease && a.outcome === b.outcome;
}

/** A stable text key of a position (maps, logs). */
export function positionKey(p: Position): string {
  return p.type === 'chain' ? `c:${p.account}:${p.previous}` : `l:${p.lease}:${p.outcome}`;
}

const PARAM_FIELDS = new Set(['representatives', 'quorum_pct']);
const REP_FIELDS = new Set(['address', 'weight']);

/** Validates finality params (quorum 51..100, weights > 0, no duplicate address). */
export function validateFinalityParams(p: FinalityParams, field = 'finality'): FinalityParams {
  if (!Number.isInteger(p.quorum_pct) || p.quorum_pct < MIN_QUORUM_PCT || p.quorum_pct > MAX_QUORUM_PCT) {
    throw invalid(`${field}.quorum_pct`, `must be an integer between ${MIN_QUORUM_PCT} and ${MAX_QUORUM_PCT}`, ErrorCodes.INVALID_NETWORK_PARAMS);
  }
  if (p.representatives.length === 0) throw invalid(`${field}.representatives`, 'at least one', ErrorCodes.INVALID_NETWORK_PARAMS);
  if (p.representatives.length > MAX_REPRESENTATIVES) {
    throw invalid(`${field}.representatives`, `at most ${MAX_REPRESENTATIVES}`, ErrorCodes.INVALID_NETWORK_PARAMS);
  }
  const seen = new Set<string>();
  for (const [i, r] of p.representatives.entries()) {
    hash(r.address, `${field}.representatives[${i}].address`);
    if (typeof r.weight !== 'bigint' || r.weight <= 0n) {
      throw invalid(`${field}.representatives[${i}].weight`, 'must be > 0', ErrorCodes.INVALID_NETWORK_PARAMS);
    }
    if (seen.has(r.address)) throw invalid(`${field}.representatives[${i}].address`, 'listed twice', ErrorCodes.INVALID_NETWORK_PARAMS);
    seen.add(r.address);
  }
  return p;
}

/** Parses and validates finality params from JSON text or a parsed value. */
export function parseFinalityParams(input: unknown, field = 'finality'): FinalityParams {
  const o = expectObject(asJsonValue(input), field);
  onlyFields(o, PARAM_FIELDS, 'finality params', `${field}.`);
  const reps = array(requireField(o, 'representatives', `${field}.representatives`), `${field}.representatives`, MAX_REPRESENTATIVES).map(
    (v, i) => {
      const f = `${field}.representatives[${i}]`;
      const r = expectObject(v, f);
      onlyFields(r, REP_FIELDS, 'a representative', `${f}.`);
      return { address: hash(requireField(r, 'address', `${f}.address`), `${f}.address`), weight: u64(requireField(r, 'weight', `${f}.weight`), `${f}.weight`) };
    },
  );
  const quorum = boundedInt(requireField(o, 'quorum_pct', `${field}.quorum_pct`), `${field}.quorum_pct`, MIN_QUORUM_PCT, MAX_QUORUM_PCT);
  return validateFinalityParams({ representatives: reps, quorum_pct: quorum }, field);
}

/** Parses a position (shape only). */
export function parsePosition(input: unknown, field = 'position'): Position {
  const o = expectObject(input, field);
  const type = requireField(o, 'type', `${field}.type`);
  if (type === 'chain') {
    onlyFields(o, new Set(['type', 'account', 'previous']), 'a chain position', `${field}.`);
    const prev = requireField(o, 'previous', `${field}.previous`);
    return {
      type: 'chain',
      account: hash(requireField(o, 'account', `${field}.account`), `${field}.account`),
      previous: prev === '0' ? '0' : hash(prev, `${field}.previous`),
    };
  }
  if (type === 'lease') {
    onlyFields(o, new Set(['type', 'lease', 'outcome']), 'a lease position', `${field}.`);
    const outcome = str(requireField(o, 'outcome', `${field}.outcome`), `${field}.outcome`, 8);
    if (outcome !== 'start' && outcome !== 'end') throw invalid(`${field}.outcome`, "expected 'start' or 'end'");
    return { type: 'lease', lease: hash(requireField(o, 'lease', `${field}.lease`), `${field}.lease`), outcome };
  }
  throw invalid(`${field}.type`, "expected 'chain' or 'lease'");
}

const VOTE_FIELDS = new Set(['representative', 'pub_key', 'position', 'block_hash', 'round', 'final', 'timestamp', 'signature']);

/** Parses a vote (shape only; `@xe/crypto` `verifyVote` checks the signature). */
export function parseVote(input: unknown, field = 'vote'): Vote {
  const o = expectObject(asJsonValue(input), field);
  onlyFields(o, VOTE_FIELDS, 'a vote', `${field}.`);
  const need = (f: string) => requireField(o, f, `${field}.${f}`);
  return {
    representative: hash(need('representative'), `${field}.representative`),
    pub_key: hash(need('pub_key'), `${field}.pub_key`),
    position: parsePosition(need('position'), `${field}.position`),
    block_hash: hash(need('block_hash'), `${field}.block_hash`),
    round: boundedInt(need('round'), `${field}.round`, 0, U32_MAX),
    final: bool(need('final'), `${field}.final`),
    timestamp: u64(need('timestamp'), `${field}.timestamp`),
    signature: signature(need('signature'), `${field}.signature`),
  };
}

/** At most one vote per representative and position: bounds a confirmation's size. */
export const MAX_CONFIRMATION_VOTES = 2 * MAX_REPRESENTATIVES;

/** Parses a confirmation (shape only). */
export function parseConfirmation(input: unknown, field = 'confirmation'): Confirmation {
  const o = expectObject(asJsonValue(input), field);
  onlyFields(o, new Set(['block_hash', 'votes']), 'a confirmation', `${field}.`);
  return {
    block_hash: hash(requireField(o, 'block_hash', `${field}.block_hash`), `${field}.block_hash`),
    votes: array(requireField(o, 'votes', `${field}.votes`), `${field}.votes`, MAX_CONFIRMATION_VOTES).map((v, i) =>
      parseVote(v, `${field}.votes[${i}]`),
    ),
  };
}
