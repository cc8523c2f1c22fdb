import {
  BLOCK_TYPE_BYTES,
  BLOCK_VERSION,
  type Attestation,
  type Block,
  bytesToHex,
  decodeHexInto,
  ErrorCodes,
  fields,
  GENESIS_TIMING_FIELDS,
  hexToBytes,
  isBlockType,
  memoBytes,
  pooledBytes,
  type UnsignedBlock,
  ValidationError,
} from '@xe/core-types';
import { concat, lp, sha256, u64be, utf8 } from './bytes.js';
import { CryptoError, CryptoErrorCodes } from './errors.js';

type AnyBlock = Block | UnsignedBlock;

class Writer {
  readonly buf: Uint8Array;
  readonly view: DataView;
  pos = 0;
  constructor(size: number) {
    // from a shared slab (pooledBytes): a block's canonical bytes are built for every block checked
    this.buf = pooledBytes(size);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, size);
  }
  byte(b: number) {
    this.buf[this.pos++] = b;
  }
  bytes(b: Uint8Array) {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  /** 32 bytes from 64 lowercase hex chars; `optional` fields encode absent/empty as zeros. */
  hex32(hex: unknown, field: string, optional = false) {
    // decoded in place; what does not decode goes through fields.hash for its coded error
    if (!(optional && (hex === undefined || hex === '')) && !decodeHexInto(hex, this.buf, this.pos, 32)) {
      this.buf.set(hexToBytes(fields.hash(hex, field), field), this.pos);
    }
    this.pos += 32;
  }
  /** A u64 field; `optional` fields encode absent as zero. Out of range is a coded error, never a wrap. */
  u64(v: unknown, field: string, optional = false) {
    this.view.setBigUint64(this.pos, optional && v === undefined ? 0n : fields.u64(v, field));
    this.pos += 8;
  }
  i64(v: unknown, field: string) {
    this.view.setBigInt64(this.pos, fields.i64(v, field));
    this.pos += 8;
  }
}

const HEADER = 90;
const assetCache = new Map<string, Uint8Array>();

function assetBytes(asset: string): Uint8Array {
  let b = assetCache.get(asset);
  if (!b) {
    const raw = utf8(asset);
    if (raw.length > 8) throw new ValidationError(ErrorCodes.INVALID_FIELD, 'asset: longer than 8 bytes', { field: 'asset' });
    b = new Uint8Array(8);
    b.set(raw);
    assetCache.set(asset, b);
  }
  return b;
}

function expectBlockObject(block: unknown): void {
  if (block === null || typeof block !== 'object' || Array.isArray(block)) {
    throw new ValidationError(ErrorCodes.INVALID_FIELD, 'block: expected an object', { field: 'block' });
  }
}

/** The canonical bytes of a block (SPEC §3.1), big-endian. */
export function encodeCanonical(block: AnyBlock): Uint8Array {
  const b = block as AnyBlock & Record<string, unknown>;
  expectBlockObject(block);
  if (!isBlockType(block.type)) {
    throw new ValidationError(ErrorCodes.UNKNOWN_BLOCK_TYPE, `type: unknown block type ${fields.describe(block.type)}`, { field: 'type' });
  }
  if (typeof block.asset !== 'string') throw fields.invalid('asset', `expected a string, got ${fields.describe(block.asset)}`);
  let tail = 0;
  let trailer = 0;
  let memo: Uint8Array | undefined;
  let timing = false;
  switch (block.type) {
    case 'send':
      tail = 40;
      memo = block.memo === undefined ? new Uint8Array(0) : memoBytes(block.memo);
      trailer = 1 + memo.length;
      break;
    case 'receive':
    case 'lease_cancel':
    case 'lease_force_settle':
      tail = 32;
      break;
    case 'lease':
      tail = 32 + 8 * 5 + 32;
      break;
    case 'lease_accept':
      tail = 32 + 8 * 4;
      break;
    case 'lease_settle':
      tail = 40;
      break;
    case 'genesis':
      timing = GENESIS_TIMING_FIELDS.some((f) => block[f] !== undefined && fields.u64(block[f], f) !== 0n);
      trailer = timing ? 48 : 0;
      break;
  }
  const w = new Writer(HEADER + tail + 32 + trailer);
  w.byte(BLOCK_VERSION);
  w.byte(BLOCK_TYPE_BYTES[block.type]);
  w.bytes(assetBytes(block.asset));
  w.hex32(block.account, 'account');
  if (block.previous === '0') w.pos += 32;
  else w.hex32(block.previous, 'previous');
  w.u64(block.balance, 'balance');
  w.i64(block.timestamp, 'timestamp');
  switch (block.type) {
    case 'send':
      w.hex32(block.destination, 'destination');
      w.u64(block.amount, 'amount');
      break;
    case 'receive':
    case 'lease_cancel':
    case 'lease_force_settle':
      w.hex32(block.source, 'source');
      break;
    case 'lease':
      w.hex32(block.destination, 'destination');
      w.u64(block.amount, 'amount');
      w.u64(block.vcpus, 'vcpus');
      w.u64(block.memory_mb, 'memory_mb');
      w.u64(block.disk_gb, 'disk_gb');
      w.u64(block.duration, 'duration');
      w.hex32(block.access_pub_key, 'access_pub_key');
      break;
    case 'lease_accept':
      w.hex32(block.source, 'source');
      w.u64(block.amount, 'amount', true);
      w.u64(block.locked_r, 'locked_r');
      w.pos += 16;
      break;
    case 'lease_settle':
      w.hex32(block.source, 'source');
      w.u64(block.amount, 'amount');
      break;
    case 'genesis':
      break;
  }
  w.hex32(b.representative, 'representative', true);
  if (memo) {
    w.byte(memo.length);
    w.bytes(memo);
  }
  if (block.type === 'genesis' && timing) {
    for (const f of GENESIS_TIMING_FIELDS) w.u64(block[f], f, true);
  }
  return w.buf;
}

