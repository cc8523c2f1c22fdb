import type { Block } from '@xe/core-types';
import type { Mutation } from '../mutation.js';
import type { RuleContext } from './context.js';
import { applyLease } from './lease.js';
import { applyAccept, applyCancel, applyForceSettle, applySettle } from './outcome.js';
import { applyGenesis, applyReceive, applySend } from './transfer.js';

export type { AdmitOrigin, RuleContext } from './context.js';

/** The type rules of SPEC §5: checks `block` against the state and adds its effects to `m`. */
export async function applyRules(ctx: RuleContext, block: Block, m: Mutation): Promise<void> {
  switch (block.type) {
    case 'genesis':
      return applyGenesis(ctx, block, m);
    case 'send':
      return applySend(ctx, block, m);
    case 'receive':
      return applyReceive(ctx, block, m);
    case 'lease':
      return applyLease(ctx, block, m);
    case 'lease_accept':
      return applyAccept(ctx, block, m);
    case 'lease_settle':
      return applySettle(ctx, block, m);
    case 'lease_cancel':
      return applyCancel(ctx, block, m);
    case 'lease_force_settle':
      return applyForceSettle(ctx, block, m);
  }
}
