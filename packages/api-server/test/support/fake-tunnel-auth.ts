import { createHash } from 'node:crypto';
import { type Clock, ErrorCodes, systemClock, XeError } from '@xe/core-types';
import type { TunnelAuthVerifier } from '../../src/index.js';

/**
 * An in-package fake of the `TunnelAuthVerifier` this package declares (the node passes
 * @xe/crypto's Ed25519 checker). Its "signature" of (key, lease, timestamp) is a SHA-512
 * of the three, so tests can make good, foreign and stale ones; it keeps the same rules:
 * skew, signature, replay, with the same codes.
 */
export function fakeTunnelSignature(accessPub: string, leaseHash: string, timestamp: bigint): string {
  return createHash('sha512').update(`fake-tunnel-auth|${accessPub}|${leaseHash}|${timestamp}`).digest('hex');
}

export function fakeTunnelHeaders(accessPub: string, leaseHash: string, timestamp: bigint): { 'X-Timestamp': string; 'X-Signature': string } {
  return { 'X-Timestamp': String(timestamp), 'X-Signature': fakeTunnelSignature(accessPub, leaseHash, timestamp) };
}

export class FakeTunnelVerifier implements TunnelAuthVerifier {
  readonly spent = new Set<string>();

  constructor(
    private readonly skewNs = 60_000_000_000n,
    private readonly clock: Clock = systemClock,
  ) {}

  check(auth: { lease_hash: string; timestamp: bigint; signature: string }, accessPubKey: string, options: { consume: boolean }): void {
    const now = this.clock();
    const diff = auth.timestamp > now ? auth.timestamp - now : now - auth.timestamp;
    if (diff > this.skewNs) throw new XeError(ErrorCodes.TUNNEL_TIMESTAMP_STALE, 'timestamp outside the skew');
    if (auth.signature !== fakeTunnelSignature(accessPubKey, auth.lease_hash, auth.timestamp)) {
      throw new XeError(ErrorCodes.TUNNEL_SIGNATURE_INVALID, 'not a signature by the access key');
    }
    if (this.spent.has(auth.signature)) throw new XeError(ErrorCodes.TUNNEL_SIGNATURE_REPLAYED, 'already used');
    if (options.consume) this.spent.add(auth.signature);
  }
}
