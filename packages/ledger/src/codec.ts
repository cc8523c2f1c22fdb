import { type Asset, type Block, decodeHexInto, hexToBytes, latin1, parseJson, pooledBytes, stringifyJson } from '@xe/core-types';
import type { AccountState, PendingSend, SupplyCounters, UndoRecord } from './types.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

export function decodeJson<T>(bytes: Uint8Array): T {
  return parseJson(dec.decode(bytes)) as T;
}

/**
 * A chain entry (CHAIN value): the block's 32-byte hash, then its JSON (the same text as
 * `stringifyJson`). The height is the key's.
 */
export function encodeChainEntry(digest: Uint8Array, block: Block): Uint8Array {
  const w = jsonWriter;
  w.at = CHAIN_ENTRY_JSON;
  w.value(block);
  const out = w.copy();
  out.set(digest.subarray(0, CHAIN_ENTRY_JSON), 0);
  return out;
}

/**
 * A record as JSON bytes: the UTF-8 of the text `stringifyJson` prints for `value`
 * (core-types codec: integers round-trip exactly as bigint).
 */
export function encodeJson(value: unknown): Uint8Array {
  const w = jsonWriter;
  w.at = 0;
  w.value(value);
  return w.copy();
}

const Q = 0x22;
const KEY_CACHE_MAX = 512;

/**
 * Writes JSON as `stringifyJson` prints it (bigint as plain digits, `toJSON` honoured,
 * undefined/function/symbol members skipped) straight into one reused buffer: a block is
 * encoded once per admission, and building its text by concatenation cost more than
 * checking it. Strings that need no escaping (all printable ASCII without `"` or `\`,
 * as every hex field is) are copied byte by byte; any other string goes through
 * `JSON.stringify`, the same function `stringifyJson` uses.
 */
class JsonWriter {
  buf = new Uint8Array(4096);
  at = 0;
  /** `"key":` as bytes, for the keys seen (blocks use a few dozen) */
  private readonly keys = new Map<string, Uint8Array>();

  /**
   * The bytes written, copied out into a shared slab (`pooledBytes`): cheaper for a small
   * record than an ArrayBuffer of its own.
   */
  copy(): Uint8Array {
    const out = pooledBytes(this.at);
    out.set(this.buf.subarray(0, this.at));
    return out;
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.at + n));
    next.set(this.buf.subarray(0, this.at));
    this.buf = next;
  }

  private byte(b: number): void {
    this.room(1);
    this.buf[this.at++] = b;
  }

  /** Text known to be ASCII (digits, literals). */
  private ascii(s: string): void {
    this.room(s.length);
    const buf = this.buf;
    let at = this.at;
    for (let i = 0; i < s.length; i++) buf[at++] = s.charCodeAt(i);
    this.at = at;
  }

  /** Any text, as UTF-8. */
  private text(s: string): void {
    this.room(s.length * 3);
    this.at += enc.encodeInto(s, this.buf.subarray(this.at)).written;
  }

  private string(s: string): void {
    const n = s.length;
    this.room(n + 2);
    const buf = this.buf;
    const start = this.at;
    let at = start;
    buf[at++] = Q;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === Q || c === 0x5c) {
        this.at = start;
        this.text(JSON.stringify(s));
        return;
      }
      buf[at++] = c;
    }
    buf[at++] = Q;
    this.at = at;
  }

  private key(k: string): void {
    let b = this.keys.get(k);
    if (b === undefined) {
      b = enc.encode(`${JSON.stringify(k)}:`);
      if (this.keys.size < KEY_CACHE_MAX) this.keys.set(k, b);
    }
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }

  value(v: unknown): void {
    switch (typeof v) {
      case 'string':
        this.string(v);
        return;
      case 'bigint':
        this.ascii(v.toString());
        return;
      case 'object':
        break;
      default:
        this.text(stringifyJson(v));
        return;
    }
    if (v === null) {
      this.ascii('null');
      return;
    }
    if (typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      this.text(stringifyJson(v));
      return;
    }
    if (Array.isArray(v)) {
      this.byte(0x5b);
      for (let i = 0; i < v.length; i++) {
        if (i > 0) this.byte(0x2c);
        const item = v[i];
        if (item === undefined || typeof item === 'function') this.ascii('null');
        else this.value(item);
      }
      this.byte(0x5d);
      return;
    }
    this.byte(0x7b);
    let first = true;
    const keys = Object.keys(v);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const m = (v as Record<string, unknown>)[k];
      if (m === undefined || typeof m === 'function' || typeof m === 'symbol') continue;
      if (!first) this.byte(0x2c);
      first = false;
      this.key(k);
      this.value(m);
    }
    this.byte(0x7d);
  }
}

