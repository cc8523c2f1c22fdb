import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { type AdmitResult, DEFAULT_LEASE_PARAMS, DEVNET_LEASE_PARAMS, type FinalityParams, silentLogger } from '@xe/core-types';
import { keyPairFromSeed, signVote } from '@xe/crypto';
import { buildSend, emptyHead, LedgerEvents, sealBlock } from '@xe/ledger';
import { waitConfirmed } from '../../src/confirmed.js';
import { ledgerFinalityOptions, linkTargets, MAX_REP_LINKS, NodeFinality, REFETCH_MS, REP_LINK_RETRY_MS, roundTimeoutNs, SYNC_ON_GAP_MS } from '../../src/finality.js';
import { Metrics } from '../../src/metrics.js';
import { PeerDenyList } from '../../src/peer-deny-list.js';

const dir = mkdtempSync(join(tmpdir(), 'xe-finality-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('finality wiring decisions', () => {
  it('round timeout: 1 s on a devnet bundle, 5 s on production timings', () => {
    expect(roundTimeoutNs({ lease: DEVNET_LEASE_PARAMS })).toBe(1_000_000_000n);
    expect(roundTimeoutNs({ lease: DEFAULT_LEASE_PARAMS })).toBe(5_000_000_000n);
  });

  it('votes only with a key the bundle lists', () => {
    const me = keyPairFromSeed(new Uint8Array(32).fill(7));
    const other = keyPairFromSeed(new Uint8Array(32).fill(8));
    const bundle = { lease: DEVNET_LEASE_PARAMS, finality: { representatives: [{ address: other.address, weight: 1n }], quorum_pct: 60 } };
    expect(ledgerFinalityOptions(bundle as never, me).key).toBeUndefined();
    expect(ledgerFinalityOptions(bundle as never, other).key).toBe(other);
    expect(ledgerFinalityOptions(bundle as never, other).fetchAfterNs).toBe(2_000_000_000n);
  });
});

describe('waitConfirmed', () => {
  const fake = (confirmed: boolean) => ({ events: new LedgerEvents(), isConfirmed: async () => confirmed });

  it('is false when the block is dropped, the wait times out or the signal aborts; true on its confirmation', async () => {
    const l = fake(false);
    const dropped = waitConfirmed(l, 'aa'.repeat(32), { timeoutMs: 5000 });
    l.events.emit('dropped', { rejected: 'aa'.repeat(32) } as never);
    expect(await dropped).toBe(false);
    expect(await waitConfirmed(l, 'aa'.repeat(32), { timeoutMs: 20 })).toBe(false);
    const ac = new AbortController();
    const aborted = waitConfirmed(l, 'aa'.repeat(32), { timeoutMs: 5000, signal: ac.signal });
    ac.abort();
    expect(await aborted).toBe(false);
    const later = waitConfirmed(l, 'bb'.repeat(32), { timeoutMs: 5000 });
    l.events.emit('confirmed', { hash: 'cc'.repeat(32) });
    l.events.emit('confirmed', { hash: 'bb'.repeat(32) });
    expect(await later).toBe(true);
    expect(await waitConfirmed(fake(true), 'dd'.repeat(32), { timeoutMs: 5000 })).toBe(true);
    expect(l.events.listenerCount('confirmed') + l.events.listenerCount('dropped')).toBe(0);
  });
});

describe('PeerDenyList', () => {
  const A = '12D3KooWA1111111111111111111111111111111111111111111';
  const B = '12D3KooWB2222222222222222222222222222222222222222222';
  const C = '12D3KooWC3333333333333333333333333333333333333333333';

  it('refuses the peers of the other groups only, hangs up the newly refused, and lifts when emptied', () => {
    const file = join(dir, 'deny');
    writeFileSync(file, `${A} ${B}\n${C}\nnot-a-peer-id\n`);
    const hung: string[] = [];
    const list = new PeerDenyList(A, file, async (p) => void hung.push(p), silentLogger);
    list.reload();
    expect([list.denies(B), list.denies(C)]).toEqual([false, true]);
    expect(hung).toEqual([C]);
    const cList = new PeerDenyList(C, file, async () => undefined, silentLogger);
    cList.reload();
    expect([cList.denies(A), cList.denies(B)]).toEqual([true, true]);
    writeFileSync(file, '');
    list.reload();
    expect(list.denies(C)).toBe(false);
    // a node not listed refuses nobody
    writeFileSync(file, `${B}\n${C}\n`);
    list.reload();
    expect([list.denies(B), list.denies(C)]).toEqual([false, false]);
  });
});

