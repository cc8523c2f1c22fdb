import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Block, DEVNET_LEASE_PARAMS, NS_PER_SEC, parseCertificate, waitUntil } from '@xe/core-types';
import { generateKeyPair } from '@xe/crypto';
import { buildAccept, buildCancel, buildLease, buildReceive, buildSend, emptyHead, type LeaseRecord } from '@xe/ledger';
import { SHORT_LEASE, TestNet } from '../support/harness.js';
import { DevnetOperator } from '../support/operator.js';

/**
 * SPEC §5, §12: an accept and a cancel of one lease, both valid, taken by different nodes
 * → one outcome on every node, the same, with exact balances.
 *
 * The test is the devnet's operator. Its own consumer account (a key no node runs, so no
 * node's consumer service writes on its chain) leases from the provider (node 1) with an
 * accept window of 12 s, shorter than the 30 s a provider keeps for provisioning (§10.5),
 * so the provider never acts on it. The test then writes both outcomes itself, with real
 * attestations from the devnet's two timekeepers (threshold 1): the accept with the
 * provider's key, attested at the end of the accept window; the cancel with the
 * consumer's key, attested as soon as the cancel opens (window + skew).
 *
 * With one honest clock the two cannot pass live admission at the same instant: the
 * accept's attestation leaves the skew before the cancel's can be signed, which is the gap
 * the rules are built on. They meet where clocks, latency or a partition let two nodes
 * each take a different one; here a partition (a peer deny list: nodes 0+1 | 2+3, neither
 * side a quorum of 60 % of four representatives) holds the two sides apart for the
 * seconds between them. The accept goes to node 0 (a timekeeper, not the provider's own
 * node), the cancel to node 2; each side applies its own outcome, unconfirmed. Healed,
 * the representatives must confirm exactly one of them everywhere and drop the other.
 */
let net: TestNet;
let op: DevnetOperator;
let denyFile: string;
const N = 4;
const ALL = [0, 1, 2, 3];
const PROVIDER = 1;
const WINDOW_S = 12n;
const SKEW_S = SHORT_LEASE.max_attestation_skew_ns / NS_PER_SEC;
/** The lease outlives the test: a provider whose accept wins does not settle it meanwhile. */
const DURATION_S = 300n;
/** XUSD (µ) the test's consumer account gets from node 2. */
const FUNDS = 50_000_000n;

const nowNs = () => BigInt(Date.now()) * 1_000_000n;

beforeAll(async () => {
  net = await TestNet.create({
    nodes: N,
    roles: [['timekeeper'], ['provider'], ['consumer'], ['timekeeper']],
    lease: { ...SHORT_LEASE, accept_window_ns: WINDOW_S * NS_PER_SEC },
  });
  op = new DevnetOperator(net);
  denyFile = join(net.dir, 'deny-peers');
  writeFileSync(denyFile, '');
  process.env.XE_PEER_DENY_FILE = denyFile;
  await net.startAll();
  // every node's allocation received and confirmed everywhere
  await waitUntil(async () => (await Promise.all(ALL.flatMap((i) => ALL.map((j) => frontierConfirmed(i, net.address(j)))))).every(Boolean), {
    timeoutMs: 30_000,
    what: 'allocations received and confirmed on every node',
  });
}, 120_000);

afterAll(async () => {
  delete process.env.XE_PEER_DENY_FILE;
  await net?.stop();
});

/** Node i holds `address`'s newest block confirmed. */
async function frontierConfirmed(i: number, address: string): Promise<boolean> {
  const a = (await op.get(i, `/accounts/${address}`)) as { frontier: string } | null;
  if (a === null || a.frontier === '0') return false;
  return (await op.block(i, a.frontier))?.confirmed === true;
}

async function confirmedEverywhere(hash: string, what: string, timeoutMs = 15_000): Promise<void> {
  await waitUntil(async () => (await Promise.all(ALL.map(async (i) => (await op.block(i, hash))?.confirmed === true))).every(Boolean), {
    timeoutMs,
    what: `${what} confirmed on every node`,
  });
}

async function submitted(i: number, block: Block): Promise<void> {
  const r = await op.submit(i, block);
  expect([r.status, r.body]).toEqual([201, expect.any(String)]);
}

function partition(groups: number[][]): void {
  const peer = (i: number) => String(/\/p2p\/(\w+)$/.exec(net.info.nodes[i]!.p2p)?.[1]);
  writeFileSync(denyFile, groups.map((g) => g.map(peer).join(' ')).join('\n') + (groups.length > 0 ? '\n' : ''));
}

interface LeaseJson {
  lease_hash: string;
  state: string;
  cost: bigint;
  stake: bigint;
  start_time: bigint;
  certificate_hash: string;
  settled: boolean;
}

