import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NS_PER_SEC, stringifyJson, waitUntil } from '@xe/core-types';
import { generateKeyPair } from '@xe/crypto';
import { requestLease, TestNet } from '../support/harness.js';

/**
 * SPEC §8: requests relayed for anyone but the lease's provider and consumer never take
 * their rate slot. The default devnet: node 0 the only timekeeper (threshold 1), node 1
 * the provider, node 2 the consumer — so nodes 1 and 2 forward `POST /attestation/request`
 * to node 0 under their own peer ids, the provider's node included.
 */
let net: TestNet;
const DURATION = 8;

beforeAll(async () => {
  net = await TestNet.create();
  await net.startAll();
});

afterAll(async () => {
  await net?.stop();
});

describe('POST /attestation/request flood', () => {
  it('four requests a second on every node for a live lease, from its start until after its expiry: the provider still settles in its normal time', async () => {
    await net.waitMarket();
    const res = await requestLease(net, 2, { vcpus: 1, memory_mb: 256, disk_gb: 1, duration: DURATION, access_pub_key: generateKeyPair().pubKeyHex });
    expect(res.status).toBe(200);
    const hash = String(res.body.lease_hash);
    const lease = await net.client(2).getLease(hash);
    expect(lease.state).toBe('accepted');
    const expiry = lease.start_time + BigInt(DURATION) * NS_PER_SEC;

    // the flood: every 250 ms one request on each node (loopback only), bounded in time and in flight
    const statuses = new Map<number, number>();
    let inFlight = 0;
    let settledAt: bigint | undefined;
    const floodUntil = expiry + 20n * NS_PER_SEC;
    const ask = async (i: number) => {
      inFlight++;
      try {
        const r = await fetch(`${net.url(i)}/attestation/request`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: stringifyJson({ lease_hash: hash }),
          signal: AbortSignal.timeout(20_000),
        });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        await r.body?.cancel();
      } catch {
        statuses.set(0, (statuses.get(0) ?? 0) + 1);
      } finally {
        inFlight--;
      }
    };
    const watcher = (async () => {
      while (settledAt === undefined && BigInt(Date.now()) * 1_000_000n < floodUntil) {
        const l = await net.client(1).getLease(hash);
        if (l.state !== 'accepted') {
          expect(l.state).toBe('settled');
          settledAt = BigInt(Date.now()) * 1_000_000n;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    // keep flooding past the expiry, and at least until the settle landed or the deadline passed
    while (BigInt(Date.now()) * 1_000_000n < floodUntil && (settledAt === undefined || BigInt(Date.now()) * 1_000_000n < expiry + 2n * NS_PER_SEC)) {
      for (const i of [0, 1, 2]) if (inFlight < 24) void ask(i);
      await new Promise((r) => setTimeout(r, 250));
    }
    await watcher;
    await waitUntil(() => inFlight === 0, { timeoutMs: 25_000, what: 'the flood requests to finish' });

    // the flood was real: signatures were issued to third parties and most requests were refused
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(4 * 3 * DURATION);
    // settled (not left to a force-settle), within its normal time after expiry (1.5 s margin + one gather)
    expect(settledAt).toBeDefined();
    expect(settledAt!).toBeLessThan(expiry + 15n * NS_PER_SEC);
    for (const i of [0, 1, 2]) {
      await waitUntil(async () => (await net.client(i).getLease(hash)).state === 'settled', { timeoutMs: 30_000, what: `settled on node ${i}`, intervalMs: 500 });
    }
    expect(net.log(1)).not.toMatch(/settle failed[^\n]*RATE_LIMITED/);
  });
});
