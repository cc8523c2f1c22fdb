import { type Confirmation, type FinalityParams, meetsQuorum, type Position, positionKey, totalWeight } from '@xe/core-types';
import { representativeWeight, verifyVote } from '@xe/crypto';

export type ConfirmationCheck = { ok: true; positions: Position[] } | { ok: false; reason: string };

/**
 * Checks a confirmation against the representatives' weights (SPEC §12), without the
 * 5-minute vote window: every vote final, naming `block_hash`, signed by a listed
 * representative whose `pub_key` derives its address, at most one per representative and
 * position; per position, ≥ quorum of the total weight in one round. Returns the positions
 * it confirms (the caller checks they are all the block stands at).
 */
export function verifyConfirmation(conf: Confirmation, params: FinalityParams, networkId: string): ConfirmationCheck {
  const total = totalWeight(params);
  const seen = new Set<string>();
  const tallies = new Map<string, { position: Position; byRound: Map<number, bigint> }>();
  for (const [i, v] of conf.votes.entries()) {
    if (v.block_hash !== conf.block_hash) return { ok: false, reason: `votes[${i}]: names another block` };
    if (!v.final) return { ok: false, reason: `votes[${i}]: not a final vote` };
    const weight = representativeWeight(params, v.representative);
    if (weight === 0n) return { ok: false, reason: `votes[${i}]: not a representative` };
    const pk = positionKey(v.position);
    const once = `${pk}|${v.representative}`;
    if (seen.has(once)) return { ok: false, reason: `votes[${i}]: a second vote of one representative at one position` };
    seen.add(once);
    if (!verifyVote(v, networkId)) return { ok: false, reason: `votes[${i}]: signature or key does not verify` };
    let t = tallies.get(pk);
    if (!t) {
      t = { position: v.position, byRound: new Map() };
      tallies.set(pk, t);
    }
    t.byRound.set(v.round, (t.byRound.get(v.round) ?? 0n) + weight);
  }
  if (tallies.size === 0) return { ok: false, reason: 'no votes' };
  const positions: Position[] = [];
  for (const t of tallies.values()) {
    if (![...t.byRound.values()].some((w) => meetsQuorum(w, total, params.quorum_pct))) {
      return { ok: false, reason: `position ${positionKey(t.position)}: short of quorum` };
    }
    positions.push(t.position);
  }
  return { ok: true, positions };
}
