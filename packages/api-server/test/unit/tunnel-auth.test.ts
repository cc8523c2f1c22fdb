import { describe, expect, it } from '@jest/globals';
import { TunnelAuthenticator } from '../../src/index.js';
import { ACCESS_PUB, makeLease, network, seededFake } from '../support/fake-deps.js';
import { FakeTunnelVerifier, fakeTunnelSignature } from '../support/fake-tunnel-auth.js';

describe('TunnelAuthenticator', () => {
  const deps = seededFake();
  deps.params = network(5n); // 60 s skew
  const accepted = makeLease(1, 'accepted');
  const created = makeLease(2, 'created');
  deps.leases = [accepted, created];
  const now = 2_000_000_000_000_000_000n;
  const skew = deps.params.lease.max_attestation_skew_ns;
  const verifier = new FakeTunnelVerifier(skew, () => now);
  const auth = new TunnelAuthenticator(deps, verifier);
  const sign = (ts: bigint, lease = accepted.lease_hash) => fakeTunnelSignature(ACCESS_PUB, lease, ts);

  it('checks the lease first: unknown (404), not accepted (410), before any header', async () => {
    await expect(auth.check(makeLease(9, 'accepted').lease_hash, undefined, undefined, true)).rejects.toMatchObject({ code: 'LEASE_NOT_FOUND' });
    await expect(auth.check(created.lease_hash, String(now), sign(now, created.lease_hash), true)).rejects.toMatchObject({ code: 'LEASE_NOT_ACCEPTED' });
  });

  it('refuses missing headers (401), malformed timestamps (401) and malformed signatures (403) before the verifier', async () => {
    await expect(auth.check(accepted.lease_hash, undefined, sign(now), true)).rejects.toMatchObject({ code: 'TUNNEL_AUTH_MISSING' });
    await expect(auth.check(accepted.lease_hash, String(now), '', true)).rejects.toMatchObject({ code: 'TUNNEL_AUTH_MISSING' });
    for (const bad of ['-1', '1.5', '0x10', '99999999999999999999999', ' 1']) {
      await expect(auth.check(accepted.lease_hash, bad, 'ab'.repeat(64), true)).rejects.toMatchObject({ code: 'TUNNEL_TIMESTAMP_STALE' });
    }
    await expect(auth.check(accepted.lease_hash, String(now), 'AB'.repeat(64), true)).rejects.toMatchObject({ code: 'TUNNEL_SIGNATURE_INVALID' });
    expect(verifier.spent.size).toBe(0);
  });

  it("hands the verifier the lease's access key; its coded refusals pass through; a dry check does not spend", async () => {
    const stale = now - skew - 1n;
    await expect(auth.check(accepted.lease_hash, String(stale), sign(stale), true)).rejects.toMatchObject({ code: 'TUNNEL_TIMESTAMP_STALE' });
    const ts = now - 5n;
    await expect(auth.check(accepted.lease_hash, String(ts), sign(ts), false)).resolves.toEqual({ timestamp: ts, signature: sign(ts) });
    await auth.check(accepted.lease_hash, String(ts), sign(ts), true);
    await expect(auth.check(accepted.lease_hash, String(ts), sign(ts), true)).rejects.toMatchObject({ code: 'TUNNEL_SIGNATURE_REPLAYED' });
    await expect(auth.check(accepted.lease_hash, String(ts), sign(ts), false)).rejects.toMatchObject({ code: 'TUNNEL_SIGNATURE_REPLAYED' });
  });
});
