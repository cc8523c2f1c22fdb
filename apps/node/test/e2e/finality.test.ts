import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Block, type JsonValue, parseJson, stringifyJson, waitUntil } from '@xe/core-types';
import { type KeyPair, keyPairFromSeed } from '@xe/crypto';
import { buildSend, sealBlock } from '@xe/ledger';
import { DEVNET_DIFFICULTY } from '../../src/devnet.js';
import { requestLease, TestNet } from '../support/harness.js';

/**
 * Forks converge (SPEC §12) on four `xe-node start` processes, every node a representative
 * of equal weight, quorum 60 (three of four confirm): two conflicting XUSD sends of one
 * account posted to two different nodes at once.
 */
let net: TestNet;
let access: KeyPair;
const N = 4;
const ALL = [0, 1, 2, 3];
/** Destinations outside the devnet: nobody auto-receives, so no node writes to the chains under test. */
const DEST = ['d1'.repeat(32), 'd2'.repeat(32)];

let denyFile: string;

beforeAll(async () => {
  net = await TestNet.create({ nodes: N });
  // the nodes read a peer deny list (a partition, when it holds two groups); empty: all linked
  denyFile = join(net.dir, 'deny-peers');
  writeFileSync(denyFile, '');
  process.env.XE_PEER_DENY_FILE = denyFile;
  ({ key: access } = net.accessKey());
  await net.startAll();
  await net.waitMarket();
  // every node's allocation received and confirmed everywhere
  await waitUntil(async () => (await Promise.all(ALL.map((i) => settled(i, net.address(i))))).every(Boolean), {
    timeoutMs: 30_000,
    what: 'allocations received and confirmed',
  });
}, 120_000);

afterAll(async () => {
  await net?.stop();
});

async function get(i: number, path: string): Promise<JsonValue> {
  const res = await fetch(`${net.url(i)}${path}`, { headers: { authorization: `Bearer ${net.token}` }, signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  return res.status === 404 ? null : (parseJson(text) as JsonValue);
}

interface AccountJson {
  frontier: string;
  block_count: bigint;
  balances: { XE: bigint; XUSD: bigint };
  /** the chain as applied, confirmed or not (the fields above are the confirmed state) */
  head: { frontier: string; height: bigint; balances: { XE: bigint; XUSD: bigint } };
}

/** An account whose frontier node i holds confirmed. */
async function settled(i: number, address: string): Promise<boolean> {
  const a = (await get(i, `/accounts/${address}`)) as unknown as AccountJson | null;
  if (a === null || a.block_count < 1n) return false;
  const b = (await get(i, `/blocks/${a.frontier}`)) as { confirmed?: boolean } | null;
  return b?.confirmed === true;
}

/** What must be equal on every node: balances, pending sends, chains (hash + confirmed) of every account, and the leases. */
async function digest(i: number, accounts: readonly string[]): Promise<string> {
  const parts: JsonValue[] = [];
  for (const a of accounts) {
    parts.push(await get(i, `/accounts/${a}`));
    parts.push(await get(i, `/pending/${a}`));
    const chain = (await get(i, `/accounts/${a}/chain?limit=1000`)) as { blocks?: { hash: string; confirmed: boolean }[] } | null;
    parts.push((chain?.blocks ?? []).map((b) => `${b.hash}:${b.confirmed}`));
  }
  parts.push(((await get(i, '/leases?limit=1000')) as JsonValue) ?? null);
  return createHash('sha256').update(stringifyJson(parts as JsonValue)).digest('hex');
}

function nodeKey(i: number): KeyPair {
  return keyPairFromSeed(readFileSync(join(net.info.nodes[i]!.data_dir, 'node.key'), 'utf8').trim());
}

/** Two sends of `key`'s account on the same previous, to two destinations. */
async function successor(key: KeyPair, parent: Block, height: bigint, amount: bigint): Promise<Block> {
  const xusd = (parent as { balance: bigint }).balance;
  const head = { address: key.address, frontier: parent.hash, height, balances: { XE: 0n, XUSD: xusd } };
  const ts = BigInt(Date.now()) * 1_000_000n;
  return sealBlock(buildSend(head, { destination: DEST[0]!, asset: 'XUSD', amount, timestamp: ts }), key, { networkId: net.info.network_id, difficulty: DEVNET_DIFFICULTY });
}

async function conflictingPair(from: number, key: KeyPair): Promise<[Block, Block]> {
  const a = (await get(from, `/accounts/${key.address}`)) as unknown as AccountJson;
  const head = { address: key.address, frontier: a.head.frontier, height: a.head.height, balances: a.head.balances };
  const ts = BigInt(Date.now()) * 1_000_000n;
  const seal = (dest: string, amount: bigint) =>
    sealBlock(buildSend(head, { destination: dest, asset: 'XUSD', amount, timestamp: ts }), key, { networkId: net.info.network_id, difficulty: DEVNET_DIFFICULTY });
  return [await seal(DEST[0]!, 1_000_000n), await seal(DEST[1]!, 2_000_000n)];
}

async function post(i: number, block: Block): Promise<number> {
  const res = await fetch(`${net.url(i)}/blocks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${net.token}`, 'content-type': 'application/json' },
    body: stringifyJson(block as unknown as JsonValue),
    signal: AbortSignal.timeout(5000),
  });
  await res.text();
  return res.status;
}

