import { afterAll, describe, expect, it } from '@jest/globals';
import { type Block, DEVNET_LEASE_PARAMS, type GenesisBundle, silentLogger, waitUntil } from '@xe/core-types';
import { type KeyPair, keyPairFromSeed, signVote } from '@xe/crypto';
import { GossipNode, type SyncSummary } from '@xe/gossip';
import { buildReceive, buildSend, createGenesisBundle, emptyHead, Ledger, MemoryStore, sealBlock } from '@xe/ledger';
import { withConfirmationIntake, withConfirmations } from '../../src/finality.js';
import { ledgerSyncSource } from '../../src/gossip-wiring.js';

/**
 * A node started fresh syncs 2,000 confirmed blocks (10 accounts × 200) from a peer and
 * verifies their confirmations: real ledgers running finality, real libp2p on 127.0.0.1.
 */
const key = (n: number) => keyPairFromSeed(new Uint8Array(32).fill(n));
const REPS = [0x91, 0x92, 0x93].map(key);
const USERS = Array.from({ length: 10 }, (_, i) => key(0x40 + i));
const PER_ACCOUNT = 200;
const DIFFICULTY = 0xf000000000000000n;
const DEST = 'd3'.repeat(32);
const nodes: GossipNode[] = [];

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
});

async function confirmed(ledger: Ledger, bundle: GenesisBundle, block: Block, reps: KeyPair[]): Promise<string> {
  const position = { type: 'chain' as const, account: block.account, previous: block.previous };
  const votes = reps.map((r) => signVote({ position, block_hash: block.hash, round: 0, final: true, timestamp: BigInt(Date.now()) * 1_000_000n }, r, bundle.network_id));
  return (await ledger.addConfirmation({ block_hash: block.hash, votes })).status;
}

function gossipNode(label: number, ledgerHash: string, bundle: GenesisBundle, components: ConstructorParameters<typeof GossipNode>[1], bootstrap: string[] = []): GossipNode {
  const n = new GossipNode(
    { key: key(label), networkId: bundle.network_id, networkHash: ledgerHash, listen: { host: '127.0.0.1', port: 0 }, bootstrap, gossipHeartbeatMs: 100 },
    components,
  );
  nodes.push(n);
  return n;
}

