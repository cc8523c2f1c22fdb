import {
  type Block,
  type Clock,
  type Confirmation,
  isHash,
  type JsonValue,
  PROTOCOLS,
  parseBlock,
  parseConfirmation,
  parseVote,
  stringifyJson,
  TOPICS,
  VOTE_WINDOW_NS,
  type Vote,
} from '@xe/core-types';
import { verifyVote } from '@xe/crypto';
import { GossipError, GossipErrorCodes } from './errors.js';
import type { GossipNode } from './gossip-node.js';
import { ACCEPT, ignore, type MessageContext, reject, type ValidationResult } from './validation.js';

/**
 * Representative votes and confirmations on the wire (SPEC §12): the `xe/votes` topic
 * and the `/xe/votes/1.0.0` request/response protocol. The ledger decides what a vote
 * changes; this module checks what can be checked without it and bounds what travels.
 */

export const VOTES_TOPIC = TOPICS.votes;
export const VOTES_PROTOCOL = PROTOCOLS.votes;
/** Hashes one `/xe/votes/1.0.0` request may ask for. */
export const MAX_VOTE_FETCH_HASHES = 64;
/** Largest `/xe/votes/1.0.0` request (64 hashes are ~4.5 KiB). */
export const VOTES_MAX_REQUEST_BYTES = 16 * 1024;
/** Largest `/xe/votes/1.0.0` response; the server stops adding entries before it. */
export const VOTES_MAX_RESPONSE_BYTES = 1 << 20;
/** Deadline of one `/xe/votes/1.0.0` call. */
export const VOTES_TIMEOUT_MS = 5000;
/** Calls one peer may make per minute. */
export const VOTES_RATE_PER_MINUTE = 600;

export type VoteVerifier = (vote: Vote, networkId: string) => boolean;

export interface VoteCheckOptions {
  networkId: string;
  clock: Clock;
  /** signature check (default `@xe/crypto` `verifyVote`: signature and that `pub_key` derives `representative`) */
  verify?: VoteVerifier;
  /** the live window (default 5 min) */
  windowNs?: bigint;
}

/** The `xe/votes` message: `{vote}` (a bare vote is taken too). */
export function voteOfMessage(msg: unknown): unknown {
  return msg !== null && typeof msg === 'object' && 'vote' in msg ? (msg as { vote: unknown }).vote : msg;
}

/**
 * Checks a gossiped vote without the ledger: shape and signature → REJECT when wrong;
 * a timestamp outside the live window → IGNORE (a clock apart is not an attack).
 * Returns the vote when it passes.
 */
export function checkVoteMessage(msg: unknown, o: VoteCheckOptions): { vote: Vote } | ValidationResult {
  let vote: Vote;
  try {
    vote = parseVote(voteOfMessage(msg));
  } catch {
    return reject('invalid_shape');
  }
  if (!(o.verify ?? verifyVote)(vote, o.networkId)) return reject('bad_signature');
  const window = o.windowNs ?? VOTE_WINDOW_NS;
  const d = vote.timestamp - o.clock();
  if (d > window || -d > window) return ignore('stale');
  return { vote };
}

/** What the ledger said about a vote, for the relay decision. */
export type VoteIntake = { status: 'counted' | 'duplicate' | 'held' } | { status: 'rejected'; code: string; retryable: boolean };

/**
 * The `xe/votes` validator: the checks above, then `admit` (the ledger). Counted → ACCEPT
 * (relayed); held (block not seen yet) → ACCEPT, so a vote reaches the nodes that hold
 * the block; duplicate → IGNORE; a rejection → REJECT, except one the voter may not be
 * at fault for (retryable, or the vote of a position this node already decided) → IGNORE.
 */
export function voteValidator(
  o: VoteCheckOptions & { admit(vote: Vote, ctx: MessageContext): Promise<VoteIntake> },
): (msg: JsonValue, ctx: MessageContext) => Promise<ValidationResult> {
  return async (msg, ctx) => {
    const checked = checkVoteMessage(msg, o);
    if (!('vote' in checked)) return checked;
    const r = await o.admit(checked.vote, ctx);
    if (r.status === 'rejected') return r.retryable ? ignore(r.code.toLowerCase()) : reject(r.code.toLowerCase());
    return r.status === 'duplicate' ? ignore('duplicate') : ACCEPT;
  };
}

/** Publishes one vote on `xe/votes`. */
export async function publishVote(gossip: Pick<GossipNode, 'publish'>, vote: Vote): Promise<number> {
  return (await gossip.publish(VOTES_TOPIC, { vote })).recipients;
}

// ---------------------------------------------------------------- /xe/votes/1.0.0

