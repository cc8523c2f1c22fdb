import { describe, expect, it } from '@jest/globals';
import { type Block, DEVNET_LEASE_PARAMS, type GenesisBundle, type JsonValue, NS_PER_SEC, type UnsignedBlock, waitUntil } from '@xe/core-types';
import { type KeyPair, keyPairFromSeed, signAttestation, signCertificate, signVote } from '@xe/crypto';
import {
  type AccountView,
  buildAccept,
  buildLease,
  buildReceive,
  buildSend,
  buildSettle,
  createGenesisBundle,
  emptyHead,
  Ledger,
  MemoryStore,
  positionsOf,
  sealBlock,
} from '@xe/ledger';
import { NodeApi, type NodeApiComponents } from '../../src/api-deps.js';
import { EventHub, feedEventHub, type HubEventName } from '../../src/events.js';
import { MarketplaceBook, spendableXusd } from '../../src/services/marketplace.js';

const T0 = 1_800_000_000_000_000_000n;
const S = NS_PER_SEC;
const NETWORK = 'confirmed-api-unit';
const DIFFICULTY = 0xf000000000000000n;
const key = (n: number) => keyPairFromSeed(new Uint8Array(32).fill(n));
const K = { alice: key(0xa1), bob: key(0xb1), prov: key(0x71), tk: key(0x31), xe: key(0xe1), xusd: key(0xe2) };
/** Three representatives of equal weight, quorum 60: two of them confirm. */
const REPS = [key(0x91), key(0x92), key(0x93)];
const XUSD = 1_000_000n;
const RES = { vcpus: 2n, memory_mb: 1024n, disk_gb: 10n, duration: 3600n };

let bundleP: Promise<GenesisBundle> | undefined;
function bundle(): Promise<GenesisBundle> {
  bundleP ??= createGenesisBundle({
    networkId: NETWORK,
    difficulty: DIFFICULTY,
    timekeepers: { keys: [K.tk.pubKeyHex], threshold: 1 },
    lease: DEVNET_LEASE_PARAMS,
    representatives: REPS.map((r) => ({ address: r.address, weight: 1n })),
    quorumPct: 60,
    treasuryKeys: { XE: K.xe, XUSD: K.xusd },
    allocations: [
      { address: K.alice.address, asset: 'XUSD', amount: 1000n * XUSD },
      { address: K.prov.address, asset: 'XUSD', amount: 1000n * XUSD },
    ],
    timestamp: T0 - 3600n * S,
  });
  return bundleP;
}

/**
 * A ledger running finality as an observer (votes come from the three representatives'
 * keys here), on a MemoryStore, and the node's API over it. The ledger-backed routes read
 * only the ledger, the marketplace book and the clock.
 */
async function world() {
  const b = await bundle();
  let now = T0;
  const clock = () => now;
  const ledger = await Ledger.open(new MemoryStore(), b, { clock, finality: { params: b.finality } });
  const book = new MarketplaceBook(clock);
  const components = { address: K.alice.address, network: ledger.params, ledger, book, clock };
  const api = new NodeApi(components as unknown as NodeApiComponents);
  const head = async (k: KeyPair): Promise<AccountView> => (await ledger.getAccount(k.address)) ?? emptyHead(k.address, k.pubKeyHex);
  const add = async (unsigned: UnsignedBlock, k: KeyPair): Promise<Block> => {
    const block = await sealBlock(unsigned, k, { networkId: NETWORK, difficulty: DIFFICULTY });
    const r = await ledger.addBlock(block, { origin: 'live' });
    if (r.status !== 'accepted') throw new Error(`block refused: ${JSON.stringify(r)}`);
    return block;
  };
  /** Final votes of two representatives at every position of `block`: it is confirmed. */
  const confirm = async (block: Block): Promise<void> => {
    for (const position of positionsOf(block)) {
      for (const rep of REPS.slice(0, 2)) {
        const vote = signVote({ position, block_hash: block.hash, round: 0, final: true, timestamp: now }, rep, NETWORK);
        const r = await ledger.addVote(vote, { origin: 'live' });
        if (r.status === 'rejected') throw new Error(`vote refused: ${JSON.stringify(r)}`);
      }
    }
    if (!(await ledger.isConfirmed(block.hash))) throw new Error(`block ${block.hash} not confirmed by the votes`);
  };
  /** The provider's accept of `leaseHash`, attested at `t` (the clock moves to `t`), admitted. */
  const accept = async (leaseHash: string, t: bigint): Promise<Block> => {
    now = t;
    const record = await ledger.getLease(leaseHash);
    if (record === undefined) throw new Error(`no lease ${leaseHash}`);
    return add(buildAccept(await head(K.prov), record, { attestations: [signAttestation(K.tk, leaseHash, t)], timestamp: t }, DEVNET_LEASE_PARAMS), K.prov);
  };
  const receiveAll = async (k: KeyPair): Promise<Block[]> => {
    const out: Block[] = [];
    for (const p of await ledger.pendingFor(k.address)) out.push(await add(buildReceive(await head(k), p, now), k));
    return out;
  };
  return {
    ledger,
    api,
    book,
    head,
    add,
    accept,
    confirm,
    receiveAll,
    setNow: (t: bigint) => {
      now = t;
    },
  };
}