/** Waits until `nodes` agree on the account's frontier, hold it confirmed, and have one digest. */
async function converged(nodes: readonly number[], account: string, pair: readonly Block[], timeoutMs: number): Promise<string> {
  const accounts = [...new Set([...ALL.map((i) => net.address(i)), account, ...DEST])];
  let winner = '';
  await waitUntil(
    async () => {
      const fronts = await Promise.all(nodes.map(async (i) => ((await get(i, `/accounts/${account}`)) as unknown as AccountJson).frontier));
      if (new Set(fronts).size !== 1 || !pair.some((b) => b.hash === fronts[0])) return false;
      if (!(await Promise.all(nodes.map((i) => settled(i, account)))).every(Boolean)) return false;
      const digests = await Promise.all(nodes.map((i) => digest(i, accounts)));
      winner = fronts[0]!;
      return new Set(digests).size === 1;
    },
    { timeoutMs, what: `nodes ${nodes.join(',')} converged on one candidate`, intervalMs: 200 },
  );
  return winner;
}

describe('forks converge on a devnet of 4 representatives (quorum 60)', () => {
  it('two conflicting sends posted to two nodes at once: one winner everywhere within 10 s, then a lease request is accepted', async () => {
    const consumer = nodeKey(2);
    const pair = await conflictingPair(2, consumer);
    const t0 = Date.now();
    const statuses = await Promise.all([post(0, pair[0]), post(3, pair[1])]);
    expect(statuses).toEqual([201, 201]);
    const winner = await converged(ALL, consumer.address, pair, 10_000);
    const ms = Date.now() - t0;
    expect(ms).toBeLessThan(10_000);
    const loser = pair.find((b) => b.hash !== winner)!;
    // the loser is gone everywhere and recorded with the winner where it was held or applied
    for (const i of ALL) expect(await get(i, `/blocks/${loser.hash}`)).toBeNull();
    const records = (await Promise.all(ALL.map((i) => get(i, '/conflicts')))) as unknown as { rejected: string; kept: string; winner?: string }[][];
    expect(records.some((list) => list.some((r) => r.rejected === loser.hash && r.kept === winner && r.winner === winner))).toBe(true);
    // the node reports finality
    const node = (await get(0, '/node')) as { finality: { quorum_pct: bigint; representatives: bigint; online_representatives: bigint; open_conflicts: bigint } };
    expect(node.finality).toMatchObject({ quorum_pct: 60n, representatives: 4n, online_representatives: 4n, open_conflicts: 0n });
    // the account's next lease request is answered (its accept confirmed)
    const res = await requestLease(net, 2, { vcpus: 1, memory_mb: 512, disk_gb: 1, duration: 10, access_pub_key: access.pubKeyHex });
    expect([res.status, res.status === 200 ? {} : res.body]).toEqual([200, {}]);
    const leaseHash = String(res.body.lease_hash);
    const lease = (await get(2, `/leases/${leaseHash}`)) as { state: string; provider: string };
    expect(lease.state).toBe('accepted');
    // the request answered only once the accept was confirmed: the consumer's node holds it confirmed
    const chain = (await get(2, `/accounts/${lease.provider}/chain?limit=100`)) as { blocks: { type: string; source?: string; confirmed: boolean }[] };
    const accept = chain.blocks.find((b) => b.type === 'lease_accept' && b.source === leaseHash);
    expect(accept?.confirmed).toBe(true);
  }, 90_000);

  it('converges with one representative stopped (quorum still met), and the stopped one catches up', async () => {
    await net.kill(3);
    const key = nodeKey(0);
    const pair = await conflictingPair(0, key);
    expect(await Promise.all([post(0, pair[0]), post(1, pair[1])])).toEqual([201, 201]);
    const winner = await converged([0, 1, 2], key.address, pair, 10_000);
    await net.start(3);
    const again = await converged(ALL, key.address, pair, 20_000);
    expect(again).toBe(winner);
  }, 90_000);

  it('with too many stopped nothing confirms and nothing unconfirmed is spendable; it converges once they return', async () => {
    await net.kill(2);
    await net.kill(3);
    const key = nodeKey(0);
    const before = await Promise.all([0, 1].map((i) => get(i, `/accounts/${key.address}/balance`)));
    const pair = await conflictingPair(0, key);
    expect(await Promise.all([post(0, pair[0]), post(1, pair[1])])).toEqual([201, 201]);
    // well past a few round timeouts: neither candidate is confirmed, the confirmed view has not moved
    await new Promise((r) => setTimeout(r, 3000));
    for (const i of [0, 1]) {
      for (const b of pair) expect(((await get(i, `/blocks/${b.hash}`)) as { confirmed?: boolean } | null)?.confirmed ?? false).toBe(false);
      const bal = (await get(i, `/accounts/${key.address}/balance`)) as { spendable: { XUSD: bigint }; final_height: bigint };
      const was = before[i] as { spendable: { XUSD: bigint }; final_height: bigint };
      expect(bal.final_height).toBe(was.final_height);
      expect(bal.spendable.XUSD).toBeLessThanOrEqual(was.spendable.XUSD);
    }
    await net.start(2);
    await net.start(3);
    try {
      await converged(ALL, key.address, pair, 20_000);
    } catch (err) {
      for (const i of ALL) {
        const acc = await get(i, `/accounts/${key.address}`);
        const m = await (await fetch(`${net.url(i)}/metrics`, { headers: { authorization: `Bearer ${net.token}` } })).text();
        process.stderr.write(`DBG ${i} ${stringifyJson(acc)} pair=${pair.map((b) => b.hash.slice(0, 8))}\n${m.split('\n').filter((l) => /xe_votes|confirm|finality|conflict|sync_rejected|blocks_ingested/.test(l) && !l.startsWith('#')).join('\n')}\n`);
        process.stderr.write(net.log(i).split('\n').filter((l) => /finality|dropped|warn|error/i.test(l)).slice(-10).join('\n') + '\n');
      }
      throw err;
    }
  }, 120_000);

  it('a partition: a conflicting pair sent one to each side, each with a block built on it; healed → one winner everywhere, the loser and its successor gone, balances exact', async () => {
    const key = nodeKey(0);
    const peer = (i: number) => String(/\/p2p\/(\w+)$/.exec(net.info.nodes[i]!.p2p)?.[1]);
    const before = ((await get(0, `/accounts/${key.address}`)) as unknown as AccountJson).head.balances.XUSD;
    const height = ((await get(0, `/accounts/${key.address}`)) as unknown as AccountJson).head.height;
    writeFileSync(denyFile, `${peer(0)} ${peer(1)}\n${peer(2)} ${peer(3)}\n`);
    const peersOf = async (i: number) => ((await get(i, '/node')) as { peers: bigint }).peers;
    await waitUntil(async () => (await Promise.all(ALL.map(peersOf))).every((n) => n <= 1n), { timeoutMs: 10_000, what: 'the partition' });
    const pair = await conflictingPair(0, key);
    const next = [await successor(key, pair[0], height + 2n, 3_000_000n), await successor(key, pair[1], height + 2n, 4_000_000n)];
    expect(await Promise.all([post(0, pair[0]), post(2, pair[1])])).toEqual([201, 201]);
    expect(await Promise.all([post(0, next[0]!), post(2, next[1]!)])).toEqual([201, 201]);
    // each side holds its own candidate and successor, unconfirmed (2 of 4 is short of quorum)
    await waitUntil(async () => ((await get(1, `/accounts/${key.address}`)) as unknown as AccountJson).head.frontier === next[0]!.hash, { timeoutMs: 5000, what: 'side A' });
    await waitUntil(async () => ((await get(2, `/accounts/${key.address}`)) as unknown as AccountJson).head.frontier === next[1]!.hash, { timeoutMs: 5000, what: 'side B' });
    for (const [i, b] of [[1, pair[0]], [2, pair[1]]] as const) expect(((await get(i, `/blocks/${b.hash}`)) as { confirmed: boolean }).confirmed).toBe(false);
    writeFileSync(denyFile, '');
    // healed: one winner and its successor everywhere, confirmed; the loser and its successor nowhere
    const accounts = [...new Set([...ALL.map((i) => net.address(i)), key.address, ...DEST])];
    let winner = -1;
    await waitUntil(
      async () => {
        const fronts = await Promise.all(ALL.map(async (i) => ((await get(i, `/accounts/${key.address}`)) as unknown as AccountJson).frontier));
        winner = next.findIndex((b) => b.hash === fronts[0]);
        if (winner < 0 || new Set(fronts).size !== 1) return false;
        if (!(await Promise.all(ALL.map((i) => settled(i, key.address)))).every(Boolean)) return false;
        return new Set(await Promise.all(ALL.map((i) => digest(i, accounts)))).size === 1;
      },
      { timeoutMs: 40_000, what: 'one winner after the partition healed', intervalMs: 250 },
    );
    const loser = 1 - winner;
    for (const i of ALL) {
      expect(await get(i, `/blocks/${pair[loser]!.hash}`)).toBeNull();
      expect(await get(i, `/blocks/${next[loser]!.hash}`)).toBeNull();
      const acct = (await get(i, `/accounts/${key.address}`)) as unknown as AccountJson;
      const spent = (pair[winner] as { amount: bigint }).amount + (next[winner] as { amount: bigint }).amount;
      expect(acct.balances.XUSD).toBe(before - spent);
      expect(acct.block_count).toBe(height + 2n);
    }
  }, 120_000);
});
