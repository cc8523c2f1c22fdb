import * as nodeCrypto from 'node:crypto';
import { ErrorCodes, U64_MAX, XeError } from '@xe/core-types';

const encoder = new TextEncoder();

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** `u64(x)`: 8 bytes big-endian. A value outside u64 is a coded OVERFLOW error, never a wrap. */
export function u64be(value: bigint): Uint8Array {
  if (typeof value !== 'bigint' || value < 0n || value > U64_MAX) {
    throw new XeError(ErrorCodes.OVERFLOW, `expected an integer within u64, got ${String(value)}`);
  }
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value);
  return out;
}

/** `lp(x) = u64(len(x)) || x`; strings as their UTF-8 bytes. */
export function lp(x: Uint8Array | string): Uint8Array {
  const bytes = typeof x === 'string' ? utf8(x) : x;
  const out = new Uint8Array(8 + bytes.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(bytes.length));
  out.set(bytes, 8);
  return out;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * `crypto.hash` (Node 20.12 and later): one call and no Hash object, which is most of the
 * cost of hashing a block's few hundred bytes; `undefined` on an older Node.
 */
const oneShot = typeof nodeCrypto.hash === 'function' ? nodeCrypto.hash : undefined;

export function sha256(...parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1 && oneShot !== undefined) {
    const d = oneShot('sha256', parts[0]!, 'buffer');
    return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  }
  const h = nodeCrypto.createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}
