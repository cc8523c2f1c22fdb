import { type Clock, type NodeRecord, NODE_RECORD_EXPIRY_MS, type NodeRole, nsToMs, parseNodeRecord } from '@xe/core-types';
import { verifyNodeRecord } from '@xe/crypto';
import { peerIdFromPubKeyHex } from './keys.js';
import { ACCEPT, ignore, reject, type ValidationResult } from './validation.js';

/** How far in the future a record's timestamp may be before it is refused. */
export const NODE_RECORD_MAX_FUTURE_MS = 5 * 60 * 1000;

export interface NodeRecordStoreOptions {
  networkId: string;
  expiryMs?: number;
}

interface Entry {
  record: NodeRecord;
  seenAtMs: number;
}

/** The latest valid record per address; entries expire when unseen for `expiryMs`. */
export class NodeRecordStore {
  private readonly entries = new Map<string, Entry>();
  private readonly expiryMs: number;

  constructor(
    private readonly options: NodeRecordStoreOptions,
    private readonly components: { clock: Clock },
  ) {
    this.expiryMs = options.expiryMs ?? NODE_RECORD_EXPIRY_MS;
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
    this.entries.set(record.address, { record, seenAtMs: this.nowMs() });
    return true;
  }

  get(address: string): NodeRecord | undefined {
    const e = this.entries.get(address);
    if (!e) return undefined;
    if (this.nowMs() - e.seenAtMs > this.expiryMs) {
      this.entries.delete(address);
      return undefined;
    }
    return e.record;
  }

  byPeerId(peerId: string): NodeRecord | undefined {
    for (const e of this.entries.values()) if (e.record.peer_id === peerId) return this.get(e.record.address);
    return undefined;
  }

  /** Unexpired records, newest first, optionally only those with `role`. */
  list(role?: NodeRole): NodeRecord[] {
    this.prune();
    const out = [...this.entries.values()].map((e) => e.record);
    return (role ? out.filter((r) => r.roles.includes(role)) : out).sort((a, b) => (a.timestamp > b.timestamp ? -1 : 1));
  }

  prune(): void {
    const now = this.nowMs();
    for (const [k, e] of this.entries) if (now - e.seenAtMs > this.expiryMs) this.entries.delete(k);
  }

  get size(): number {
    return this.entries.size;
  }
}
