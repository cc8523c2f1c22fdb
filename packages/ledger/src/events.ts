import { EventEmitter } from 'node:events';
import type { Logger, Vote } from '@xe/core-types';
import type { BlockEvent, ConflictRecord, LeaseEvent } from './types.js';

export interface LedgerEventMap {
  block: [BlockEvent];
  lease: [LeaseEvent];
  /** finality: a vote this node cast, to gossip on `xe/votes` */
  vote: [Vote];
  /** finality: a block became confirmed (explicitly or as a dependency of one) */
  confirmed: [{ hash: string }];
  /** finality: a block was dropped (lost, built on a loser, a confirmed block's sibling) */
  dropped: [ConflictRecord];
}

/** Committed blocks and lease state changes, emitted after the batch is written. */
export class LedgerEvents extends EventEmitter<LedgerEventMap> {}

/** Emits without letting a failing listener reach the caller. */
export function emitSafely<K extends keyof LedgerEventMap>(events: LedgerEvents, log: Logger, name: K, payload: LedgerEventMap[K][0]): void {
  try {
    (events as EventEmitter).emit(name, payload);
  } catch (err) {
    log.warn('ledger event listener failed', { event: name, err });
  }
}