const zero = { XE: 0n, XUSD: 0n };

/** The provider's certificate, stored; alice's and the provider's allocations received and confirmed first. */
async function certified(w: Awaited<ReturnType<typeof world>>) {
  for (const k of [K.alice, K.prov]) for (const b of await w.receiveAll(k)) await w.confirm(b);
  const cert = signCertificate(
    { provider: K.prov.address, provider_pub_key: K.prov.pubKeyHex, score: 1n, price_multiplier_milli: 1000n, issued_at: T0 - S, expires_at: T0 + 24n * 3600n * S },
    K.prov,
    NETWORK,
  );
  expect((await w.ledger.addCertificate(cert)).status).toBe('accepted');
  return cert;
}

describe('the API serves balances and pending sends from confirmed blocks (SPEC §12), with the head beside them', () => {
  it('an opening receive, then a send: the previous confirmed values until the votes confirm each block', async () => {
    const w = await world();
    const [receive] = await w.receiveAll(K.alice);
    const opened = { frontier: receive!.hash, height: 1n, balances: { XE: 0n, XUSD: 1000n * XUSD } };

    // admitted, not confirmed: nothing of the account is confirmed yet
    expect(await w.ledger.isConfirmed(receive!.hash)).toBe(false);
    expect(await w.api.account(K.alice.address)).toEqual({
      address: K.alice.address,
      balances: zero,
      // the genesis send is confirmed; only an unconfirmed receive took it
      pending: { XE: 0n, XUSD: 1000n * XUSD },
      frontier: '0',
      block_count: 0,
      head: opened,
    });
    expect(await w.api.balance(K.alice.address)).toEqual({ address: K.alice.address, balances: zero, spendable: zero, final_height: 0n, head: opened });
    expect(await w.api.pending(K.alice.address)).toEqual([]); // the head has received it

    await w.confirm(receive!);
    expect(await w.api.account(K.alice.address)).toEqual({
      address: K.alice.address,
      balances: opened.balances,
      pending: zero,
      frontier: receive!.hash,
      block_count: 1,
      head: opened,
    });

    // a send of 100 XUSD to bob, admitted, not confirmed
    const send = await w.add(buildSend(await w.head(K.alice), { destination: K.bob.address, asset: 'XUSD', amount: 100n * XUSD, timestamp: T0 + 1n }), K.alice);
    const after = { frontier: send.hash, height: 2n, balances: { XE: 0n, XUSD: 900n * XUSD } };
    expect(await w.api.account(K.alice.address)).toMatchObject({ balances: opened.balances, frontier: receive!.hash, block_count: 1, head: after });
    expect(await w.api.balance(K.alice.address)).toEqual({
      address: K.alice.address,
      balances: opened.balances,
      spendable: after.balances, // an unconfirmed debit is not spendable twice
      final_height: 1n,
      head: after,
    });
    expect(await w.api.pending(K.bob.address)).toEqual([]); // an unconfirmed send is not receivable
    expect(await w.api.account(K.bob.address)).toBeUndefined();

    await w.confirm(send);
    expect(await w.api.balance(K.alice.address)).toEqual({ address: K.alice.address, balances: after.balances, spendable: after.balances, final_height: 2n, head: after });
    expect(await w.api.account(K.alice.address)).toMatchObject({ balances: after.balances, frontier: send.hash, block_count: 2 });
    expect(await w.api.pending(K.bob.address)).toEqual([{ SendHash: send.hash, Source: K.alice.address, Destination: K.bob.address, Amount: 100n * XUSD, Asset: 'XUSD' }]);
  });
});