/**
 * What a node answers for requested hashes: the confirmation of each that it holds
 * confirmed, and the blocks a requester may lack — a requested block it stores (one the
 * requester saw only in votes), or the winner of a position where the requested block lost.
 */
export interface ConfirmationSource {
  lookup(hash: string): Promise<{ block?: Block; confirmation?: Confirmation } | undefined>;
}

export interface VotesAnswer {
  confirmations: Confirmation[];
  blocks: Block[];
}

function protocolError(message: string): GossipError {
  return new GossipError(GossipErrorCodes.PROTOCOL_ERROR, message);
}

/** Parses a `{hashes}` request (at most MAX_VOTE_FETCH_HASHES 64-hex hashes). */
export function parseVotesRequest(req: unknown): string[] {
  const hashes = (req as { hashes?: unknown } | null)?.hashes;
  if (!Array.isArray(hashes) || hashes.length > MAX_VOTE_FETCH_HASHES || !hashes.every(isHash)) {
    throw new GossipError(GossipErrorCodes.PROTOCOL_ERROR, `hashes: expected at most ${MAX_VOTE_FETCH_HASHES} 64-hex hashes`);
  }
  return [...new Set(hashes as string[])];
}

/** Builds the answer to a request, stopping before `maxBytes` of JSON. */
export async function answerVotesRequest(source: ConfirmationSource, hashes: readonly string[], maxBytes = VOTES_MAX_RESPONSE_BYTES): Promise<VotesAnswer> {
  const out: VotesAnswer = { confirmations: [], blocks: [] };
  const seen = new Set<string>();
  let bytes = 64;
  for (const h of hashes) {
    const found = await source.lookup(h);
    if (found === undefined) continue;
    const add = (found.block === undefined || seen.has(found.block.hash) ? 0 : stringifyJson(found.block).length + 1) + (found.confirmation === undefined || seen.has(`c${found.confirmation.block_hash}`) ? 0 : stringifyJson(found.confirmation).length + 1);
    if (bytes + add > maxBytes) break;
    bytes += add;
    if (found.block !== undefined && !seen.has(found.block.hash)) {
      seen.add(found.block.hash);
      out.blocks.push(found.block);
    }
    if (found.confirmation !== undefined && !seen.has(`c${found.confirmation.block_hash}`)) {
      seen.add(`c${found.confirmation.block_hash}`);
      out.confirmations.push(found.confirmation);
    }
  }
  return out;
}

/** Serves `/xe/votes/1.0.0 {hashes} → {confirmations, blocks}` from `source`. */
export function serveVotes(gossip: Pick<GossipNode, 'handle'>, source: ConfirmationSource): void {
  gossip.handle(
    VOTES_PROTOCOL,
    async (req) => (await answerVotesRequest(source, parseVotesRequest(req))) as unknown as JsonValue,
    { maxRequestBytes: VOTES_MAX_REQUEST_BYTES, ratePerMinute: VOTES_RATE_PER_MINUTE, timeoutMs: VOTES_TIMEOUT_MS },
  );
}

/** Parses an answer: bounded, each entry shape-checked (the ledger verifies); malformed entries are dropped. */
export function parseVotesAnswer(value: unknown): VotesAnswer {
  const o = value as { confirmations?: unknown; blocks?: unknown } | null;
  if (o === null || typeof o !== 'object' || !Array.isArray(o.confirmations) || (o.blocks !== undefined && !Array.isArray(o.blocks))) {
    throw protocolError('votes response: expected {confirmations, blocks}');
  }
  const blocksIn = (o.blocks as unknown[] | undefined) ?? [];
  if (o.confirmations.length > 2 * MAX_VOTE_FETCH_HASHES || blocksIn.length > 2 * MAX_VOTE_FETCH_HASHES) throw protocolError('votes response: too many entries');
  const out: VotesAnswer = { confirmations: [], blocks: [] };
  for (const c of o.confirmations) {
    try {
      out.confirmations.push(parseConfirmation(c));
    } catch {}
  }
  for (const b of blocksIn) {
    try {
      out.blocks.push(parseBlock(b));
    } catch {}
  }
  return out;
}

/** Asks one peer for the confirmations (and blocks) of up to MAX_VOTE_FETCH_HASHES hashes. */
export async function fetchConfirmations(
  gossip: Pick<GossipNode, 'request'>,
  peer: string,
  hashes: readonly string[],
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<VotesAnswer> {
  const res = await gossip.request(peer, VOTES_PROTOCOL, { hashes: hashes.slice(0, MAX_VOTE_FETCH_HASHES) }, {
    timeoutMs: options.timeoutMs ?? VOTES_TIMEOUT_MS,
    maxResponseBytes: VOTES_MAX_RESPONSE_BYTES + 64 * 1024,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return parseVotesAnswer(res);
}
