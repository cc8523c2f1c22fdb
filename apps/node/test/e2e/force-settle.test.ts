import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NS_PER_SEC, waitUntil } from '@xe/core-types';
import { generateKeyPair } from '@xe/crypto';
import { requestLease, SHORT_LEASE, TestNet } from '../support/harness.js';

/**
 * Short timings so the force-settle window opens within the test: skew 2 s, grace 4 s,
 * gap 5 s (> 2 × skew), escrow expiry 120 s (> grace + gap).
 */
let net: TestNet;

beforeAll(async () => {
  net = await TestNet.create({
    lease: SHORT_LEASE,
  });
  await net.startAll();
});

afterAll(async () => {
  await net?.stop();
});

describe('force-settle', () => {
  it('a provider killed for good before expiry: the consumer force-settles when the window opens and gets the cost back', async () => {
    const consumer = net.address(2);
    await net.waitMarket();
    const before = await net.balances(2, consumer);

    const res = await requestLease(net, 2, { vcpus: 1, memory_mb: 256, disk_gb: 1, duration: 6, access_pub_key: generateKeyPair().pubKeyHex });
    expect(res.status).toBe(200);
    const hash = String(res.body.lease_hash);
    const { cost } = await net.client(2).getLease(hash);
    expect((await net.balances(2, consumer)).XUSD).toBe(before.XUSD - cost);

    await net.kill(1, 'SIGKILL');
    const lease = await net.client(2).getLease(hash);
    const windowOpens = lease.start_time + 6n * NS_PER_SEC + 9n * NS_PER_SEC;

    for (const i of [0, 2]) {
      await waitUntil(
        async () => (await net.client(i).getLease(hash)).state === 'unfulfilled',
        { timeoutMs: 60_000, what: `unfulfilled on node ${i}`, intervalMs: 500 },
      );
    }
    // not before the window opened
    expect(BigInt(Date.now()) * 1_000_000n).toBeGreaterThanOrEqual(windowOpens);
    const l = await net.client(2).getLease(hash);
    expect(l.settled).toBe(true);
    for (const i of [0, 2]) {
      expect(await net.balances(i, consumer)).toEqual(before);
    }
  });
});