const jsonWriter = new JsonWriter();

export interface StoredBlock {
  height: bigint;
  block: Block;
}

/** Where the JSON starts in a chain entry (after the hash). */
const CHAIN_ENTRY_JSON = 32;

export function decodeChainEntry(bytes: Uint8Array): { digest: Uint8Array; block: Block } {
  return { digest: bytes.subarray(0, CHAIN_ENTRY_JSON), block: parseJson(dec.decode(chainEntryJson(bytes))) as unknown as Block };
}

/** The block's JSON (UTF-8) inside a chain entry. */
export function chainEntryJson(bytes: Uint8Array): Uint8Array {
  return bytes.subarray(CHAIN_ENTRY_JSON);
}

/** What sync needs of a stored block besides its JSON: how to order it, which certificate it names. */
export interface StoredBlockSummary {
  /** the UTF-8 of the block's JSON, as stored */
  json: Uint8Array;
  type: string;
  timestamp: bigint;
  /** a lease's or lease_accept's certificate */
  certificateHash?: string;
}

/**
 * The block's type, timestamp and certificate hash read from its stored JSON by a scan of
 * the top-level members (nested values are skipped, not built): serving sync reads
 * thousands of blocks and needs only these. Stored JSON is this ledger's own output; a
 * text the scan does not expect is parsed whole instead.
 */
export function summarizeChainEntry(bytes: Uint8Array): StoredBlockSummary {
  const json = chainEntryJson(bytes);
  const at = scanSummary(json);
  const timestamp = at === undefined ? '' : latin1(json, at[2], at[3]);
  if (at === undefined || !/^-?\d{1,20}$/.test(timestamp)) {
    const { block } = decodeChainEntry(bytes);
    const cert = (block as { certificate_hash?: string }).certificate_hash;
    return { json, type: block.type, timestamp: block.timestamp, ...(cert === undefined ? {} : { certificateHash: cert }) };
  }
  const type = latin1(json, at[0], at[1]);
  return at[4] < 0 ? { json, type, timestamp: BigInt(timestamp) } : { json, type, timestamp: BigInt(timestamp), certificateHash: latin1(json, at[4], at[5]) };
}

const KEY_TYPE = enc.encode('type');
const KEY_TIMESTAMP = enc.encode('timestamp');
const KEY_CERTIFICATE = enc.encode('certificate_hash');

function isKey(b: Uint8Array, from: number, to: number, key: Uint8Array): boolean {
  if (to - from !== key.length) return false;
  for (let i = 0; i < key.length; i++) if (b[from + i] !== key[i]) return false;
  return true;
}

/**
 * Where the top-level `type` (a string), `timestamp` (a literal) and `certificate_hash`
 * (a string; -1 when absent) of a JSON object lie, as [from, to) pairs of `b`; strings
 * are given without their quotes and only when they hold no escape. Undefined when the
 * text is not an object the scan can walk or lacks `type` or `timestamp`. Strings are
 * skipped with `indexOf` (no byte loop in JS for the hex that makes up most of a block).
 */
