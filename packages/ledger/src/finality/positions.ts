import type { Block, Position } from '@xe/core-types';
import { positionBytes } from '@xe/crypto';

/**
 * The positions a block stands at (SPEC §12): its chain position, and for an outcome
 * block its lease's outcome position — `start` for lease_accept and lease_cancel, `end`
 * for lease_settle and lease_force_settle.
 */
export function positionsOf(block: Block): Position[] {
  const chain: Position = { type: 'chain', account: block.account, previous: block.previous };
  switch (block.type) {
    case 'lease_accept':
    case 'lease_cancel':
      return [chain, { type: 'lease', lease: block.source, outcome: 'start' }];
    case 'lease_settle':
    case 'lease_force_settle':
      return [chain, { type: 'lease', lease: block.source, outcome: 'end' }];
    default:
      return [chain];
  }
}

/** The blocks `block` names (its `source`: a send or a lease). */
export function namedBy(block: Block): string[] {
  // one array literal for both cases, so every result has the same shape for V8
  const out: string[] = [];
  if ('source' in block) out.push(block.source);
  return out;
}

/** Store key bytes of a position (the vote's position bytes). */
export const positionKeyBytes = positionBytes;