describe('the API serves leases and providers from confirmed blocks (SPEC §12)', () => {
  it('a lease is not served until its block is confirmed; an unconfirmed accept leaves it created and the provider unused', async () => {
    const w = await world();
    for (const k of [K.alice, K.prov]) for (const b of await w.receiveAll(k)) await w.confirm(b);
    const cert = signCertificate(
      {
        provider: K.prov.address,
        provider_pub_key: K.prov.pubKeyHex,
        score: 1000n,
        price_multiplier_milli: 1000n,
        issued_at: T0 - 24n * 3600n * S,
        expires_at: T0 + 6n * 24n * 3600n * S,
      },
      K.prov,
      NETWORK,
    );
    expect((await w.ledger.addCertificate(cert)).status).toBe('accepted');
    w.book.putAdvert({
      type: 'advertisement',
      provider: K.prov.address,
      provider_pub_key: K.prov.pubKeyHex,
      vcpus: 8,
      memory_mb: 8192,
      disk_gb: 100,
      price_multiplier_milli: 1000,
      expires_at: T0 + 600n * S,
      timestamp: T0,
      signature: '00'.repeat(64),
    });
    const unused = { active_leases: 0, used_vcpus: 0, available_vcpus: 8, used_memory_mb: 0, total_leases: 0 };
    const lease = await w.add(buildLease(await w.head(K.alice), { certificate: cert, ...RES, access_pub_key: K.bob.pubKeyHex, timestamp: T0 }), K.alice);

    // the lease block admitted, not confirmed: not served
    expect(await w.ledger.getLease(lease.hash)).toMatchObject({ state: 'created' });
    expect(await w.api.getLease(lease.hash)).toBeUndefined();
    expect(await w.api.listLeases({ offset: 0, limit: 100 })).toEqual([]);
    expect(await w.api.listLeases({ state: 'created', offset: 0, limit: 100 })).toEqual([]);

    await w.confirm(lease);
    expect(await w.api.getLease(lease.hash)).toMatchObject({ lease_hash: lease.hash, state: 'created', start_time: 0n });
    expect((await w.api.listLeases({ state: 'created', offset: 0, limit: 100 })).map((l) => l.lease_hash)).toEqual([lease.hash]);

    // the provider's accept admitted, not confirmed: the lease stays created, the provider unused
    const t = T0 + 5n * S;
    const accept = await w.accept(lease.hash, t);
    const record = (await w.ledger.getLease(lease.hash))!;
    expect(record).toMatchObject({ state: 'accepted' });
    expect(await w.api.getLease(lease.hash)).toMatchObject({ state: 'created', start_time: 0n, settled: false });
    expect((await w.api.listLeases({ state: 'created', offset: 0, limit: 100 })).map((l) => l.lease_hash)).toEqual([lease.hash]);
    expect(await w.api.listLeases({ state: 'accepted', offset: 0, limit: 100 })).toEqual([]);
    expect((await w.api.listLeases({ offset: 0, limit: 100 })).map((l) => l.state)).toEqual(['created']);
    expect((await w.api.listProviders())[0]).toMatchObject({ address: K.prov.address, ...unused });
    // the provider's stake left its head, not its confirmed balance
    const stake = record.stake;
    expect(stake).toBeGreaterThan(0n);
    expect((await w.api.balance(K.prov.address)).balances.XUSD).toBe(1000n * XUSD);
    expect((await w.api.balance(K.prov.address)).head.balances.XUSD).toBe(1000n * XUSD - stake);

    await w.confirm(accept);
    expect(await w.api.getLease(lease.hash)).toMatchObject({ state: 'accepted', start_time: t });
    expect((await w.api.listLeases({ state: 'accepted', offset: 0, limit: 100 })).map((l) => l.lease_hash)).toEqual([lease.hash]);
    expect(await w.api.listLeases({ state: 'created', offset: 0, limit: 100 })).toEqual([]);
    expect((await w.api.listProviders())[0]).toMatchObject({
      active_leases: 1,
      used_vcpus: 2,
      available_vcpus: 6,
      used_memory_mb: 1024,
      used_disk_gb: 10,
      available_disk_gb: 90,
      total_leases: 1,
    });
    expect((await w.api.balance(K.prov.address)).balances.XUSD).toBe(1000n * XUSD - stake);
  });

  it('lists by state and pages over confirmed records while other leases wait for votes', async () => {
    const w = await world();
    const cert = await certified(w);
    const leases: Block[] = [];
    for (let i = 0; i < 5; i++) {
      leases.push(await w.add(buildLease(await w.head(K.alice), { certificate: cert, ...RES, access_pub_key: K.bob.pubKeyHex, timestamp: T0 + BigInt(i) }), K.alice));
    }
    // the first three confirmed (a chain: confirming the third confirms those below it)
    await w.confirm(leases[2]!);
    const hashes = leases.map((l) => l.hash);
    expect((await w.api.listLeases({ offset: 0, limit: 100 })).map((l) => l.lease_hash)).toEqual(hashes.slice(0, 3));
    expect((await w.api.listLeases({ offset: 1, limit: 1 })).map((l) => l.lease_hash)).toEqual([hashes[1]]);
    // accept the second, not confirmed: it stays in `created`, in its place
    const t = T0 + 5n * S;
    await w.accept(hashes[1]!, t);
    expect((await w.api.listLeases({ state: 'created', offset: 0, limit: 100 })).map((l) => l.lease_hash)).toEqual(hashes.slice(0, 3));
    expect((await w.api.listLeases({ state: 'created', offset: 1, limit: 2 })).map((l) => l.lease_hash)).toEqual(hashes.slice(1, 3));
    expect((await w.api.listLeases({ state: 'created', offset: 2, limit: 5 })).map((l) => l.lease_hash)).toEqual([hashes[2]]);
    expect(await w.api.listLeases({ state: 'accepted', offset: 0, limit: 100 })).toEqual([]);
    await w.confirm(leases[4]!);
    expect((await w.api.listLeases({ state: 'created', offset: 0, limit: 100 })).map((l) => l.lease_hash)).toEqual(hashes);
  });
});