function scanSummary(b: Uint8Array): [number, number, number, number, number, number] | undefined {
  const n = b.length;
  const at: [number, number, number, number, number, number] = [-1, -1, -1, -1, -1, -1];
  let i = 0;
  if (b[i++] !== 0x7b) return undefined;
  if (b[i] !== 0x7d) {
    for (;;) {
      if (b[i] !== Q) return undefined;
      const keyEnd = stringEnd(b, i);
      if (keyEnd < 0 || b[keyEnd + 1] !== 0x3a) return undefined;
      const keyFrom = i + 1;
      i = keyEnd + 2;
      const c = b[i];
      if (c === Q) {
        const end = stringEnd(b, i);
        if (end < 0) return undefined;
        const slot: number = isKey(b, keyFrom, keyEnd, KEY_TYPE) ? 0 : isKey(b, keyFrom, keyEnd, KEY_CERTIFICATE) ? 4 : -1;
        if (slot >= 0) {
          if (b.subarray(i + 1, end).includes(0x5c)) return undefined;
          at[slot] = i + 1;
          at[slot + 1] = end;
        }
        i = end + 1;
      } else if (c === 0x7b || c === 0x5b) {
        i = containerEnd(b, i);
        if (i < 0) return undefined;
      } else {
        const from = i;
        while (i < n && b[i] !== 0x2c && b[i] !== 0x7d) i++;
        if (isKey(b, keyFrom, keyEnd, KEY_TIMESTAMP)) {
          at[2] = from;
          at[3] = i;
        }
      }
      if (b[i] === 0x7d) break;
      if (b[i] !== 0x2c) return undefined;
      i++;
    }
  }
  if (i !== n - 1 || at[0] < 0 || at[2] < 0) return undefined;
  return at;
}

/** Index of the quote closing the string that opens at `i`, or -1. */
function stringEnd(b: Uint8Array, i: number): number {
  let j = i + 1;
  for (;;) {
    j = b.indexOf(Q, j);
    if (j < 0) return -1;
    // escaped when an odd number of backslashes precede it
    let k = j - 1;
    while (b[k] === 0x5c) k--;
    if ((j - 1 - k) % 2 === 0) return j;
    j++;
  }
}

/** Index just past the object or array that opens at `i`, or -1. */
function containerEnd(b: Uint8Array, i: number): number {
  let depth = 0;
  for (let j = i; j < b.length; j++) {
    const c = b[j];
    if (c === Q) {
      j = stringEnd(b, j);
      if (j < 0) return -1;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return j + 1;
    }
  }
  return -1;
}

// ---------------------------------------------------------------- binary records
//
// Account heads, supply counters and pending sends are written on nearly every block, so
// they are stored in a compact binary form instead of JSON. The first byte tells the forms
// apart: a JSON record starts with '{' (0x7b), a binary record with its tag. A value the
// binary form cannot hold exactly (a field that is not lowercase 32-byte hex, an integer
// outside u64/i64, an unexpected member) is stored as JSON, so every record round-trips
// exactly.

const JSON_OPEN = 0x7b;
const TAG_ACCOUNT = 0x01;
const TAG_SUPPLY = 0x02;
const TAG_PENDING = 0x03;
const U64_LIMIT = 1n << 64n;
const I64_LOW = -(1n << 63n);
const I64_LIMIT = 1n << 63n;
const HEX = '0123456789abcdef';
const ASSET_CODES: Record<string, number> = { XE: 1, XUSD: 2 };

function readHash(b: Uint8Array, offset: number): string {
  let s = '';
  for (let i = offset; i < offset + 32; i++) s += HEX[b[i]! >> 4]! + HEX[b[i]! & 15]!;
  return s;
}

const isU64 = (v: unknown): v is bigint => typeof v === 'bigint' && v >= 0n && v < U64_LIMIT;
const isI64 = (v: unknown): v is bigint => typeof v === 'bigint' && v >= I64_LOW && v < I64_LIMIT;

function memberCount(o: object): number {
  let n = 0;
  for (const _ in o) n++;
  return n;
}

/**
 * AccountState: tag · address32 · pub_key32 · frontier flag (0: '0'; 1: hash32 follows) ·
 * height u64 · balances XE u64, XUSD u64 · last_timestamp i64.
 */