describe('representative links', () => {
  const addr = (i: number) => i.toString(16).padStart(64, '0');
  const peer = (i: number) => `peer-${i}`;

  it('links to the heaviest other representatives, at most MAX_REP_LINKS, ties to the lower address', () => {
    const params: FinalityParams = {
      representatives: Array.from({ length: 20 }, (_, i) => ({ address: addr(i + 1), weight: i < 10 ? 2n : 1n })),
      quorum_pct: 60,
    };
    const t = linkTargets(params, addr(1));
    expect(t).toHaveLength(MAX_REP_LINKS);
    expect(t.slice(0, 9)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10].map(addr));
    expect(t.slice(9)).toEqual([11, 12, 13, 14, 15, 16, 17].map(addr));
  });

  /** A node among representatives 1..4 (equal weight); 2 is connected, 3 has a record, 4 has none. */
  function setup(self: number) {
    let nowMs = 1_000_000;
    const dialled: string[] = [];
    const gossip = {
      helloPeerIds: () => [peer(2)],
      findNode: (a: string) => ([2, 3].map(addr).includes(a) ? ({ peer_id: peer(Number.parseInt(a, 16)) } as never) : undefined),
      dialAddress: async (a: string) => {
        dialled.push(a);
        throw new Error('unreachable');
      },
    };
    const f = new NodeFinality({
      ledger: { events: new LedgerEvents() } as never,
      gossip: gossip as never,
      ingestBlock: async () => ({ status: 'duplicate', hash: 'ab'.repeat(32) }) as const,
      bundle: { network_id: 'unit', lease: DEVNET_LEASE_PARAMS, finality: { representatives: [1, 2, 3, 4].map((i) => ({ address: addr(i), weight: 1n })), quorum_pct: 60 } } as never,
      address: addr(self),
      clock: () => BigInt(nowMs) * 1_000_000n,
      logger: silentLogger,
      metrics: new Metrics(),
    });
    return { f, dialled, advance: (ms: number) => (nowMs += ms) };
  }

  it('a representative dials the ones it has a record of and no connection to, again only after the retry delay', async () => {
    const { f, dialled, advance } = setup(1);
    expect(f.linkRepresentatives()).toEqual([addr(3)]);
    await Promise.resolve();
    expect(dialled).toEqual([addr(3)]);
    advance(REP_LINK_RETRY_MS - 1);
    expect(f.linkRepresentatives()).toEqual([]);
    advance(1);
    expect(f.linkRepresentatives()).toEqual([addr(3)]);
  });

  it('a node that is not a representative dials none', () => {
    expect(setup(9).f.linkRepresentatives()).toEqual([]);
  });
});

