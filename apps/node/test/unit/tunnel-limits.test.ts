import { Duplex, PassThrough } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { silentLogger } from '@xe/core-types';
import { keyPairFromSeed, signTunnelAuth, TunnelAuthChecker } from '@xe/crypto';
import { MAX_TUNNELS_PER_LEASE, openTunnelStream, TunnelServer, type TunnelLease } from '../../src/services/tunnel.js';

const NOW = 1_800_000_000_000_000_000n;
const access = keyPairFromSeed(new Uint8Array(32).fill(0x5b));
const self = 'a'.repeat(64);
const LEASE = 'b'.repeat(64);
const ours: TunnelLease = { state: 'accepted', provider: self, access_pub_key: access.pubKeyHex };

/** Two connected in-memory duplex ends. */
function pair(): [Duplex, Duplex] {
  const ab = new PassThrough();
  const ba = new PassThrough();
  const ends: [Duplex, Duplex] = [Duplex.from({ readable: ba, writable: ab }), Duplex.from({ readable: ab, writable: ba })];
  // a destroyed end reports an AbortError; the tests look at what the server does, not at that
  for (const e of ends) e.on('error', () => undefined);
  return ends;
}

describe('tunnel limits', () => {
  it(`a lease has at most ${MAX_TUNNELS_PER_LEASE} tunnels open at the provider (streams per lease used to be unbounded)`, async () => {
    const vmEnds: Duplex[] = [];
    const tunnels = new TunnelServer(
      { self },
      {
        getLease: async (h) => (h === LEASE ? ours : undefined),
        dialSsh: async () => {
          const [ours, vm] = pair();
          vmEnds.push(vm);
          return ours;
        },
        auth: new TunnelAuthChecker({ skewNs: 60_000_000_000n }, { clock: () => NOW }),
        logger: silentLogger,
      },
    );
    const open = async (i: number) => {
      const [client, provider] = pair();
      void tunnels.serve(provider);
      const ts = NOW + BigInt(i);
      return openTunnelStream(client, { lease_hash: LEASE, timestamp: ts, signature: signTunnelAuth(access, LEASE, ts) });
    };
    const opened: Duplex[] = [];
    for (let i = 0; i < MAX_TUNNELS_PER_LEASE; i++) opened.push(await open(i));
    expect(tunnels.openCount(LEASE)).toBe(MAX_TUNNELS_PER_LEASE);
    await expect(open(MAX_TUNNELS_PER_LEASE)).rejects.toMatchObject({ code: 'TUNNEL_REFUSED' });
    tunnels.closeLease(LEASE);
    expect(tunnels.openCount(LEASE)).toBe(0);
    for (const s of [...opened, ...vmEnds]) s.destroy();
  });

  it('the opener gives up on a provider that never answers (it used to wait for ever without a signal)', async () => {
    const [client] = pair();
    const t0 = performance.now();
    await expect(openTunnelStream(client, { lease_hash: LEASE, timestamp: NOW, signature: signTunnelAuth(access, LEASE, NOW) }, undefined, 200)).rejects.toMatchObject({
      code: 'TUNNEL_REFUSED',
    });
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(client.destroyed).toBe(true);
  });
});