export function encodeAccount(a: AccountState): Uint8Array {
  const b = a.balances;
  const hasFrontier = a.frontier !== '0';
  const o = hasFrontier ? 98 : 66;
  // its own bytes, not pooled: the account cache keeps each head's bytes as long as the head
  const out = new Uint8Array(o + 32);
  const binary =
    memberCount(a) === 6 &&
    typeof b === 'object' &&
    b !== null &&
    memberCount(b) === 2 &&
    isU64(a.height) &&
    isU64(b.XE) &&
    isU64(b.XUSD) &&
    isI64(a.last_timestamp) &&
    decodeHexInto(a.address, out, 1, 32) &&
    decodeHexInto(a.pub_key, out, 33, 32) &&
    (!hasFrontier || decodeHexInto(a.frontier, out, 66, 32));
  if (!binary) return encodeJson(a);
  out[0] = TAG_ACCOUNT;
  out[65] = hasFrontier ? 1 : 0;
  const view = new DataView(out.buffer, out.byteOffset, out.length);
  view.setBigUint64(o, a.height);
  view.setBigUint64(o + 8, b.XE);
  view.setBigUint64(o + 16, b.XUSD);
  view.setBigInt64(o + 24, a.last_timestamp);
  return out;
}

export function decodeAccount(bytes: Uint8Array): AccountState {
  if (bytes[0] === JSON_OPEN) return decodeJson<AccountState>(bytes);
  const hasFrontier = bytes[65] === 1;
  const o = hasFrontier ? 98 : 66;
  if (bytes[0] !== TAG_ACCOUNT || bytes.length !== o + 32) throw new Error('account record: bad encoding');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    address: readHash(bytes, 1),
    pub_key: readHash(bytes, 33),
    frontier: hasFrontier ? readHash(bytes, 66) : '0',
    height: view.getBigUint64(o),
    balances: { XE: view.getBigUint64(o + 8), XUSD: view.getBigUint64(o + 16) },
    last_timestamp: view.getBigInt64(o + 24),
  };
}

const SUPPLY_FIELDS = ['genesis', 'emitted', 'burned', 'forfeited', 'locked', 'pending'] as const;

/** SupplyCounters: tag · genesis, emitted, burned, forfeited, locked, pending, each u64. */
export function encodeSupply(s: SupplyCounters): Uint8Array {
  const binary =
    memberCount(s) === 6 &&
    isU64(s.genesis) &&
    isU64(s.emitted) &&
    isU64(s.burned) &&
    isU64(s.forfeited) &&
    isU64(s.locked) &&
    isU64(s.pending);
  if (!binary) return encodeJson(s);
  const out = new Uint8Array(49);
  const view = new DataView(out.buffer);
  out[0] = TAG_SUPPLY;
  view.setBigUint64(1, s.genesis);
  view.setBigUint64(9, s.emitted);
  view.setBigUint64(17, s.burned);
  view.setBigUint64(25, s.forfeited);
  view.setBigUint64(33, s.locked);
  view.setBigUint64(41, s.pending);
  return out;
}

export function decodeSupply(bytes: Uint8Array): SupplyCounters {
  if (bytes[0] === JSON_OPEN) return decodeJson<SupplyCounters>(bytes);
  if (bytes[0] !== TAG_SUPPLY || bytes.length !== 49) throw new Error('supply record: bad encoding');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    genesis: view.getBigUint64(1),
    emitted: view.getBigUint64(9),
    burned: view.getBigUint64(17),
    forfeited: view.getBigUint64(25),
    locked: view.getBigUint64(33),
    pending: view.getBigUint64(41),
  };
}

/** PendingSend: tag · hash32 · from32 · to32 · asset byte (1 XE, 2 XUSD) · amount u64. */
export function encodePending(p: PendingSend): Uint8Array {
  const out = pooledBytes(106);
  const asset = Object.hasOwn(ASSET_CODES, p.asset) ? ASSET_CODES[p.asset]! : 0;
  const binary =
    memberCount(p) === 5 &&
    asset !== 0 &&
    isU64(p.amount) &&
    decodeHexInto(p.hash, out, 1, 32) &&
    decodeHexInto(p.from, out, 33, 32) &&
    decodeHexInto(p.to, out, 65, 32);
  if (!binary) return encodeJson(p);
  out[0] = TAG_PENDING;
  out[97] = asset;
  new DataView(out.buffer, out.byteOffset, out.length).setBigUint64(98, p.amount);
  return out;
}

export function decodePending(bytes: Uint8Array): PendingSend {
  if (bytes[0] === JSON_OPEN) return decodeJson<PendingSend>(bytes);
  if (bytes[0] !== TAG_PENDING || bytes.length !== 106 || (bytes[97] !== 1 && bytes[97] !== 2)) {
    throw new Error('pending record: bad encoding');
  }
  return {
    hash: readHash(bytes, 1),
    from: readHash(bytes, 33),
    to: readHash(bytes, 65),
    asset: bytes[97] === 1 ? 'XE' : 'XUSD',
    amount: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(98),
  };
}

