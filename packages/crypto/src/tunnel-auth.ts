import { type Clock, ErrorCodes, type Hash, hexToBytes, isHex, type SignatureHex, U64_MAX } from '@xe/core-types';
import { sha256, u64be, utf8 } from './bytes.js';
import { type KeyPair, signHex, verify } from './ed25519.js';
import { CryptoError } from './errors.js';

/**
 * Tunnel authentication (SPEC §11), the one implementation: the digest, signing, checking,
 * and the replay cache that lets a signature open at most one tunnel. The HTTP entry node
 * and the provider's node both check with `TunnelAuthChecker`.
 */

/** What the opener presents: the HTTP headers `X-Timestamp`/`X-Signature`, or the `/xe/tunnel/1.0.0` frame (SPEC §9). */
export interface TunnelAuthFrame {
  lease_hash: Hash;
  /** unix ns */
  timestamp: bigint;
  /** 128 lowercase hex */
  signature: SignatureHex;
}

const TUNNEL_TAG = utf8('xe/tunnel/v1');

/** `SHA-256("xe/tunnel/v1" || lease_hash bytes || u64(timestamp))`. A timestamp outside u64 is an OVERFLOW error. */
export function tunnelAuthDigest(leaseHash: Hash, timestamp: bigint): Uint8Array {
  if (!isHex(leaseHash, 64)) {
    throw new CryptoError(ErrorCodes.INVALID_FIELD, 'lease_hash: expected 64 lowercase hex chars', { field: 'lease_hash' });
  }
  if (timestamp < 0n || timestamp > U64_MAX) {
    throw new CryptoError(ErrorCodes.OVERFLOW, `timestamp: ${timestamp} is outside u64`, { field: 'timestamp' });
  }
  return sha256(TUNNEL_TAG, hexToBytes(leaseHash), u64be(timestamp));
}

/** The access key's signature of the tunnel digest (the `X-Signature` header), 128 lowercase hex. */
export function signTunnelAuth(key: KeyPair, leaseHash: Hash, timestamp: bigint): SignatureHex {
  return signHex(tunnelAuthDigest(leaseHash, timestamp), key);
}

/** The two request headers of a tunnel upgrade, signed for `timestamp` (unix ns). */
export function tunnelAuthHeaders(key: KeyPair, leaseHash: Hash, timestamp: bigint): { 'X-Timestamp': string; 'X-Signature': string } {
  return { 'X-Timestamp': timestamp.toString(), 'X-Signature': signTunnelAuth(key, leaseHash, timestamp) };
}

/** True when `auth.signature` is the signature by `accessPubKeyHex` of the tunnel digest; malformed input is `false`. */
export function verifyTunnelAuth(auth: TunnelAuthFrame, accessPubKeyHex: string): boolean {
  try {
    return verify(tunnelAuthDigest(auth.lease_hash, auth.timestamp), auth.signature, accessPubKeyHex);
  } catch {
    return false;
  }
}

/** The default bound of a replay cache: live signatures remembered at once. */
export const DEFAULT_REPLAY_CACHE_ENTRIES = 100_000;

/**
 * Accepted signatures, each remembered until its timestamp leaves the skew window
 * (`timestamp + skew`), so a signature opens at most one tunnel. Bounded: when full of
 * live entries it refuses new ones (TUNNEL_REPLAY_CACHE_FULL, retryable) rather than
 * forget one early.
 */
export class ReplayCache {
  private readonly entries = new Map<string, bigint>();
  constructor(private readonly maxEntries = DEFAULT_REPLAY_CACHE_ENTRIES) {}

  get size(): number {
    return this.entries.size;
  }

  has(signature: string, nowNs: bigint): boolean {
    const until = this.entries.get(signature);
    return until !== undefined && until >= nowNs;
  }

  /** Records `signature` until `untilNs`; false if it was already there (a replay). */
  add(signature: string, untilNs: bigint, nowNs: bigint): boolean {
    if (this.has(signature, nowNs)) return false;
    if (this.entries.size >= this.maxEntries) this.sweep(nowNs);
    if (this.entries.size >= this.maxEntries) {
      throw new CryptoError(ErrorCodes.TUNNEL_REPLAY_CACHE_FULL, 'too many tunnels opened within the skew window; retry later', { retryable: true });
    }
    this.entries.set(signature, untilNs);
    return true;
  }

  /** Drops entries whose window has passed. */
  sweep(nowNs: bigint): void {
    for (const [sig, until] of this.entries) if (until < nowNs) this.entries.delete(sig);
  }
}

export interface TunnelAuthCheckerOptions {
  /** How far `timestamp` may be from this node's clock (the network's `max_attestation_skew_ns`). */
  skewNs: bigint;
  /** Bound of the replay cache (default 100,000). */
  maxEntries?: number;
}

/**
 * Checks a tunnel auth against a lease's access key, in SPEC §11's order: timestamp within
 * the skew (TUNNEL_TIMESTAMP_STALE), signature by the key (TUNNEL_SIGNATURE_INVALID), not
 * used before (TUNNEL_SIGNATURE_REPLAYED). One per node, shared by every entry point.
 */
export class TunnelAuthChecker {
  readonly replay: ReplayCache;
  readonly skewNs: bigint;

  constructor(
    options: TunnelAuthCheckerOptions,
    private readonly components: { clock: Clock },
  ) {
    this.skewNs = options.skewNs;
    this.replay = new ReplayCache(options.maxEntries);
  }

  /**
   * Throws a coded CryptoError when `auth` does not pass. With `consume` the signature is
   * recorded so it cannot be used again; without, a seen one is still refused.
   */
  check(auth: TunnelAuthFrame, accessPubKeyHex: string, options: { consume: boolean }): void {
    const now = this.components.clock();
    const diff = auth.timestamp > now ? auth.timestamp - now : now - auth.timestamp;
    if (diff > this.skewNs) {
      throw new CryptoError(ErrorCodes.TUNNEL_TIMESTAMP_STALE, `timestamp ${diff}ns away from this node's clock, more than the ${this.skewNs}ns skew`);
    }
    if (!isHex(auth.signature, 128) || !verifyTunnelAuth(auth, accessPubKeyHex)) {
      throw new CryptoError(ErrorCodes.TUNNEL_SIGNATURE_INVALID, "signature: not a signature by the lease's access_pub_key");
    }
    const replayed = options.consume ? !this.replay.add(auth.signature, auth.timestamp + this.skewNs, now) : this.replay.has(auth.signature, now);
    if (replayed) throw new CryptoError(ErrorCodes.TUNNEL_SIGNATURE_REPLAYED, 'signature: already used; sign a fresh timestamp');
  }
}
