import { addU64, type GenesisBlock, type ReceiveBlock, type SendBlock, subU64 } from '@xe/core-types';
import { LedgerErrorCodes as C, reject } from '../errors.js';
import { type Mutation, supplyOf } from '../mutation.js';
import type { PendingSend } from '../types.js';
import { expectBalance, type RuleContext } from './context.js';

/** genesis: opens a treasury chain with the asset's whole supply. */
export function applyGenesis(ctx: RuleContext, block: GenesisBlock, m: Mutation): void {
  if (block.previous !== '0' || m.account.height !== 0n) reject(C.PREVIOUS_MISMATCH, 'genesis: must open its chain');
  m.account.balances[block.asset] = block.balance;
  supplyOf(m, ctx.repos, block.asset).genesis += block.balance;
}

/** send (SPEC §5): debit `amount`; a pending receivable for `destination`. */
export function applySend(ctx: RuleContext, block: SendBlock, m: Mutation): void {
  const acct = m.account;
  if (block.destination === block.account) reject(C.SELF_DESTINATION, 'destination: equals account');
  if (block.amount === 0n) reject(C.INVALID_AMOUNT, 'amount: must be positive');
  const bal = acct.balances[block.asset];
  if (block.amount > bal) reject(C.INSUFFICIENT_BALANCE, `amount: ${block.amount} exceeds the balance ${bal}`);
  expectBalance(block, bal - block.amount);
  acct.balances[block.asset] = block.balance;
  const p: PendingSend = { hash: block.hash, from: block.account, to: block.destination, asset: block.asset, amount: block.amount };
  m.ops.push(ctx.repos.pending.putOp(p));
  supplyOf(m, ctx.repos, block.asset).pending += block.amount;
}

/** receive (SPEC §5): credit a pending send to this account. */
export async function applyReceive(ctx: RuleContext, block: ReceiveBlock, m: Mutation): Promise<void> {
  const acct = m.account;
  const p = await ctx.repos.pending.get(block.account, block.source);
  if (p === undefined) return explainMissingPending(ctx, block.account, block.source);
  if (p.asset !== block.asset) reject(C.WRONG_ASSET, `asset: the send is ${p.asset}`);
  expectBalance(block, addU64(acct.balances[block.asset], p.amount));
  acct.balances[block.asset] = block.balance;
  m.ops.push(ctx.repos.pending.delOp(block.account, block.source));
  const s = supplyOf(m, ctx.repos, block.asset);
  s.pending = subU64(s.pending, p.amount);
}

async function explainMissingPending(ctx: RuleContext, account: string, source: string): Promise<never> {
  const stored = await ctx.repos.blocks.get(source);
  if (stored === undefined) reject(C.UNKNOWN_SOURCE, `source: ${source} is not known yet`);
  const { block } = stored;
  if (block.type !== 'send') reject(C.SOURCE_NOT_RECEIVABLE, `source: a ${block.type} block is not receivable`);
  if (block.destination !== account) reject(C.SOURCE_NOT_RECEIVABLE, 'source: a send to another account');
  reject(C.ALREADY_RECEIVED, 'source: already received');
}
