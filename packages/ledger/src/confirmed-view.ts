import { type AbortOptions, bytesToHex, type Hash, XeError } from '@xe/core-types';
import { Bucket, keys, leaseOrder, prefixRange } from './buckets.js';
import { decodeAccount, decodeJson, decodePending, decodeUndo } from './codec.js';
import { isHash, signalOf } from './hex.js';
import type { Ledger } from './ledger.js';
import { UndoRepo } from './repos/undo.js';
import type { Balances, LeaseFilter, LeasePage, LeaseRecord, PendingSend, ProviderUsage } from './types.js';

/** An account as its confirmed frontier left it (SPEC §12: the API serves confirmed state). */
export interface ConfirmedAccount {
  address: string;
  /** the newest confirmed block ('0': none of the account's blocks is confirmed) */
  frontier: Hash | '0';
  /** its height (0: none) */
  height: bigint;
  balances: Balances;
  /** per asset: confirmed sends to the account that no confirmed receive took */
  pending: Balances;
}

/** An account's confirmed balances beside its head, and what it may spend. */
export interface ConfirmedBalances {
  address: string;
  frontier: Hash | '0';
  height: bigint;
  /** as the newest confirmed block left them */
  balances: Balances;
  /** per asset the smaller of `balances` and the head's: an unconfirmed credit does not count yet, an unconfirmed debit already does */
  spendable: Balances;
  /** the chain as applied */
  head: { frontier: Hash; height: bigint; balances: Balances };
}

/** Times a read is retried when a confirmation or rollback lands between its reads. */
const READ_ATTEMPTS = 5;
/** Unconfirmed blocks a lease listing looks through at most (each has an undo record). */
export const MAX_UNCONFIRMED_SCANNED = 100_000;
/** Chain blocks above the confirmed frontier read per page while summing pending sends. */
const CHAIN_PAGE = 1000;

const zero = (): Balances => ({ XE: 0n, XUSD: 0n });
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

function matches(l: LeaseRecord, f: LeaseFilter): boolean {
  return (
    (f.state === undefined || l.state === f.state) &&
    (f.provider === undefined || l.provider === f.provider) &&
    (f.consumer === undefined || l.consumer === f.consumer)
  );
}

/** A lease's place in the lease indexes, as hex: order8 · hash32 (sorts as the keys do). */
function orderKey(l: LeaseRecord): string {
  return bytesToHex(leaseOrder(l.timestamp)) + l.hash;
}

function busy(what: string): XeError {
  return new XeError('CONFIRMED_VIEW_BUSY', `${what}: the confirmed state moved during the read; retry`, { retryable: true });
}

/**
 * The ledger's confirmed state, read-only (SPEC §12: "balances, leases and providers
 * served by the API come from confirmed blocks"). The ledger applies the first valid
 * candidate at once, so its heads run ahead of confirmation; each applied, unconfirmed
 * block keeps an undo record with the before-images of everything it wrote. The state a
 * confirmed block left is therefore the before-image in the undo record of the first
 * unconfirmed block after it — exact, including what no block of the asset shows (a
 * settle's stake). Without finality every stored block counts as confirmed and this view
 * is the ledger's own state.
 */
export class ConfirmedView {
  private readonly undo: UndoRepo;

  constructor(private readonly ledger: Ledger) {
    this.undo = new UndoRepo(ledger.storage);
  }

  /**
   * The account at its confirmed frontier; undefined when the account has no blocks at
   * all. An account whose blocks are all unconfirmed answers frontier '0', height 0, zeros.
   */
  async account(address: string, options: AbortOptions = {}): Promise<ConfirmedAccount | undefined> {
    const c = await this.balances(address, options);
    if (c === undefined) return undefined;
    const pending = await this.pendingTotals(address, c.height, options);
    return { address, frontier: c.frontier, height: c.height, balances: c.balances, pending };
  }

