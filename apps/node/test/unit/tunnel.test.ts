import { describe, expect, it } from '@jest/globals';
import { silentLogger } from '@xe/core-types';
import { keyPairFromSeed, signTunnelAuth, TunnelAuthChecker } from '@xe/crypto';
import { TunnelServer, type TunnelLease } from '../../src/services/tunnel.js';

const NOW = 1_800_000_000_000_000_000n;
const SKEW = 60_000_000_000n;
const access = keyPairFromSeed(new Uint8Array(32).fill(0x5a));
const self = 'a'.repeat(64);
const LEASE = 'b'.repeat(64);

function server(leases: Record<string, TunnelLease>, auth = new TunnelAuthChecker({ skewNs: SKEW }, { clock: () => NOW })) {
  const tunnels = new TunnelServer(
    { self },
    {
      getLease: async (h) => leases[h],
      dialSsh: async () => {
        throw new Error('not dialled in these tests');
      },
      auth,
      logger: silentLogger,
    },
  );
  return { tunnels, auth };
}

const frame = (ts = NOW, lease = LEASE) => ({ lease_hash: lease, timestamp: ts, signature: signTunnelAuth(access, lease, ts) });
const ours: TunnelLease = { state: 'accepted', provider: self, access_pub_key: access.pubKeyHex };

describe('TunnelServer.check (provider side of /xe/tunnel/1.0.0)', () => {
  it('accepts a fresh signature by the lease key once; a replay is refused', async () => {
    const { tunnels } = server({ [LEASE]: ours });
    const f = frame();
    await expect(tunnels.check(f)).resolves.toBeUndefined();
    await expect(tunnels.check(f)).rejects.toMatchObject({ code: 'TUNNEL_SIGNATURE_REPLAYED' });
  });

  it('refuses an unknown lease, a lease of another provider or not accepted, a stale timestamp and another key', async () => {
    const { tunnels } = server({ [LEASE]: ours, ['c'.repeat(64)]: { ...ours, provider: 'd'.repeat(64) }, ['e'.repeat(64)]: { ...ours, state: 'settled' } });
    await expect(tunnels.check(frame(NOW, 'f'.repeat(64)))).rejects.toMatchObject({ code: 'LEASE_NOT_FOUND' });
    await expect(tunnels.check(frame(NOW, 'c'.repeat(64)))).rejects.toMatchObject({ code: 'TUNNEL_REFUSED', message: 'not the provider of this lease' });
    await expect(tunnels.check(frame(NOW, 'e'.repeat(64)))).rejects.toMatchObject({ code: 'TUNNEL_REFUSED', message: 'lease is settled, not accepted' });
    await expect(tunnels.check(frame(NOW - SKEW - 1n))).rejects.toMatchObject({ code: 'TUNNEL_TIMESTAMP_STALE' });
    const other = keyPairFromSeed(new Uint8Array(32).fill(0x5b));
    await expect(tunnels.check({ ...frame(), signature: signTunnelAuth(other, LEASE, NOW) })).rejects.toMatchObject({ code: 'TUNNEL_SIGNATURE_INVALID' });
  });

  it('shares the node’s one replay cache: a signature spent at the HTTP entry cannot open a provider stream', async () => {
    const { tunnels, auth } = server({ [LEASE]: ours });
    const f = frame(NOW - 1n);
    auth.check(f, access.pubKeyHex, { consume: true }); // as the API's entry check does
    await expect(tunnels.check(f)).rejects.toMatchObject({ code: 'TUNNEL_SIGNATURE_REPLAYED' });
  });
});