const PUBKEY_TAG = lp('xe/block/pubkey/v1');
const EMPTY = new Uint8Array(0);

/** The aux section (SPEC §3.2): hash-bound fields outside the canonical bytes. */
export function encodeAux(block: AnyBlock): Uint8Array {
  expectBlockObject(block);
  const parts: Uint8Array[] = [];
  if (block.pub_key !== undefined && block.pub_key !== '') parts.push(PUBKEY_TAG, lp(fields.hash(block.pub_key, 'pub_key')));
  switch (block.type) {
    case 'lease':
      parts.push(lp(fields.hash(block.certificate_hash, 'certificate_hash')), u64be(0n));
      break;
    case 'lease_accept':
    case 'lease_settle':
    case 'lease_cancel':
    case 'lease_force_settle': {
      parts.push(lp(block.type === 'lease_accept' ? fields.hash(block.certificate_hash, 'certificate_hash') : ''));
      const list = fields.array(block.attestations, 'attestations', Number.MAX_SAFE_INTEGER) as unknown as Attestation[];
      list.forEach((a, i) => {
        const o = fields.expectObject(a, `attestations[${i}]`);
        fields.hash(o.public_key, `attestations[${i}].public_key`);
        fields.u64(o.timestamp, `attestations[${i}].timestamp`);
        fields.signature(o.signature, `attestations[${i}].signature`);
      });
      const sorted = [...list].sort((a, b) => (a.public_key < b.public_key ? -1 : a.public_key > b.public_key ? 1 : 0));
      for (let i = 1; i < sorted.length; i++) {
        if (sorted[i]!.public_key === sorted[i - 1]!.public_key) {
          throw new CryptoError(CryptoErrorCodes.ATTESTATIONS_DUPLICATE_KEY, 'attestations: two attestations with the same public_key', {
            field: 'attestations',
          });
        }
      }
      parts.push(u64be(BigInt(sorted.length)));
      for (const a of sorted) parts.push(lp(a.public_key), u64be(BigInt(a.timestamp)), lp(a.signature));
      break;
    }
    default:
      break;
  }
  return parts.length === 0 ? EMPTY : concat(parts);
}

/**
 * `hash = SHA-256(network_id || canonical || aux)`; genesis blocks hash with an empty
 * network id whatever is passed. Returns 64 lowercase hex.
 */
export function hashBlock(block: AnyBlock, networkId: string): string {
  return bytesToHex(hashBlockBytes(block, networkId));
}

/** The UTF-8 of the last network id hashed with (a node hashes with one id). */
let lastNetworkId: { id: string; bytes: Uint8Array } | undefined;

function networkIdBytes(id: string): Uint8Array {
  if (lastNetworkId?.id !== id) lastNetworkId = { id, bytes: utf8(id) };
  return lastNetworkId.bytes;
}

export function hashBlockBytes(block: AnyBlock, networkId: string): Uint8Array {
  return sha256(...hashPreimage(block, networkId));
}

/**
 * What `hashBlockBytes` hashes, in its three parts: `network_id` (empty for genesis),
 * `canonical`, `aux`. Throws the coded error a block that cannot be hashed gets. The parts
 * are read, never modified (the network id's bytes are shared between calls).
 */
export function hashPreimage(block: AnyBlock, networkId: string): [Uint8Array, Uint8Array, Uint8Array] {
  expectBlockObject(block);
  if (typeof networkId !== 'string' && block.type !== 'genesis') {
    throw new ValidationError(ErrorCodes.INVALID_FIELD, 'network_id: expected a string', { field: 'network_id' });
  }
  const id = block.type === 'genesis' ? EMPTY : networkIdBytes(networkId);
  return [id, encodeCanonical(block), encodeAux(block)];
}
