import type { Block, Confirmation } from '@xe/core-types';
import type { KeyPair } from '@xe/crypto';
import type { ConfirmationIntake } from '../../src/index.js';
import { MemoryLedger } from './chain.mjs';

export declare const REPS: KeyPair[];
export declare const QUORUM_PCT: number;
export declare function confirmationFor(block: Block, reps?: KeyPair[], networkId?: string): Confirmation;

export declare class ConfirmedLedger extends MemoryLedger {
  constructor(options?: { networkId?: string; verify?: boolean; reps?: KeyPair[] });
  readonly confs: Map<string, Confirmation>;
  verifiedVotes: number;
  confirmAll(reps?: KeyPair[]): void;
  confirmedHeight(account: string): number;
  confirmation(account: string): Promise<Confirmation | undefined>;
  ingestConfirmation(conf: Confirmation): Promise<ConfirmationIntake>;
}
