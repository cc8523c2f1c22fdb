import { type Confirmation, isHash, type JsonValue, parseConfirmation, stringifyJson } from '@xe/core-types';

/**
 * Confirmations in sync pages (SPEC §12 "Confirmations travel"): after the blocks, the
 * responder sends the confirmation of each account's newest confirmed block where its
 * confirmed height is above the requester's; the requester verifies them through the sink
 * (the ledger checks them against the bundle's weights) after the blocks of their page.
 */

/** What a ledger answers for a confirmation it is handed. */
export type ConfirmationIntake =
  | { status: 'confirmed' | 'duplicate' }
  | { status: 'rejected'; code: string; message?: string; retryable: boolean };

/** Confirmations one page carries at most. */
export const MAX_PAGE_CONFIRMATIONS = 512;

/** The requester's confirmed heights, read from its frontier entries (`confirmed`, optional). */
export function confirmedHeightOf(entry: { [k: string]: JsonValue }): number {
  const c = entry.confirmed;
  return typeof c === 'bigint' && c >= 0n && c <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(c) : 0;
}

/**
 * The accounts whose newest confirmation the requester lacks: `mine` are the responder's
 * frontiers (with `confirmed` heights), `theirs` the requester's confirmed heights.
 */
export function accountsToConfirm(mine: readonly { account: string; confirmed?: number }[], theirs: ReadonlyMap<string, number>): string[] {
  const out: string[] = [];
  for (const f of mine) if ((f.confirmed ?? 0) > (theirs.get(f.account) ?? 0)) out.push(f.account);
  return out;
}

/**
 * Streams the confirmation pages: `{"type":"page","certificates":[],"blocks":[],"confirmations":[…]}`,
 * each under `maxPageBytes` and MAX_PAGE_CONFIRMATIONS entries.
 */
export async function sendConfirmationPages(
  accounts: readonly string[],
  confirmationOf: (account: string) => Promise<Confirmation | undefined>,
  maxPageBytes: number,
  write: (text: string) => Promise<void>,
  signal?: AbortSignal,
): Promise<number> {
  let page: string[] = [];
  let bytes = 0;
  let sent = 0;
  const flush = async () => {
    if (page.length === 0) return;
    await write(`{"type":"page","certificates":[],"blocks":[],"confirmations":[${page.join(',')}]}`);
    page = [];
    bytes = 0;
  };
  for (const a of accounts) {
    if (signal?.aborted) break;
    const c = await confirmationOf(a);
    if (c === undefined) continue;
    const text = stringifyJson(c);
    if (page.length > 0 && (page.length >= MAX_PAGE_CONFIRMATIONS || bytes + text.length + 1 > maxPageBytes)) await flush();
    page.push(text);
    bytes += text.length + 1;
    sent++;
  }
  await flush();
  return sent;
}

/** The requester side: ingests a page's confirmations after its blocks, keeps retryable ones (bounded) for after the retry passes. */
export class ConfirmationIntakeState {
  /** Verified and applied (or already held confirmed). */
  confirmed = 0;
  rejected = 0;
  private pending: Confirmation[] = [];

  constructor(
    private readonly ingest: ((c: Confirmation) => Promise<ConfirmationIntake>) | undefined,
    private readonly maxPending: number,
    private readonly onReject: (code: string) => void,
  ) {}

  /** Parses and ingests one page's `confirmations` (absent or not an array: nothing). */
  async page(raw: JsonValue | undefined, maxEntries: number): Promise<void> {
    if (this.ingest === undefined || !Array.isArray(raw)) return;
    for (const item of raw.slice(0, maxEntries)) {
      let c: Confirmation;
      try {
        c = parseConfirmation(item);
      } catch {
        this.reject('BAD_SHAPE');
        continue;
      }
      if (!isHash(c.block_hash)) continue;
      await this.one(c, true);
    }
  }

  private reject(code: string): void {
    this.rejected++;
    this.onReject(code);
  }

  /** The sink's answer for one confirmation; a throwing sink counts as a rejection. */
  private async attempt(c: Confirmation): Promise<ConfirmationIntake> {
    try {
      return await this.ingest!(c);
    } catch (err) {
      return { status: 'rejected', code: 'INGEST_ERROR', message: (err as Error).message, retryable: false };
    }
  }

  private async one(c: Confirmation, keep: boolean): Promise<boolean> {
    const r = await this.attempt(c);
    if (r.status !== 'rejected') {
      this.confirmed++;
      return true;
    }
    if (r.retryable && keep && this.pending.length < this.maxPending) this.pending.push(c);
    else this.reject(r.code);
    return false;
  }

  /** Retries the kept confirmations until a pass makes no progress (after the blocks' retry passes). */
  async retry(): Promise<void> {
    while (this.pending.length > 0) {
      const list = this.pending;
      this.pending = [];
      let progress = false;
      for (const c of list) {
        const r = await this.attempt(c);
        if (r.status !== 'rejected') {
          this.confirmed++;
          progress = true;
        } else if (r.retryable) this.pending.push(c);
        else this.reject(r.code);
      }
      if (!progress) break;
    }
    for (const _ of this.pending) this.reject('UNKNOWN_BLOCK');
    this.pending = [];
  }
}