describe('an accept and a cancel of one lease, both valid, taken by different nodes', () => {
  it('one outcome confirmed on every node, the other dropped everywhere, balances and escrow/stake accounting exact', async () => {
    const consumerKey = generateKeyPair();
    const consumer = consumerKey.address;
    const provider = net.address(PROVIDER);
    const providerKey = op.nodeKey(PROVIDER);

    // fund the test's consumer account: a send from node 2's account, received by the test
    const funder = op.nodeKey(2);
    const send = await op.seal(buildSend(await op.head(2, funder.address), { destination: consumer, asset: 'XUSD', amount: FUNDS, timestamp: nowNs() }), funder);
    await submitted(2, send);
    const receive = await op.seal(
      buildReceive(emptyHead(consumer, consumerKey.pubKeyHex), { hash: send.hash, from: funder.address, to: consumer, asset: 'XUSD', amount: FUNDS }, nowNs()),
      consumerKey,
    );
    await submitted(2, receive);
    await confirmedEverywhere(receive.hash, "the consumer's opening receive");

    // the lease, at the provider's current certificate (a node that lacks it fetches it from the provider's node)
    const cert = await waitUntil(async () => {
      const c = await op.get(PROVIDER, `/certificate/${provider}`);
      return c === null ? undefined : parseCertificate(c);
    }, { timeoutMs: 15_000, what: "the provider's certificate" });
    const leaseBlock = await op.seal(
      buildLease(await op.head(2, consumer), {
        certificate: cert,
        vcpus: 1n,
        memory_mb: 256n,
        disk_gb: 1n,
        duration: DURATION_S,
        access_pub_key: generateKeyPair().pubKeyHex,
        timestamp: nowNs(),
      }),
      consumerKey,
    );
    // submitted to the provider's node, which knows its certificate: admitted at once and gossiped; the
    // others fetch the certificate from the provider when the lease names it
    await submitted(PROVIDER, leaseBlock);
    await confirmedEverywhere(leaseBlock.hash, 'the lease');
    const lease = (await op.get(0, `/leases/${leaseBlock.hash}`)) as unknown as LeaseJson;
    expect(lease.state).toBe('created');
    const acceptEnd = leaseBlock.timestamp + WINDOW_S * NS_PER_SEC;
    const cancelOpens = acceptEnd + SKEW_S * NS_PER_SEC;
    // what the builders read of the lease record
    const record = { hash: lease.lease_hash, cost: lease.cost, stake: lease.stake, certificate_hash: lease.certificate_hash } as LeaseRecord;

    // the balances every outcome is measured against, confirmed on every node
    const before = { consumer: FUNDS - lease.cost, provider: (await net.balances(0, provider)).XUSD };
    for (const i of ALL) {
      expect((await net.balances(i, consumer)).XUSD).toBe(before.consumer);
      expect((await net.balances(i, provider)).XUSD).toBe(before.provider);
    }

    // the partition: 0+1 | 2+3, in place before either outcome is written
    partition([
      [0, 1],
      [2, 3],
    ]);
    const peersOf = async (i: number) => ((await op.get(i, '/node')) as { peers: bigint }).peers;
    await waitUntil(async () => (await Promise.all(ALL.map(peersOf))).every((n) => n <= 1n), { timeoutMs: 10_000, what: 'the partition' });
    expect(nowNs()).toBeLessThan(acceptEnd - 2n * NS_PER_SEC);

    // the accept: attested by timekeeper 0 at the end of the accept window, written with the provider's key
    await waitUntil(() => nowNs() >= acceptEnd - 800n * 1_000_000n, { timeoutMs: 20_000, intervalMs: 20, what: 'the end of the accept window' });
    const acceptAtt = await op.attest(0, lease.lease_hash);
    expect(acceptAtt.timestamp).toBeLessThanOrEqual(acceptEnd);
    const accept = await op.seal(buildAccept(await op.head(0, provider), record, { attestations: [acceptAtt], timestamp: nowNs() }, DEVNET_LEASE_PARAMS), providerKey);
    await submitted(0, accept);

    // the cancel: attested by timekeeper 3 once the cancel opens, written with the consumer's key
    await waitUntil(() => nowNs() >= cancelOpens, { timeoutMs: 10_000, intervalMs: 20, what: 'the cancel to open' });
    const cancelAtt = await op.attest(3, lease.lease_hash);
    expect(cancelAtt.timestamp).toBeGreaterThanOrEqual(cancelOpens);
    const cancel = await op.seal(buildCancel(await op.head(2, consumer), record, { attestations: [cancelAtt], timestamp: nowNs() }), consumerKey);
    await submitted(2, cancel);

    // each side took its own outcome, unconfirmed; neither holds the other's
    const holds = async (i: number, b: Block) => (await op.block(i, b.hash)) !== null;
    await waitUntil(async () => (await holds(1, accept)) && (await holds(3, cancel)), { timeoutMs: 5000, what: 'each outcome across its own side' });
    for (const [i, mine, theirs] of [
      [0, accept, cancel],
      [1, accept, cancel],
      [2, cancel, accept],
      [3, cancel, accept],
    ] as const) {
      expect(await op.block(i, mine.hash)).toMatchObject({ confirmed: false });
      expect(await op.block(i, theirs.hash)).toBeNull();
    }

    // healed: one outcome everywhere, confirmed; the other gone everywhere
    partition([]);
    const healedAt = Date.now();
    let winner: Block | undefined;
    await waitUntil(
      async () => {
        const views = await Promise.all(ALL.map(async (i) => [await op.block(i, accept.hash), await op.block(i, cancel.hash)] as const));
        const acceptWon = views.every(([a, c]) => a?.confirmed === true && c === null);
        const cancelWon = views.every(([a, c]) => c?.confirmed === true && a === null);
        winner = acceptWon ? accept : cancelWon ? cancel : undefined;
        return winner !== undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'one outcome confirmed on every node and the other gone' },
    ).catch(async (err) => {
      // what each node holds, for the failure message
      const seen = await Promise.all(
        ALL.map(async (i) => {
          const show = (b: { confirmed: boolean } | null) => (b === null ? 'absent' : b.confirmed ? 'confirmed' : 'unconfirmed');
          const metrics = await (await fetch(`${net.url(i)}/metrics`, { headers: { authorization: `Bearer ${net.token}` } })).text();
          const open = /^xe_finality_open_conflicts (\d+)/m.exec(metrics)?.[1];
          return `node ${i}: accept ${show(await op.block(i, accept.hash))}, cancel ${show(await op.block(i, cancel.hash))}, open conflicts ${open}`;
        }),
      );
      throw new Error(`${(err as Error).message}\n${seen.join('\n')}`);
    });
    const convergedMs = Date.now() - healedAt;
    const accepted = winner === accept;
    const loser = accepted ? cancel : accept;
    process.stderr.write(`lease race: ${accepted ? 'the accept' : 'the cancel'} won, on every node ${convergedMs} ms after the partition healed\n`);

    // the loser is recorded as such, with the winner, where it had been applied
    const records = (await Promise.all(ALL.map((i) => op.get(i, '/conflicts')))) as unknown as Array<Array<{ rejected: string; winner?: string }>>;
    const losersSide = accepted ? [2, 3] : [0, 1];
    for (const i of losersSide) expect(records[i]!.some((r) => r.rejected === loser.hash && r.winner === winner!.hash)).toBe(true);
    for (const list of records) expect(list.some((r) => r.rejected === winner!.hash)).toBe(false);

    // the lease and the balances, the same on every node and exact for the winner
    const want = accepted
      ? { state: 'accepted', start_time: acceptAtt.timestamp, consumer: before.consumer, provider: before.provider - lease.stake }
      : { state: 'cancelled', start_time: 0n, consumer: before.consumer + lease.cost, provider: before.provider };
    for (const i of ALL) {
      await waitUntil(async () => (await op.get(i, `/leases/${lease.lease_hash}`) as unknown as LeaseJson).state === want.state, { timeoutMs: 10_000, what: `${want.state} on node ${i}` });
      expect(await op.get(i, `/leases/${lease.lease_hash}`)).toMatchObject({ state: want.state, start_time: want.start_time, settled: false });
      const c = await op.get(i, `/accounts/${consumer}/balance`);
      const p = await op.get(i, `/accounts/${provider}/balance`);
      expect(c).toMatchObject({ balances: { XUSD: want.consumer }, spendable: { XUSD: want.consumer } });
      expect(p).toMatchObject({ balances: { XUSD: want.provider, XE: 0n }, spendable: { XUSD: want.provider } });
    }
    // the provider never provisioned for the lease (its accept window is shorter than provisioning time)
    expect(net.log(PROVIDER).split('\n').some((l) => l.includes('VM provisioned') && l.includes(lease.lease_hash))).toBe(false);

    // the ledgers themselves, nodes stopped: consistent, supply identity held, the escrow
    // pending and the stake locked exactly as the winner says, and one agreed state
    await waitUntil(async () => (await Promise.all(ALL.flatMap((i) => [consumer, provider].map((a) => frontierConfirmed(i, a))))).every(Boolean), {
      timeoutMs: 10_000,
      what: 'the lease parties quiet and confirmed',
    });
    for (const i of ALL) await net.kill(i);
    const ledgers = [];
    for (const i of ALL) ledgers.push(await op.inspectLedger(i));
    for (const [i, l] of ledgers.entries()) {
      expect([i, l.report.problems]).toEqual([i, []]);
      // the only lease of the devnet: its escrow is pending and its stake locked while accepted; nothing once cancelled
      expect([i, l.xusd.locked, l.xusd.pending, l.xusd.forfeited, l.xusd.burned]).toEqual([i, accepted ? lease.stake : 0n, accepted ? lease.cost : 0n, 0n, 0n]);
      expect(l.digest).toBe(ledgers[0]!.digest);
    }
  }, 120_000);
});
