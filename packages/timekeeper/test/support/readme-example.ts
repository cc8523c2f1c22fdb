import { type Block, type LeaseState, systemClock, type TimekeeperSet } from '@xe/core-types';
import { keyPairFromSeed, validateAttestations } from '@xe/crypto';
import { AttestationGatherer, AttestationSigner, type AttestationTransport } from '../../src/index.js';

/** Two timekeepers, threshold 2: this node (listed, so it signs for itself) and one peer. */
export async function gatherForLease(lease: Block): Promise<bigint> {
  const me = keyPairFromSeed('01'.repeat(32));
  const peer = keyPairFromSeed('02'.repeat(32));
  const timekeepers: TimekeeperSet = { keys: [me.pubKeyHex, peer.pubKeyHex], threshold: 2 };
  const skewNs = 60_000_000_000n;

  // apps/node passes the ledger here; a map stands in for it
  const states = new Map<string, LeaseState>([[lease.hash, 'created']]);
  const ledger = {
    clock: systemClock,
    leaseState: async (hash: string) => states.get(hash),
    ingest: async () => ({ status: 'rejected' as const, code: 'UNSUPPORTED', message: 'no ledger here', retryable: false }),
  };
  const mine = new AttestationSigner({ key: me, timekeepers }, ledger);
  const theirs = new AttestationSigner({ key: peer, timekeepers }, ledger);

  // apps/node backs the transport with /xe/attest/1.0.0; here it calls the peer's signer
  const transport: AttestationTransport = {
    requestAttestation: (_key, request, { signal }) => theirs.sign(request, { requester: me.pubKeyHex, signal }),
  };
  const gatherer = new AttestationGatherer({ timekeepers, self: mine, skewNs }, { transport, clock: systemClock });

  const attestations = await gatherer.gather({ lease_hash: lease.hash, block: lease });
  return validateAttestations(attestations, lease.hash, timekeepers, { now: systemClock(), skewNs, checkSkew: true });
}
