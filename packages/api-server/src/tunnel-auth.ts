import { type Hash, isHex, U64_MAX } from '@xe/core-types';
import type { ApiDeps, TunnelAuth } from './deps.js';
import { ApiErrorCodes, TunnelAuthError } from './errors.js';

/**
 * The cryptographic half of the tunnel entry checks (SPEC §11), which this package takes
 * from outside (apps/node passes @xe/crypto's `TunnelAuthChecker`): the timestamp within
 * the network's skew, the signature by the lease's access key, and the replay cache.
 * One instance per node, shared by the routes and the upgrade handler.
 */
export interface TunnelAuthVerifier {
  /**
   * Throws a coded error: TUNNEL_TIMESTAMP_STALE, TUNNEL_SIGNATURE_INVALID,
   * TUNNEL_SIGNATURE_REPLAYED or TUNNEL_REPLAY_CACHE_FULL. With `consume` the signature is
   * spent (a second use is a replay); without, it is only checked.
   */
  check(auth: { lease_hash: Hash; timestamp: bigint; signature: string }, accessPubKey: string, options: { consume: boolean }): void;
}

const TIMESTAMP_RE = /^[0-9]{1,20}$/;

/**
 * The entry checks of `POST /tunnel/{leaseHash}/tcp` (SPEC §11), in order: lease known
 * (404), accepted (410), `X-Timestamp` and `X-Signature` present and well formed (401,
 * 403), then the verifier's: within the skew (401), by the lease's `access_pub_key`
 * (403), not seen before (403). Shared by the upgrade handler and the plain-HTTP route
 * so both answer alike.
 */
export class TunnelAuthenticator {
  constructor(
    private readonly deps: Pick<ApiDeps, 'getLease'>,
    private readonly verifier: TunnelAuthVerifier,
  ) {}

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
    if (!isHex(signatureHeader, 128)) {
      throw new TunnelAuthError(ApiErrorCodes.TUNNEL_SIGNATURE_INVALID, 'X-Signature: expected 128 lowercase hex chars');
    }
    const timestamp = BigInt(timestampHeader);
    this.verifier.check({ lease_hash: leaseHash, timestamp, signature: signatureHeader }, lease.access_pub_key, { consume });
    return { timestamp, signature: signatureHeader };
  }
}
