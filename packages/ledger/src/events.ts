import { EventEmitter } from 'node:events';
import type { Logger } from '@xe/core-types';
import type { BlockEvent, LeaseEvent } from './types.js';

export interface LedgerEventMap {
  block: [BlockEvent];
  lease: [LeaseEvent];
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