describe('publishing this node\'s votes', () => {
  it('publishes the newest vote per position of those the ledger emits together; a later burst is published too', async () => {
    const me = keyPairFromSeed(new Uint8Array(32).fill(7));
    const events = new LedgerEvents();
    const published: unknown[] = [];
    const gossip = {
      subscribe: () => undefined,
      handle: () => undefined,
      publish: async (_topic: string, msg: unknown) => {
        published.push((msg as { vote: unknown }).vote);
        return { recipients: 2 };
      },
    };
    const f = new NodeFinality({
      ledger: { events } as never,
      gossip: gossip as never,
      ingestBlock: async () => ({ status: 'duplicate', hash: 'ab'.repeat(32) }) as const,
      bundle: { network_id: 'unit', lease: DEVNET_LEASE_PARAMS, finality: { representatives: [{ address: me.address, weight: 1n }], quorum_pct: 60 } } as never,
      address: me.address,
      clock: () => 0n,
      logger: silentLogger,
      metrics: new Metrics(),
    });
    f.wire();
    const chain = (previous: string) => ({ type: 'chain' as const, account: me.address, previous });
    const vote = (previous: string, round: number, final: boolean, timestamp: bigint) =>
      signVote({ position: chain(previous), block_hash: 'ab'.repeat(32), round, final, timestamp }, me, 'unit');
    const converge = vote('0', 0, false, 10n);
    const final = vote('0', 0, true, 11n);
    const elsewhere = vote('cd'.repeat(32), 0, false, 10n);
    events.emit('vote', converge);
    events.emit('vote', elsewhere);
    events.emit('vote', final);
    await new Promise((r) => setImmediate(r));
    expect(published).toEqual([final, elsewhere]);
    // an older vote emitted after a newer one in the same burst does not replace it
    const next = vote('0', 1, false, 20n);
    events.emit('vote', next);
    events.emit('vote', vote('0', 0, true, 12n));
    await new Promise((r) => setImmediate(r));
    expect(published).toEqual([final, elsewhere, next]);
    f.stop();
  });
});

describe('a fetched block whose dependencies are missing', () => {
  it('makes the node sync with the peer that sent it at once, at most every SYNC_ON_GAP_MS per peer; an admitted one does not', async () => {
    const me = keyPairFromSeed(new Uint8Array(32).fill(7));
    const user = keyPairFromSeed(new Uint8Array(32).fill(8));
    // a block of a chain this node has not seen the start of (its previous is unknown here)
    const head = { ...emptyHead(user.address, user.pubKeyHex), frontier: 'ee'.repeat(32), height: 4n, balances: { XE: 0n, XUSD: 100n } };
    const block = await sealBlock(buildSend(head, { destination: me.address, asset: 'XUSD', amount: 1n, timestamp: 5n }), user, { networkId: 'unit', difficulty: 0n });
    let nowMs = 1_000_000;
    const synced: string[] = [];
    const gossip = {
      subscribe: () => undefined,
      handle: () => undefined,
      publish: async () => ({ recipients: 0 }),
      helloPeerIds: () => ['peer-a'],
      findNode: () => undefined,
      dialAddress: async () => undefined,
      request: async () => ({ confirmations: [], blocks: [block] }),
      sync: async (peer: string) => {
        synced.push(peer);
        return { accepted: 5 };
      },
    };
    let answer: AdmitResult = { status: 'rejected', code: 'UNKNOWN_PREVIOUS', message: 'previous unknown', retryable: true, hash: block.hash };
    const f = new NodeFinality({
      ledger: { events: new LedgerEvents(), finalityTick: async () => ({ fetch: [block.hash] }), votingHalted: false } as never,
      gossip: gossip as never,
      ingestBlock: async () => answer,
      bundle: { network_id: 'unit', lease: DEVNET_LEASE_PARAMS, finality: { representatives: [{ address: me.address, weight: 1n }], quorum_pct: 60 } } as never,
      address: me.address,
      clock: () => BigInt(nowMs) * 1_000_000n,
      logger: silentLogger,
      metrics: new Metrics(),
    });
    await f.tick();
    expect(synced).toEqual(['peer-a']);
    // asked again before SYNC_ON_GAP_MS: the same gap does not start another sync
    nowMs += REFETCH_MS;
    await f.tick();
    expect(synced).toEqual(['peer-a']);
    nowMs += SYNC_ON_GAP_MS;
    await f.tick();
    expect(synced).toEqual(['peer-a', 'peer-a']);
    // a fetched block that is admitted (or refused for good) shows no gap
    nowMs += SYNC_ON_GAP_MS;
    answer = { status: 'accepted', hash: block.hash, block };
    await f.tick();
    answer = { status: 'rejected', code: 'BAD_SIGNATURE', message: 'bad', retryable: false, hash: block.hash };
    nowMs += SYNC_ON_GAP_MS;
    await f.tick();
    expect(synced).toEqual(['peer-a', 'peer-a']);
  });
});
