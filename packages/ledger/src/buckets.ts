import { decodeHexInto, hexToBytes, type LeaseState, pooledBytes } from '@xe/core-types';

/**
 * Every key starts with one bucket byte. Numbers are listed here once and never reused;
 * a retired bucket keeps its number commented out.
 */
export const Bucket = {
  /** name (utf8) → value */
  META: 0x01,
  /** hash32 → u64 height · block JSON */
  BLOCK: 0x02,
  /** address32 → account record, binary (pub_key, frontier, height, balances, last timestamp) */
  ACCOUNT: 0x03,
  /** address32 · height u64 → hash32 */
  CHAIN: 0x04,
  /** destination32 · sendHash32 → pending receivable, binary */
  PENDING: 0x05,
  /** leaseHash32 → lease record JSON */
  LEASE: 0x06,
  /** stateByte · order8 → leaseHash32 */
  LEASE_BY_STATE: 0x07,
  /** provider32 · order8 → leaseHash32 */
  LEASE_BY_PROVIDER: 0x08,
  /** consumer32 · order8 → leaseHash32 */
  LEASE_BY_CONSUMER: 0x09,
  /** certHash32 → certificate JSON (kept forever) */
  CERTIFICATE: 0x0a,
  /** provider32 · certHash32 → (empty) */
  CERT_BY_PROVIDER: 0x0b,
  /** rejectedHash32 → conflict JSON */
  CONFLICT: 0x0c,
  /** assetByte → supply counters, binary */
  SUPPLY: 0x0d,
  /** order8 · leaseHash32 → (empty): all leases, oldest first */
  LEASE_ORDER: 0x0e,
  // finality (SPEC §12); see README "Finality"
  /** position · hash → (empty): a held candidate at a position (not applied) */
  CANDIDATE: 0x0f,
  /** position · representative32 → vote JSON (highest (round, timestamp)) */
  VOTE: 0x10,
  /** position → this node's lock JSON {block_hash, round} */
  LOCK: 0x11,
  /** blockHash32 → confirmation JSON */
  CONFIRMATION: 0x12,
  /** address32 → u64 confirmed height */
  CONFIRMED: 0x13,
  /** blockHash32 → undo record, binary (applied, unconfirmed blocks; JSON from earlier versions) */
  UNDO: 0x14,
  /** namedHash32 · dependentHash32 → (empty): unconfirmed blocks naming a block */
  DEPENDENT: 0x15,
  /** blockHash32 → held block JSON */
  HELD: 0x16,
} as const;

/**
 * Buckets whose content may differ between nodes that agree on the ledger: conflict
 * records, vote sets, locks, which quorum a confirmation holds, held candidates, undo
 * and dependency bookkeeping. `stateDigest(store, {exclude: FINALITY_LOCAL_BUCKETS})`
 * compares the agreed state (chains, balances, pending, leases, supply, confirmed heights).
 */
export const FINALITY_LOCAL_BUCKETS: readonly number[] = [
  Bucket.CONFLICT,
  Bucket.CANDIDATE,
  Bucket.VOTE,
  Bucket.LOCK,
  Bucket.CONFIRMATION,
  Bucket.UNDO,
  Bucket.DEPENDENT,
  Bucket.HELD,
];

export type BucketId = (typeof Bucket)[keyof typeof Bucket];

export const STATE_BYTES: Record<LeaseState, number> = {
  created: 1,
  accepted: 2,
  settled: 3,
  unfulfilled: 4,
  expired: 5,
  cancelled: 6,
};

export const ASSET_BYTES = { XE: 1, XUSD: 2 } as const;

const EMPTY = new Uint8Array(0);

/** `bucket ‖ parts…`; a string part is lowercase hex, decoded straight into the key. */
function key(bucket: number, ...parts: (Uint8Array | string)[]): Uint8Array {
  let len = 1;
  for (const p of parts) len += typeof p === 'string' ? p.length >>> 1 : p.length;
  // keys live as long as the batch they are written in (see pooledBytes)
  const out = pooledBytes(len);
  out[0] = bucket;
  let o = 1;
  for (const p of parts) {
    if (typeof p === 'string') {
      const n = p.length >>> 1;
      // what does not decode gets hexToBytes' coded error
      if (p.length % 2 !== 0 || !decodeHexInto(p, out, o, n)) hexToBytes(p);
      o += n;
    } else {
      out.set(p, o);
      o += p.length;
    }
  }
  return out;
}

export function u64Bytes(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v);
  return b;
}

export function readU64(b: Uint8Array, offset = 0): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(offset);
}

/** An int64 mapped to an order-preserving u64 (sign bit flipped). */
export function i64Ordered(v: bigint): Uint8Array {
  return u64Bytes(BigInt.asUintN(64, v) ^ (1n << 63n));
}

