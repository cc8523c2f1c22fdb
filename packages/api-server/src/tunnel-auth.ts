import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { type Clock, type Hash, hexToBytes, isHex, systemClock, U64_MAX } from '@xe/core-types';
import type { ApiDeps, TunnelAuth } from './deps.js';
import { ApiErrorCodes, TunnelAuthError } from './errors.js';

const TUNNEL_TAG = Buffer.from('xe/tunnel/v1', 'utf8');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function u64be(value: bigint, field: string): Buffer {
  if (value < 0n || value > U64_MAX) throw new TunnelAuthError(ApiErrorCodes.INVALID_FIELD, `${field}: outside u64`, { field });
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(value);
  return b;
}

/** `SHA-256("xe/tunnel/v1" || lease_hash bytes || u64be(timestamp))`: what the tunnel signature signs (SPEC §11). */
export function tunnelAuthDigest(leaseHash: Hash, timestampNs: bigint): Uint8Array {
  const hash = hexToBytes(leaseHash, 'lease_hash');
  if (hash.length !== 32) throw new TunnelAuthError(ApiErrorCodes.INVALID_FIELD, 'lease_hash: expected 32 bytes', { field: 'lease_hash' });
  return new Uint8Array(createHash('sha256').update(TUNNEL_TAG).update(hash).update(u64be(timestampNs, 'timestamp')).digest());
}

/** Signs the tunnel digest with the Ed25519 key of a 32-byte seed; 128 lowercase hex chars (`X-Signature`). */
export function signTunnelAuth(seed32: Uint8Array, leaseHash: Hash, timestampNs: bigint): string {
  if (seed32.length !== 32) throw new TunnelAuthError(ApiErrorCodes.INVALID_FIELD, 'seed: expected 32 bytes', { field: 'seed' });
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed32]), format: 'der', type: 'pkcs8' });
  return sign(null, tunnelAuthDigest(leaseHash, timestampNs), key).toString('hex');
}

/** The two request headers of a tunnel upgrade, signed now (or at `timestampNs`). */
export function tunnelAuthHeaders(seed32: Uint8Array, leaseHash: Hash, timestampNs: bigint): { 'X-Timestamp': string; 'X-Signature': string } {
  return { 'X-Timestamp': timestampNs.toString(), 'X-Signature': signTunnelAuth(seed32, leaseHash, timestampNs) };
}

function publicKeyObject(pubKeyHex: string): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, hexToBytes(pubKeyHex, 'access_pub_key')]), format: 'der', type: 'spki' });
}

/** True when `signatureHex` is the lease key's signature of the tunnel digest. */
export function verifyTunnelAuth(accessPubKey: string, leaseHash: Hash, timestampNs: bigint, signatureHex: string): boolean {
  if (!isHex(signatureHex, 128) || !isHex(accessPubKey, 64)) return false;
  try {
    return verify(null, tunnelAuthDigest(leaseHash, timestampNs), publicKeyObject(accessPubKey), Buffer.from(signatureHex, 'hex'));
  } catch {
    return false;
  }
}

/**
 * Accepted signatures, each remembered until its timestamp leaves the skew window,
 * so a signature opens at most one tunnel. Bounded: when full of live entries it
 * refuses new ones (503, retryable) rather than forget one early.
 */
export class ReplayCache {
  private readonly entries = new Map<string, bigint>();
  constructor(private readonly maxEntries = 100_000) {}

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
      throw new TunnelAuthError(ApiErrorCodes.TUNNEL_REPLAY_CACHE_FULL, 'too many tunnels opened within the skew window; retry later', {
        retryable: true,
      });
    }
    this.entries.set(signature, untilNs);
    return true;
  }

  sweep(nowNs: bigint): void {
    for (const [sig, until] of this.entries) if (until < nowNs) this.entries.delete(sig);
  }
}

export interface TunnelAuthenticatorOptions {
  clock?: Clock;
  replayCache?: ReplayCache;
}

const TIMESTAMP_RE = /^[0-9]{1,20}$/;

/**
 * The entry checks of `POST /tunnel/{leaseHash}/tcp` (SPEC §11), in order: lease known
 * (404), accepted (410), `X-Timestamp` present and within the skew (401), `X-Signature`
 * by the lease's `access_pub_key` (403), not seen before (403). Shared by the upgrade
 * handler and the plain-HTTP route so both answer alike.
 */
export class TunnelAuthenticator {
  readonly replay: ReplayCache;
  private readonly clock: Clock;

  constructor(
    private readonly deps: Pick<ApiDeps, 'getLease' | 'network'>,
    options: TunnelAuthenticatorOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.replay = options.replayCache ?? new ReplayCache();
  }

  /**
   * Checks a request; with `consume` the signature is recorded so it cannot be used
   * again. Returns the auth to pass on to the provider.
   */
  async check(leaseHash: Hash, timestampHeader: string | undefined, signatureHeader: string | undefined, consume: boolean): Promise<TunnelAuth> {
    const lease = await this.deps.getLease(leaseHash);
    if (lease === undefined) throw new TunnelAuthError(ApiErrorCodes.LEASE_NOT_FOUND, `lease ${leaseHash} not found`);
    if (lease.state !== 'accepted') {
      throw new TunnelAuthError(ApiErrorCodes.LEASE_NOT_ACCEPTED, `lease ${leaseHash} is ${lease.state}, not accepted`);
    }
    if (timestampHeader === undefined || timestampHeader === '') {
      throw new TunnelAuthError(ApiErrorCodes.TUNNEL_AUTH_MISSING, 'X-Timestamp: header is required');
    }
    if (signatureHeader === undefined || signatureHeader === '') {
      throw new TunnelAuthError(ApiErrorCodes.TUNNEL_AUTH_MISSING, 'X-Signature: header is required');
    }
    if (!TIMESTAMP_RE.test(timestampHeader) || BigInt(timestampHeader) > U64_MAX) {
      throw new TunnelAuthError(ApiErrorCodes.TUNNEL_TIMESTAMP_STALE, 'X-Timestamp: expected unix nanoseconds as decimal digits');
    }
    const timestamp = BigInt(timestampHeader);
    const skew = this.deps.network().lease.max_attestation_skew_ns;
    const now = this.clock();
    const diff = timestamp > now ? timestamp - now : now - timestamp;
    if (diff > skew) {
      throw new TunnelAuthError(ApiErrorCodes.TUNNEL_TIMESTAMP_STALE, `X-Timestamp: ${diff}ns away from this node's clock, more than the ${skew}ns skew`);
    }
    if (!isHex(signatureHeader, 128)) {
      throw new TunnelAuthError(ApiErrorCodes.TUNNEL_SIGNATURE_INVALID, 'X-Signature: expected 128 lowercase hex chars');
    }
    if (!verifyTunnelAuth(lease.access_pub_key, leaseHash, timestamp, signatureHeader)) {
      throw new TunnelAuthError(ApiErrorCodes.TUNNEL_SIGNATURE_INVALID, "X-Signature: not a signature by the lease's access_pub_key");
    }
    const replayed = consume ? !this.replay.add(signatureHeader, timestamp + skew, now) : this.replay.has(signatureHeader, now);
    if (replayed) throw new TunnelAuthError(ApiErrorCodes.TUNNEL_SIGNATURE_REPLAYED, 'X-Signature: already used; sign a fresh timestamp');
    return { timestamp, signature: signatureHeader };
  }
}