  /**
   * The account's confirmed balances, its head, and what it may spend (the one balance
   * read of spending checks: the API's `spendable`, marketplace admission). Undefined when
   * the account has no blocks; zeros while none of them is confirmed.
   */
  async balances(address: string, options: AbortOptions = {}): Promise<ConfirmedBalances | undefined> {
    if (!isHash(address)) return undefined;
    const { ledger } = this;
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const head = await ledger.getAccount(address);
      if (head === undefined) return undefined;
      const confirmed = await ledger.confirmedFrontier(address);
      const height = confirmed?.height ?? 0n;
      const frontier = confirmed?.frontier ?? '0';
      let balances: Balances;
      if (height > head.height || (height === head.height && head.frontier !== frontier)) continue; // blocks arrived between the reads
      if (height === head.height) {
        balances = head.balances;
      } else {
        const [next] = await ledger.blocksAfter(address, height, 1, options);
        if (next === undefined || next.previous !== frontier) continue; // rolled back or confirmed meanwhile
        const before = await this.beforeImage(next.hash, keys.account(address));
        if (before === undefined) continue;
        balances = before === null ? zero() : decodeAccount(before).balances;
      }
      const spendable = { XE: min(balances.XE, head.balances.XE), XUSD: min(balances.XUSD, head.balances.XUSD) };
      return {
        address,
        frontier,
        height,
        balances: { ...balances },
        spendable,
        head: { frontier: head.frontier, height: head.height, balances: { ...head.balances } },
      };
    }
    throw busy(`account ${address}`);
  }

  /**
   * Sends to `address` its head can receive and whose send block is confirmed, in key
   * order, at most `limit` (what a wallet or auto-receive may take).
   */
  async receivable(address: string, options: { limit?: number } & AbortOptions = {}): Promise<PendingSend[]> {
    if (!isHash(address)) return [];
    if (!this.ledger.finalityEnabled) return this.ledger.pendingFor(address, options);
    const limit = options.limit ?? Number.MAX_SAFE_INTEGER;
    const out: PendingSend[] = [];
    if (limit <= 0) return out;
    for await (const [, v] of this.ledger.storage.range({ ...prefixRange(keys.pendingPrefix(address)), ...signalOf(options) })) {
      const p = decodePending(v);
      if (!(await this.ledger.isConfirmed(p.hash))) continue;
      out.push(p);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Confirmed sends to `address` no confirmed receive took, per asset, as of its confirmed `height`. */
  private async pendingTotals(address: string, height: bigint, options: AbortOptions): Promise<Balances> {
    const totals = zero();
    for (const p of await this.receivable(address, options)) totals[p.asset] += p.amount;
    // sends taken by the account's unconfirmed receives are still pending in the confirmed state
    for (let from = height; ; ) {
      const page = await this.ledger.blocksAfter(address, from, CHAIN_PAGE, options);
      for (const b of page) {
        if (b.type !== 'receive' || b.source === undefined) continue;
        const send = await this.ledger.getBlock(b.source);
        if (send?.type === 'send' && (await this.ledger.isConfirmed(send.hash))) totals[send.asset] += send.amount;
      }
      if (page.length < CHAIN_PAGE) break;
      from += BigInt(page.length);
    }
    return totals;
  }

  /**
   * The lease as its confirmed transitions left it: undefined when the lease block itself
   * is not confirmed (or unknown); an accept, cancel, settle or force-settle not confirmed
   * yet leaves the record as it was before it.
   */
  async lease(hash: string): Promise<LeaseRecord | undefined> {
    if (!isHash(hash)) return undefined;
    if (!this.ledger.finalityEnabled) return this.ledger.getLease(hash);
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const head = await this.ledger.getLease(hash);
      if (head === undefined) return undefined;
      const r = await this.confirmedRecord(head);
      if (r !== 'moved') return r ?? undefined;
    }
    throw busy(`lease ${hash}`);
  }

  /** The confirmed version of a head record: null when its lease block is unconfirmed; 'moved' on a race. */
  private async confirmedRecord(head: LeaseRecord): Promise<LeaseRecord | null | 'moved'> {
    const { ledger } = this;
    const first = head.accept_hash ?? head.cancel_hash;
    const second = head.settle_hash ?? head.force_settle_hash;
    const newest = second ?? first ?? head.hash;
    // a confirmation covers everything below it (SPEC §12 dependency rule)
    if (await ledger.isConfirmed(newest)) return head;
    if (!(await ledger.isConfirmed(head.hash))) return null;
    const step = first !== undefined && !(await ledger.isConfirmed(first)) ? first : second;
    if (step === undefined) return 'moved';
    const before = await this.beforeImage(step, keys.lease(head.hash));
    if (before === undefined) return 'moved';
    return before === null ? null : decodeJson<LeaseRecord>(before);
  }

  /** The value `key` had before unconfirmed block `hash` was applied; undefined when it has no undo record (confirmed or dropped since). */
  private async beforeImage(hash: string, key: Uint8Array): Promise<Uint8Array | null | undefined> {
    const undo = await this.undo.get(hash);
    if (undo === undefined) return undefined;
    const entry = undo.writes.find(([w]) => Buffer.compare(w, key) === 0);
    if (entry === undefined) return undefined;
    return entry[1];
  }

  /**
   * Leases whose record an unconfirmed block wrote, with their confirmed record (null: the
   * lease block itself is unconfirmed): the before-image of the earliest such block.
   */
  private async unconfirmedLeases(options: AbortOptions): Promise<Map<string, LeaseRecord | null>> {
    const out = new Map<string, LeaseRecord | null>();
    if (!this.ledger.finalityEnabled) return out;
    const earliest = new Map<string, { seq: bigint; before: Uint8Array | null }>();
    let n = 0;
    for await (const [, v] of this.ledger.storage.range({ ...prefixRange(keys.bucket(Bucket.UNDO)), ...signalOf(options) })) {
      if (++n > MAX_UNCONFIRMED_SCANNED) throw busy(`more than ${MAX_UNCONFIRMED_SCANNED} unconfirmed blocks`);
      const rec = decodeUndo(v);
      for (const [k, before] of rec.writes) {
        if (k.length !== 33 || k[0] !== Bucket.LEASE) continue;
        const hash = bytesToHex(k.subarray(1));
        const seen = earliest.get(hash);
        if (seen === undefined || rec.seq < seen.seq) earliest.set(hash, { seq: rec.seq, before });
      }
    }
    for (const [hash, { before }] of earliest) out.set(hash, before === null ? null : decodeJson<LeaseRecord>(before));
    return out;
  }

  /** As `Ledger.listLeases` (oldest first, paged), over the confirmed lease records. */
  async listLeases(page: LeasePage = {}, options: AbortOptions = {}): Promise<LeaseRecord[]> {
    const { ledger } = this;
    if (!ledger.finalityEnabled) return ledger.listLeases(page, options);
    if ((page.provider !== undefined && !isHash(page.provider)) || (page.consumer !== undefined && !isHash(page.consumer))) return [];
    const offset = Math.max(0, page.offset ?? 0);
    const limit = Math.max(0, page.limit ?? 100);
    const out: LeaseRecord[] = [];
    if (limit === 0) return out;
    const unconfirmed = await this.unconfirmedLeases(options);
    const { prefix, exact } = indexOf(page);
    const stateIndex = page.state !== undefined && page.provider === undefined && page.consumer === undefined;
    // leases the state index does not list under the asked state although their confirmed record is in it
    const extra: { key: string; rec: LeaseRecord }[] = [];
    if (stateIndex) {
      for (const [hash, rec] of unconfirmed) {
        if (rec === null || !matches(rec, page)) continue;
        const head = await ledger.getLease(hash);
        if (head !== undefined && head.state !== page.state) extra.push({ key: orderKey(rec), rec });
      }
      extra.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    }
    let pos = 0;
    let e = 0;
    const take = (rec: LeaseRecord): void => {
      if (pos++ >= offset && out.length < limit) out.push(rec);
    };
    /** A head record read from an index: checked again (a block may have been applied after the scan). */
    const takeHead = async (head: LeaseRecord): Promise<void> => {
      if (pos < offset) {
        pos++;
        return;
      }
      const r = await this.confirmedRecord(head);
      if (r === head) take(head);
      else if (r !== null && r !== 'moved' && matches(r, page)) take(r);
    };
    for await (const [k] of ledger.storage.range({ ...prefixRange(prefix), ...signalOf(options) })) {
      if (out.length >= limit) break;
      const tail = bytesToHex(k.subarray(k.length - 40));
      while (e < extra.length && extra[e]!.key < tail && out.length < limit) take(extra[e++]!.rec);
      const hash = tail.slice(16);
      if (unconfirmed.has(hash)) {
        const rec = unconfirmed.get(hash)!;
        if (rec !== null && matches(rec, page)) take(rec);
        continue;
      }
      if (exact && pos < offset) {
        pos++;
        continue;
      }
      const head = await ledger.getLease(hash);
      if (head === undefined || !matches(head, page)) continue;
      await takeHead(head);
    }
    while (e < extra.length && out.length < limit) take(extra[e++]!.rec);
    return out;
  }

  /** As `Ledger.countLeases`, over the confirmed lease records. */
  async countLeases(filter: LeaseFilter = {}, options: AbortOptions = {}): Promise<number> {
    let n = await this.ledger.countLeases(filter, options);
    for (const [hash, rec] of await this.unconfirmedLeases(options)) {
      const head = await this.ledger.getLease(hash);
      if (head !== undefined && matches(head, filter)) n--;
      if (rec !== null && matches(rec, filter)) n++;
    }
    return n;
  }

  /** Resources held by the provider's leases whose confirmed state is `accepted`. */
  async providerUsage(address: string, options: AbortOptions = {}): Promise<ProviderUsage> {
    const u: ProviderUsage = { vcpus: 0, memory_mb: 0, disk_gb: 0, active_leases: 0 };
    for (const l of await this.listLeases({ provider: address, state: 'accepted', limit: Number.MAX_SAFE_INTEGER }, options)) {
      u.vcpus += Number(l.vcpus);
      u.memory_mb += Number(l.memory_mb);
      u.disk_gb += Number(l.disk_gb);
      u.active_leases++;
    }
    return u;
  }
}

/** The lease index a filter reads (as LeaseRepo), and whether the index alone decides a match. */
function indexOf(f: LeaseFilter): { prefix: Uint8Array; exact: boolean } {
  if (f.provider !== undefined) return { prefix: keys.leaseByProviderPrefix(f.provider), exact: f.state === undefined && f.consumer === undefined };
  if (f.consumer !== undefined) return { prefix: keys.leaseByConsumerPrefix(f.consumer), exact: f.state === undefined };
  if (f.state !== undefined) return { prefix: keys.leaseByStatePrefix(f.state), exact: true };
  return { prefix: keys.bucket(Bucket.LEASE_ORDER), exact: true };
}
