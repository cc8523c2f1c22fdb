import { type Block, parseJson, stringifyJson } from '@xe/core-types';
import { readU64, u64Bytes } from './buckets.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A record as JSON bytes (core-types codec: integers round-trip exactly as bigint). */
export function encodeJson(value: unknown): Uint8Array {
  return enc.encode(stringifyJson(value));
}

export function decodeJson<T>(bytes: Uint8Array): T {
  return parseJson(dec.decode(bytes)) as T;
}

/** A stored block: u64 chain height, then the block's JSON. */
export function encodeBlock(height: bigint, block: Block): Uint8Array {
  const json = enc.encode(stringifyJson(block));
  const out = new Uint8Array(8 + json.length);
  out.set(u64Bytes(height), 0);
  out.set(json, 8);
  return out;
}

export interface StoredBlock {
  height: bigint;
  block: Block;
}

export function decodeBlock(bytes: Uint8Array): StoredBlock {
  return { height: readU64(bytes, 0), block: parseJson(dec.decode(bytes.subarray(8))) as unknown as Block };
}

export function blockHeight(bytes: Uint8Array): bigint {
  return readU64(bytes, 0);
}
