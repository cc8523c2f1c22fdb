import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NS_PER_SEC, parseCertificate, parseJson, stringifyJson, waitUntil } from '@xe/core-types';
import { generateKeyPair, keyPairFromSeed } from '@xe/crypto';
import { buildLease, sealBlock } from '@xe/ledger';
import { DEVNET_DIFFICULTY } from '../../src/devnet.js';
import { requestLease, SHORT_LEASE, TestNet } from '../support/harness.js';

/**
 * Three timekeepers, threshold 2 (SPEC §8): node 0 (the bootstrap) and node 3 timekeepers
 * only, node 1 provider and timekeeper, node 2 the consumer. Four representatives, quorum
 * 60 %, so three nodes up still confirm. With one timekeeper down — node 3, then the
 * provider — every transition that needs attestations still works. Short timings: accept window 40 s (the provider keeps
 * 30 s of it, SPEC §10.5), skew 2 s, grace 4 s, gap 5 s (> 2 × skew).
 */
let net: TestNet;
const WINDOW_S = SHORT_LEASE.accept_window_ns / NS_PER_SEC;
const SKEW_S = SHORT_LEASE.max_attestation_skew_ns / NS_PER_SEC;

beforeAll(async () => {
  net = await TestNet.create({
    nodes: 4,
    roles: [['timekeeper'], ['provider', 'timekeeper'], ['consumer'], ['timekeeper']],
    lease: SHORT_LEASE,
  });
  await net.startAll();
});

afterAll(async () => {
  await net?.stop();
});

const nowNs = () => BigInt(Date.now()) * 1_000_000n;

async function state(i: number, hash: string, want: string, timeoutMs = 60_000): Promise<void> {
  await waitUntil(async () => (await net.client(i).getLease(hash)).state === want, { timeoutMs, what: `${want} on node ${i}`, intervalMs: 500 });
}

/** A lease block the consumer node's key signs with a timestamp `backSecs` in the past, submitted over POST /blocks/lease. */
async function backDatedLease(backSecs: bigint): Promise<{ hash: string; timestamp: bigint }> {
  const i = 2;
  const node = net.info.nodes[i]!;
  const key = keyPairFromSeed(readFileSync(join(node.data_dir, 'node.key'), 'utf8').trim());
  expect(key.address).toBe(node.address);
  const chainUrl = `${net.url(i)}/accounts/${node.address}/chain?limit=1`;
  // the consumer's chain is quiet here; wait until its newest block is confirmed
  const chain = await waitUntil(
    async () => {
      const c = parseJson(await (await fetch(chainUrl)).text()) as { total: bigint; blocks: Array<{ hash: string; confirmed: boolean }> };
      return c.blocks[0]?.confirmed ? c : undefined;
    },
    { timeoutMs: 20_000, what: "the consumer's newest block confirmed" },
  );
  const balances = await net.balances(i, node.address);
  const certRes = await fetch(`${net.url(1)}/certificate/${net.address(1)}`);
  const certText = await certRes.text();
  expect([certRes.status, certText.slice(0, 200)]).toEqual([200, expect.any(String)]);
  const cert = parseCertificate(parseJson(certText));
  const unsigned = buildLease(
    { address: node.address, frontier: chain.blocks[0]!.hash, height: BigInt(chain.total), balances },
    { certificate: cert, vcpus: 1n, memory_mb: 256n, disk_gb: 1n, duration: 6n, access_pub_key: generateKeyPair().pubKeyHex, timestamp: nowNs() - backSecs * NS_PER_SEC },
  );
  const block = await sealBlock(unsigned, key, { networkId: net.info.network_id, difficulty: DEVNET_DIFFICULTY });
  const res = await fetch(`${net.url(i)}/blocks/lease`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stringifyJson(block) });
  expect([res.status, (await res.text()).slice(0, 300)]).toEqual([201, expect.any(String)]);
  return { hash: block.hash, timestamp: block.timestamp };
}

/** POST /lease/request on the consumer, again while the marketplace mesh (re)forms and no offer came (NO_PROVIDERS). */
function leaseWithRetry(duration = 6) {
  return waitUntil(
    async () => {
      const r = await requestLease(net, 2, { vcpus: 1, memory_mb: 256, disk_gb: 1, duration, access_pub_key: generateKeyPair().pubKeyHex });
      return r.status === 400 && r.body.code === 'NO_PROVIDERS' ? undefined : r;
    },
    { timeoutMs: 30_000, what: 'an offer from the provider', intervalMs: 1000 },
  );
}

describe('3 timekeepers, threshold 2, one down', () => {
  it('accept, settle and an attested cancel (of a back-dated lease the provider does not take) with timekeeper node 3 down', async () => {
    await net.waitMarket();
    await net.kill(3);
    const consumer = net.address(2);
    const before = await net.balances(2, consumer);

    const res = await leaseWithRetry();
    expect([res.status, res.body.code]).toEqual([200, undefined]);
    const hash = String(res.body.lease_hash);
    const lease = await net.client(2).getLease(hash);
    expect(lease.state).toBe('accepted');
    // the consumer's next block must not be older than this lease block
    await waitUntil(() => nowNs() >= lease.start_time + 12n * NS_PER_SEC, { timeoutMs: 30_000, what: '12 s after the lease' });
    // back-dated by 11 s: the provider would have under 30 s of the accept window left, so it does not provision
    const { hash: stale, timestamp: staleAt } = await backDatedLease(11n);
    const opensAt = staleAt + (WINDOW_S + SKEW_S) * NS_PER_SEC;
    await state(1, stale, 'created', 20_000);
    await waitUntil(() => net.log(1).split('\n').some((l) => l.includes('lease not accepted: accept window passed') && l.includes(stale)), {
      timeoutMs: 20_000,
      what: 'the provider refusing the back-dated lease',
    });

    for (const i of [0, 1, 2]) await state(i, hash, 'settled');

    // the cancel: attested by timekeepers 0 and 1 once the window opened, refund exact
    for (const i of [0, 1, 2]) await state(i, stale, 'cancelled', 90_000);
    expect(nowNs()).toBeGreaterThanOrEqual(opensAt);
    expect(net.log(1).split('\n').some((l) => l.includes('VM provisioned') && l.includes(stale))).toBe(false);
    for (const i of [0, 1, 2]) {
      await waitUntil(async () => (await net.balances(i, consumer)).XUSD === before.XUSD - lease.cost, { timeoutMs: 20_000, what: `exact balance on node ${i}` });
    }
  });

  it('force-settle with the provider (a timekeeper) down', async () => {
    await net.start(3);
    const consumer = net.address(2);
    const seen = await net.balances(2, consumer);
    await waitUntil(async () => (await net.balances(3, consumer)).XUSD === seen.XUSD, { timeoutMs: 60_000, what: 'node 3 caught up' });
    const res = await leaseWithRetry(5);
    expect([res.status, res.body.code]).toEqual([200, undefined]);
    const hash = String(res.body.lease_hash);
    const before = await net.balances(2, consumer);
    await net.kill(1, 'SIGKILL');
    const lease = await net.client(2).getLease(hash);
    for (const i of [0, 2, 3]) await state(i, hash, 'unfulfilled', 60_000);
    expect(nowNs()).toBeGreaterThanOrEqual(lease.start_time + 5n * NS_PER_SEC + 9n * NS_PER_SEC);
    for (const i of [0, 2, 3]) {
      await waitUntil(async () => (await net.balances(i, consumer)).XUSD === before.XUSD + lease.cost, { timeoutMs: 20_000, what: `refund on node ${i}` });
    }
  });
});