describe('GET /events follows confirmed blocks (SPEC §12)', () => {
  it('a lease event comes with the confirmation of the block that changed the lease, with the confirmed lease', async () => {
    const w = await world();
    const cert = await certified(w);
    const hub = new EventHub();
    const seen: [HubEventName, JsonValue][] = [];
    const publish = hub.publish.bind(hub);
    hub.publish = (name, data) => {
      seen.push([name, data]);
      return publish(name, data);
    };
    const stop = feedEventHub(hub, { ledger: w.ledger });
    const published = (name: HubEventName, hash: string) =>
      waitUntil(() => seen.some(([n, d]) => n === name && (d as { hash?: string }).hash === hash), { timeoutMs: 5000, what: `${name} ${hash}` });
    const leaseStates = () => seen.filter(([n]) => n === 'lease').map(([, d]) => (d as { state: string }).state);
    try {
      const lease = await w.add(buildLease(await w.head(K.alice), { certificate: cert, ...RES, access_pub_key: K.bob.pubKeyHex, timestamp: T0 }), K.alice);
      await published('block', lease.hash);
      await new Promise((r) => setImmediate(r));
      expect(leaseStates()).toEqual([]); // applied, not confirmed: no lease event

      await w.confirm(lease);
      await waitUntil(() => leaseStates().length === 1, { timeoutMs: 5000, what: 'the created lease event' });
      expect(seen.at(-1)).toEqual(['lease', expect.objectContaining({ lease_hash: lease.hash, state: 'created' })]);
      expect(seen.at(-2)).toEqual(['confirmed', { hash: lease.hash, account: K.alice.address }]);

      const t = T0 + 5n * S;
      const accept = await w.accept(lease.hash, t);
      await published('block', accept.hash);
      await new Promise((r) => setImmediate(r));
      expect(leaseStates()).toEqual(['created']); // the accept is applied, not confirmed

      await w.confirm(accept);
      await waitUntil(() => leaseStates().length === 2, { timeoutMs: 5000, what: 'the accepted lease event' });
      expect(seen.at(-1)).toEqual(['lease', expect.objectContaining({ lease_hash: lease.hash, state: 'accepted', start_time: t })]);
      expect(leaseStates()).toEqual(['created', 'accepted']);
    } finally {
      stop();
      hub.close();
    }
  });
});

describe('what the marketplace counts as spendable is the API\'s spendable (one confirmed-state read)', () => {
  it("a confirmed settle's returned stake counts while a later block of the provider waits for votes (the walk back to its last XUSD block missed it)", async () => {
    const w = await world();
    const cert = await certified(w);
    const lease = await w.add(buildLease(await w.head(K.alice), { certificate: cert, ...RES, access_pub_key: K.bob.pubKeyHex, timestamp: T0 }), K.alice);
    await w.confirm(lease);
    await w.confirm(await w.accept(lease.hash, T0 + 5n * S));
    const accepted = (await w.ledger.getLease(lease.hash))!;
    const end = accepted.expiry + S;
    w.setNow(end);
    const settle = await w.add(buildSettle(await w.head(K.prov), accepted, { attestations: [signAttestation(K.tk, lease.hash, end)], timestamp: end }), K.prov);
    await w.confirm(settle);
    // the settle (an XE block) gave the stake back in XUSD: the provider holds its allocation again
    expect((await w.api.balance(K.prov.address)).balances.XUSD).toBe(1000n * XUSD);
    expect(accepted.stake).toBeGreaterThan(1n);
    // a send of 1 µXUSD, not confirmed yet
    await w.add(buildSend(await w.head(K.prov), { destination: K.alice.address, asset: 'XUSD', amount: 1n, timestamp: end + 1n }), K.prov);
    const spendable = (await w.api.balance(K.prov.address)).spendable.XUSD;
    expect(spendable).toBe(1000n * XUSD - 1n);
    expect(await spendableXusd(w.ledger, K.prov.address)).toBe(spendable);
  });
});