/** The order of a lease in its indexes: its block timestamp (then its hash, in the key). */
export function leaseOrder(timestamp: bigint): Uint8Array {
  return i64Ordered(timestamp);
}

/** META keys by name: a handful of fixed names, one written by every admitted block (the undo sequence). */
const metaKeys = new Map<string, Uint8Array>();
const META_KEYS_MAX = 64;

function metaKey(name: string): Uint8Array {
  let k = metaKeys.get(name);
  if (k === undefined) {
    // a copy of its own: kept for the process's life, it must not hold a pool slab (see key)
    k = key(Bucket.META, new TextEncoder().encode(name)).slice();
    if (metaKeys.size < META_KEYS_MAX) metaKeys.set(name, k);
  }
  return k;
}

export const keys = {
  meta: (name: string) => metaKey(name),
  block: (hash: string) => key(Bucket.BLOCK, hash),
  /** As `block`, from the hash's 32 bytes. */
  blockBytes: (hash: Uint8Array) => key(Bucket.BLOCK, hash),
  account: (address: string) => key(Bucket.ACCOUNT, address),
  chain: (address: string, height: bigint) => key(Bucket.CHAIN, address, u64Bytes(height)),
  chainPrefix: (address: string) => key(Bucket.CHAIN, address),
  /** The CHAIN key of a block's place (a BLOCK value: address32 · u64 height). */
  chainOfPlace: (place: Uint8Array) => key(Bucket.CHAIN, place),
  pending: (destination: string, sendHash: string) => key(Bucket.PENDING, destination, sendHash),
  pendingPrefix: (destination: string) => key(Bucket.PENDING, destination),
  lease: (hash: string) => key(Bucket.LEASE, hash),
  leaseByState: (state: LeaseState, order: Uint8Array, hash: string) =>
    key(Bucket.LEASE_BY_STATE, Uint8Array.of(STATE_BYTES[state]), order, hash),
  leaseByStatePrefix: (state: LeaseState) => key(Bucket.LEASE_BY_STATE, Uint8Array.of(STATE_BYTES[state])),
  leaseByProvider: (provider: string, order: Uint8Array, hash: string) => key(Bucket.LEASE_BY_PROVIDER, provider, order, hash),
  leaseByProviderPrefix: (provider: string) => key(Bucket.LEASE_BY_PROVIDER, provider),
  leaseByConsumer: (consumer: string, order: Uint8Array, hash: string) => key(Bucket.LEASE_BY_CONSUMER, consumer, order, hash),
  leaseByConsumerPrefix: (consumer: string) => key(Bucket.LEASE_BY_CONSUMER, consumer),
  leaseOrder: (order: Uint8Array, hash: string) => key(Bucket.LEASE_ORDER, order, hash),
  certificate: (hash: string) => key(Bucket.CERTIFICATE, hash),
  certByProvider: (provider: string, hash: string) => key(Bucket.CERT_BY_PROVIDER, provider, hash),
  certByProviderPrefix: (provider: string) => key(Bucket.CERT_BY_PROVIDER, provider),
  conflict: (hash: string) => key(Bucket.CONFLICT, hash),
  supply: (asset: keyof typeof ASSET_BYTES) => key(Bucket.SUPPLY, Uint8Array.of(ASSET_BYTES[asset])),
  bucket: (bucket: number) => key(bucket, EMPTY),
  candidate: (position: Uint8Array, hash: string) => key(Bucket.CANDIDATE, position, hash),
  candidatePrefix: (position: Uint8Array) => key(Bucket.CANDIDATE, position),
  vote: (position: Uint8Array, representative: string) => key(Bucket.VOTE, position, representative),
  votePrefix: (position: Uint8Array) => key(Bucket.VOTE, position),
  lock: (position: Uint8Array) => key(Bucket.LOCK, position),
  confirmation: (hash: string) => key(Bucket.CONFIRMATION, hash),
  confirmed: (address: string) => key(Bucket.CONFIRMED, address),
  undo: (hash: string) => key(Bucket.UNDO, hash),
  dependent: (named: string, dependent: string) => key(Bucket.DEPENDENT, named, dependent),
  dependentPrefix: (named: string) => key(Bucket.DEPENDENT, named),
  held: (hash: string) => key(Bucket.HELD, hash),
};

/** The exclusive upper bound of all keys starting with `prefix`. */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const out = prefix.slice();
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]! < 0xff) {
      out[i]!++;
      return out.subarray(0, i + 1);
    }
  }
  // all 0xff: cannot happen for our prefixes (bucket bytes are < 0xff)
  return Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
}

/** gte/lt bounds of a prefix scan. */
export function prefixRange(prefix: Uint8Array): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: prefix, lt: prefixEnd(prefix) };
}