describe('a fresh node syncs confirmed history', () => {
  it('gets 2,000 blocks and the confirmations that cover them, verified against the bundle weights; forged or short ones confirm nothing', async () => {
    const bundle = await createGenesisBundle({
      networkId: 'confirmed-sync',
      difficulty: DIFFICULTY,
      timekeepers: { keys: [REPS[0]!.pubKeyHex], threshold: 1 },
      lease: DEVNET_LEASE_PARAMS,
      representatives: REPS.map((r) => ({ address: r.address, weight: 1n })),
      quorumPct: 60,
      treasuryKeys: { XE: key(0xe1), XUSD: key(0xe2) },
      allocations: USERS.map((u) => ({ address: u.address, asset: 'XUSD' as const, amount: 1_000_000_000n })),
    });
    const finality = { params: bundle.finality };
    const source = await Ledger.open(new MemoryStore(), bundle, { finality, logger: silentLogger });
    const opts = { networkId: bundle.network_id, difficulty: DIFFICULTY };
    for (const u of USERS) {
      const [pending] = await source.pendingFor(u.address);
      let block = await sealBlock(buildReceive(emptyHead(u.address, u.pubKeyHex), pending!, BigInt(Date.now()) * 1_000_000n), u, opts);
      expect((await source.addBlock(block, { origin: 'live' })).status).toBe('accepted');
      expect(await confirmed(source, bundle, block, REPS.slice(0, 2))).toBe('confirmed');
      for (let i = 1; i < PER_ACCOUNT; i++) {
        const head = (await source.getAccount(u.address))!;
        block = await sealBlock(buildSend(head, { destination: DEST, asset: 'XUSD', amount: 1n, timestamp: BigInt(Date.now()) * 1_000_000n }), u, opts);
        expect((await source.addBlock(block, { origin: 'live' })).status).toBe('accepted');
        expect(await confirmed(source, bundle, block, i % 2 === 0 ? REPS.slice(1) : REPS)).toBe('confirmed');
      }
      expect((await source.confirmedFrontier(u.address))?.height).toBe(BigInt(PER_ACCOUNT));
    }

    const fresh = await Ledger.open(new MemoryStore(), bundle, { finality, logger: silentLogger });
    const freshSink = withConfirmationIntake(
      { ingestBlock: (b) => fresh.addBlock(b, { origin: 'sync' }), ingestCertificate: (c) => fresh.addCertificate(c) },
      fresh,
    );
    const a = gossipNode(0x11, source.networkHash, bundle, { syncSource: withConfirmations(ledgerSyncSource(source), source) });
    await a.start();
    const b = gossipNode(0x12, fresh.networkHash, bundle, { syncSource: withConfirmations(ledgerSyncSource(fresh), fresh), syncSink: freshSink }, a.multiaddrs());
    const summaries: SyncSummary[] = [];
    b.on('sync:done', (s) => summaries.push(s));
    const t0 = performance.now();
    await b.start();
    await waitUntil(async () => summaries.some((s) => s.received > 0), { timeoutMs: 60_000, what: 'the sync session' });
    const ms = performance.now() - t0;
    const s = summaries.find((x) => x.received > 0)!;
    expect(s.received).toBe(USERS.length * PER_ACCOUNT);
    expect(s.accepted).toBe(USERS.length * PER_ACCOUNT);
    // one confirmation per account, the newest: it covers the whole chain below it
    expect(s.confirmations).toBe(USERS.length);
    for (const u of USERS) {
      const c = await fresh.confirmedFrontier(u.address);
      expect(c?.height).toBe(BigInt(PER_ACCOUNT));
      const head = (await fresh.getAccount(u.address))!;
      expect(head.balances.XUSD).toBe(1_000_000_000n - BigInt(PER_ACCOUNT - 1));
      expect(await fresh.isConfirmed(head.frontier)).toBe(true);
      expect(await fresh.isConfirmed((await fresh.chain(u.address, { limit: 1 }))[0]!.hash)).toBe(true);
    }
    process.stderr.write(`confirmed sync: ${s.received} blocks, ${s.confirmations} confirmations in ${Math.round(ms)} ms\n`);

    // a peer serving a forged confirmation (a vote's signature swapped) and one short of quorum: they confirm nothing
    const honest = withConfirmations(ledgerSyncSource(source), source);
    const [forgedAcct, shortAcct] = [USERS[0]!.address, USERS[1]!.address];
    const lying = {
      ...honest,
      confirmation: async (account: string) => {
        const c = await honest.confirmation!(account);
        if (c === undefined) return c;
        if (account === forgedAcct) return { ...c, votes: [{ ...c.votes[0]!, signature: c.votes[1]!.signature }, ...c.votes.slice(1)] };
        if (account === shortAcct) return { ...c, votes: c.votes.slice(0, 1) };
        return c;
      },
    };
    const fresh2 = await Ledger.open(new MemoryStore(), bundle, { finality, logger: silentLogger });
    const c = gossipNode(0x13, source.networkHash, bundle, { syncSource: lying });
    await c.start();
    const d = gossipNode(
      0x14,
      fresh2.networkHash,
      bundle,
      {
        syncSource: withConfirmations(ledgerSyncSource(fresh2), fresh2),
        syncSink: withConfirmationIntake({ ingestBlock: (x) => fresh2.addBlock(x, { origin: 'sync' }), ingestCertificate: (x) => fresh2.addCertificate(x) }, fresh2),
      },
      c.multiaddrs(),
    );
    const lied: SyncSummary[] = [];
    d.on('sync:done', (x) => lied.push(x));
    await d.start();
    await waitUntil(async () => lied.some((x) => x.received > 0), { timeoutMs: 60_000, what: 'the sync session with the lying peer' });
    expect(lied.find((x) => x.received > 0)!.confirmations).toBe(USERS.length - 2);
    for (const u of USERS) {
      const want = u.address === forgedAcct || u.address === shortAcct ? undefined : BigInt(PER_ACCOUNT);
      expect([u.address, (await fresh2.confirmedFrontier(u.address))?.height]).toEqual([u.address, want]);
    }
    expect(d.counter('xe_sync_rejected_total', { code: 'CONFIRMATION_INVALID' })).toBe(2);
  }, 180_000);
});
