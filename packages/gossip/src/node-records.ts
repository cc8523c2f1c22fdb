import { type Clock, type NodeRecord, NODE_RECORD_EXPIRY_MS, type NodeRole, nsToMs, parseNodeRecord } from '@xe/core-types';
import { verifyNodeRecord } from '@xe/crypto';
import { peerIdFromPubKeyHex } from './keys.js';
import { ACCEPT, ignore, reject, type ValidationResult } from './validation.js';

/** How far in the future a record's timestamp may be before it is refused. */
export const NODE_RECORD_MAX_FUTURE_MS = 5 * 60 * 1000;
/** Records held at most (default); past it the one unseen longest, of a peer not connected, makes room. */
export const NODE_RECORDS_MAX = 2000;
/** Multiaddrs a record may carry here, and their length (core-types allows 32 × 512). */
export const NODE_RECORD_MAX_ADDRS = 8;
export const NODE_RECORD_MAX_ADDR_CHARS = 256;

export interface NodeRecordStoreOptions {
  networkId: string;
  expiryMs?: number;
  maxRecords?: number;
}

interface Entry {
  record: NodeRecord;
  seenAtMs: number;
}

/** The latest valid record per address; entries expire when unseen for `expiryMs`. */
export class NodeRecordStore {
  private readonly entries = new Map<string, Entry>();
  private readonly byPeer = new Map<string, string>();
  private readonly expiryMs: number;
  /** `list()` sorted once per change, not on every call. */
  private sorted: NodeRecord[] | undefined;

  constructor(
    private readonly options: NodeRecordStoreOptions,
    private readonly components: { clock: Clock; isConnected?: (peerId: string) => boolean },
  ) {
    this.expiryMs = options.expiryMs ?? NODE_RECORD_EXPIRY_MS;
  }

  /** Whether the store holds a record of `address` (expired or not). */
  has(address: string): boolean {
    return this.entries.has(address);
  }

  private nowMs(): number {
    return nsToMs(this.components.clock());
  }

  /** Checks shape, signature, that the peer id is the key's, freshness. Returns the parsed record on ACCEPT. */
  validate(value: unknown): { result: ValidationResult; record?: NodeRecord } {
    let record: NodeRecord;
    try {
      record = parseNodeRecord(value);
    } catch {
      return { result: reject('invalid_shape') };
    }
    if (record.multiaddrs.length > NODE_RECORD_MAX_ADDRS || record.multiaddrs.some((m) => m.length > NODE_RECORD_MAX_ADDR_CHARS)) {
      return { result: reject('too_many_addrs') };
    }
    if (!verifyNodeRecord(record, this.options.networkId)) return { result: reject('bad_signature') };
    let peerId: string;
    try {
      peerId = peerIdFromPubKeyHex(record.pub_key);
    } catch {
      return { result: reject('bad_pub_key') };
    }
    if (peerId !== record.peer_id) return { result: reject('peer_id_mismatch') };
    const now = this.nowMs();
    const ts = Number(record.timestamp / 1_000_000n);
    if (ts > now + NODE_RECORD_MAX_FUTURE_MS) return { result: reject('future_timestamp') };
    if (ts < now - this.expiryMs) return { result: ignore('expired') };
    const known = this.entries.get(record.address);
    if (known && known.record.timestamp >= record.timestamp) return { result: ignore('stale') };
    return { result: ACCEPT, record };
  }

  /** Stores a record that passed `validate` if it is newer than the one held. True when stored. */
  put(record: NodeRecord): boolean {
    const known = this.entries.get(record.address);
    if (known && known.record.timestamp >= record.timestamp) {
      if (known.record.timestamp === record.timestamp) known.seenAtMs = this.nowMs();
      return false;
    }
    if (!known && this.entries.size >= (this.options.maxRecords ?? NODE_RECORDS_MAX) && !this.makeRoom()) return false;
    if (known) this.byPeer.delete(known.record.peer_id);
    this.entries.set(record.address, { record, seenAtMs: this.nowMs() });
    this.byPeer.set(record.peer_id, record.address);
    this.sorted = undefined;
    return true;
  }

  /** Frees one slot: expired records first, else the one unseen longest whose peer is not connected. */
  private makeRoom(): boolean {
    this.prune();
    if (this.entries.size < (this.options.maxRecords ?? NODE_RECORDS_MAX)) return true;
    const connected = this.components.isConnected ?? (() => false);
    let victim: string | undefined;
    let oldest = Number.POSITIVE_INFINITY;
    for (const [k, e] of this.entries) {
      if (e.seenAtMs < oldest && !connected(e.record.peer_id)) {
        oldest = e.seenAtMs;
        victim = k;
      }
    }
    if (victim === undefined) return false;
    this.delete(victim);
    return true;
  }

  private delete(address: string): void {
    const e = this.entries.get(address);
    if (!e) return;
    this.entries.delete(address);
    if (this.byPeer.get(e.record.peer_id) === address) this.byPeer.delete(e.record.peer_id);
    this.sorted = undefined;
  }

  get(address: string): NodeRecord | undefined {
    const e = this.entries.get(address);
    if (!e) return undefined;
    if (this.nowMs() - e.seenAtMs > this.expiryMs) {
      this.delete(address);
      return undefined;
    }
    return e.record;
  }

  byPeerId(peerId: string): NodeRecord | undefined {
    const address = this.byPeer.get(peerId);
    return address === undefined ? undefined : this.get(address);
  }

  /** Unexpired records, newest first, optionally only those with `role`. */
  list(role?: NodeRole): NodeRecord[] {
    this.prune();
    this.sorted ??= [...this.entries.values()].map((e) => e.record).sort((a, b) => (a.timestamp > b.timestamp ? -1 : 1));
    return role ? this.sorted.filter((r) => r.roles.includes(role)) : [...this.sorted];
  }

  prune(): void {
    const now = this.nowMs();
    for (const [k, e] of this.entries) if (now - e.seenAtMs > this.expiryMs) this.delete(k);
  }

  get size(): number {
    return this.entries.size;
  }
}
