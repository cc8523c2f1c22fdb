import { waitUntil } from '@xe/core-types';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPair } from '@xe/crypto';
import { checkedFetch } from '../support/contract.js';
import { requestLease, TestNet } from '../support/harness.js';

let net: TestNet;

beforeAll(async () => {
  // The consumer also dials the provider directly, so the two stay peered when the timekeeper
  // stops; and it waits only 8 s for an accept.
  net = await TestNet.create({ extraArgs: (info) => ({ 2: ['--bootstrap', info.nodes[1]!.p2p, '--accept-timeout', '8'] }) });
  await net.startAll();
  await waitUntil(async () => (await net.client(2).listProviders()).length === 1, { timeoutMs: 30_000, what: 'the provider advert' });
});

afterAll(async () => {
  await net?.stop();
});

const access = generateKeyPair().pubKeyHex;

describe('lease request failures', () => {
  it('no provider with room → 400 no providers within the offer window', async () => {
    const t0 = Date.now();
    const res = await requestLease(net, 2, { vcpus: 64, memory_mb: 512, disk_gb: 1, duration: 60, access_pub_key: access });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('NO_PROVIDERS');
    expect(String(res.body.error)).toMatch(/no providers/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('two consumers racing for the last slot: the offer holds it, so one lease is accepted and the other gets 400 no providers', async () => {
    const req = { vcpus: 3, memory_mb: 256, disk_gb: 1, duration: 5, access_pub_key: access };
    // two accounts (the consumer node and the timekeeper node, each funded by the devnet): a
    // provider holds capacity for one open request per consumer, so the race is between consumers
    const [a, b] = await Promise.all([requestLease(net, 2, req), requestLease(net, 0, req)]);
    expect([a.status, b.status].sort()).toEqual([200, 400]);
    const lost = a.status === 400 ? a : b;
    expect(lost.body.code).toBe('NO_PROVIDERS');
    const won = String((a.status === 200 ? a : b).body.lease_hash);
    // let it settle before the timekeeper goes away
    await waitUntil(async () => (await net.client(2).getLease(won)).state === 'settled', { timeoutMs: 60_000, what: 'settled', intervalMs: 500 });
  });

  it('timekeeper stopped → the provider does not accept (504 with the hash) and POST /attestation/request answers 503', async () => {
    await net.kill(0, 'SIGTERM');
    const res = await requestLease(net, 2, { vcpus: 1, memory_mb: 256, disk_gb: 1, duration: 30, access_pub_key: access });
    expect(res.status).toBe(504);
    expect(res.body.code).toBe('ACCEPT_TIMEOUT');
    const hash = String(res.body.lease_hash);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    for (const i of [1, 2]) {
      const lease = await net.client(i).getLease(hash);
      expect(lease.state).toBe('created');
    }
    // the provider gave up and removed the VM it had provisioned
    await waitUntil(async () => (await checkedFetch(`${net.url(1)}/vms/${hash}`)).status === 404, { timeoutMs: 30_000, what: 'no VM on the provider' });
    expect(net.log(1)).toMatch(/lease not accepted.*TIMEKEEPER_UNAVAILABLE/);

    const att = await checkedFetch(`${net.url(2)}/attestation/request`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ lease_hash: hash }),
    });
    expect(att.status).toBe(503);
    const body = (await att.json()) as { code: string; error: string };
    expect(body.code).toBe('TIMEKEEPER_UNAVAILABLE');
  });

  it('too little XUSD → 400 insufficient balance, before and after the offers', async () => {
    // even the cheapest possible price is more than the consumer holds: refused before any offer
    const early = await requestLease(net, 2, { vcpus: 64, memory_mb: 4096, disk_gb: 40, duration: 31_536_000, access_pub_key: access });
    expect(early.status).toBe(400);
    expect(early.body.code).toBe('INSUFFICIENT_BALANCE');
    // (last: the provider's offer below holds its whole capacity for a few seconds)
    // 4 vCPU, 4 GB, 40 GB for a year costs ~1,400 XUSD; the consumer holds 1,000
    const res = await requestLease(net, 2, { vcpus: 4, memory_mb: 4096, disk_gb: 40, duration: 31_536_000, access_pub_key: access });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('INSUFFICIENT_BALANCE');
    expect(String(res.body.error)).toMatch(/XUSD/);
  });

});