// ---------------------------------------------------------------- undo records
//
// An undo record holds the before-image of every key its block wrote, so it is written
// with every unconfirmed block: binary, the images as they are. Layout: TAG_UNDO, u64 seq,
// u32 write count, then per write u16 key length, key, u32 value length (ABSENT: the key
// did not exist), value; the rest is the supply deltas as JSON. Records written as JSON
// (hex keys and values) by earlier versions are still read.

const TAG_UNDO = 0x04;
const ABSENT = 0xffffffff;

/** Supply deltas as JSON: assets with a change only, and in each only the counters that changed. */
function supplyDeltasJson(supply: UndoRecord['supply']): string {
  let s = '[';
  for (const [asset, d] of supply) {
    let fields = '';
    for (const k of SUPPLY_FIELDS) if (d[k] !== 0n) fields += `${fields === '' ? '' : ','}"${k}":${d[k]}`;
    if (fields !== '') s += `${s === '[' ? '' : ','}[${JSON.stringify(asset)},{${fields}}]`;
  }
  return `${s}]`;
}

/** Supply deltas read back: a counter left out did not change. */
function supplyDeltasOf(parsed: [Asset, Partial<SupplyCounters>][]): UndoRecord['supply'] {
  return parsed.map(([asset, d]) => [asset, Object.fromEntries(SUPPLY_FIELDS.map((k) => [k, d[k] === undefined ? 0n : BigInt(d[k])])) as unknown as SupplyCounters]);
}

export function encodeUndo(record: UndoRecord): Uint8Array {
  // ASCII (asset names, counter names, digits): written a char per byte, straight into the record
  const supply = supplyDeltasJson(record.supply);
  let size = 1 + 8 + 4 + supply.length;
  for (const [k, v] of record.writes) size += 2 + k.length + 4 + (v === null ? 0 : v.length);
  const out = pooledBytes(size);
  const view = new DataView(out.buffer, out.byteOffset, size);
  out[0] = TAG_UNDO;
  view.setBigUint64(1, BigInt.asUintN(64, record.seq));
  view.setUint32(9, record.writes.length);
  let o = 13;
  for (const [k, v] of record.writes) {
    view.setUint16(o, k.length);
    out.set(k, o + 2);
    o += 2 + k.length;
    if (v === null) view.setUint32(o, ABSENT);
    else {
      view.setUint32(o, v.length);
      out.set(v, o + 4);
    }
    o += 4 + (v === null ? 0 : v.length);
  }
  for (let i = 0; i < supply.length; i++) out[o + i] = supply.charCodeAt(i);
  return out;
}

export function decodeUndo(bytes: Uint8Array): UndoRecord {
  if (bytes[0] === JSON_OPEN) {
    const legacy = decodeJson<{ seq: bigint; writes: [string, string | null][]; supply: UndoRecord['supply'] }>(bytes);
    return { seq: BigInt(legacy.seq), writes: legacy.writes.map(([k, v]) => [hexToBytes(k), v === null ? null : hexToBytes(v)]), supply: legacy.supply };
  }
  if (bytes[0] !== TAG_UNDO || bytes.length < 13) throw new Error('undo record: unknown form');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const seq = view.getBigUint64(1);
  const n = view.getUint32(9);
  const writes: [Uint8Array, Uint8Array | null][] = [];
  let o = 13;
  for (let i = 0; i < n; i++) {
    const kl = view.getUint16(o);
    const k = bytes.slice(o + 2, o + 2 + kl);
    o += 2 + kl;
    const vl = view.getUint32(o);
    o += 4;
    if (vl === ABSENT) writes.push([k, null]);
    else {
      writes.push([k, bytes.slice(o, o + vl)]);
      o += vl;
    }
  }
  if (o > bytes.length) throw new Error('undo record: truncated');
  return { seq, writes, supply: supplyDeltasOf(parseJson(dec.decode(bytes.subarray(o))) as unknown as [Asset, Partial<SupplyCounters>][]) };
}
