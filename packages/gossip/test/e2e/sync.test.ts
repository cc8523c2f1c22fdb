import { afterEach, describe, expect, it } from '@jest/globals';
import type { AdmitResult, Block } from '@xe/core-types';
import { waitUntil } from '@xe/core-types';
import { DEFAULT_SYNC_LIMITS, type GossipNode, type SyncLimits, type SyncSink, type SyncSource, type SyncSummary } from '../../src/index.js';
import { ChainMaker, MemoryLedger } from '../support/chain.mjs';
import { Nodes } from '../support/nodes.js';

async function sameState(a: MemoryLedger, b: MemoryLedger): Promise<void> {
  const fa = (await a.frontiers()).sort((x, y) => (x.account < y.account ? -1 : 1));
  const fb = (await b.frontiers()).sort((x, y) => (x.account < y.account ? -1 : 1));
  expect(fb).toEqual(fa);
  expect([...b.certs.keys()].sort()).toEqual([...a.certs.keys()].sort());
}

/**
 * A node serving `source` (its label `S<n>`) and a requester (`N<n>`) over `ledger` whose
 * sink is `sink`; the requester dials and the first session's summary is returned.
 */
async function syncThrough(
  nodes: Nodes,
  n: number,
  source: MemoryLedger,
  ledger: MemoryLedger,
  sink: SyncSink,
  sourceLimits: Partial<SyncLimits> = {},
): Promise<{ a: GossipNode; b: GossipNode; summary: SyncSummary }> {
  const a = await nodes.start(`S${n}`, { syncLimits: sourceLimits }, { syncSource: source, syncSink: source });
  const b = await nodes.start(`N${n}`, {}, { syncSource: ledger, syncSink: sink });
  const done = new Promise<SyncSummary>((resolve) => b.once('sync:done', resolve));
  await b.dial(a.multiaddrs()[0]!);
  return { a, b, summary: await done };
}

/**
 * A sink over `ledger` that holds every outcome until no new block has been offered for
 * `quietMs`; `stalls` records how many blocks had been offered at each release.
 */
function holdingSink(ledger: MemoryLedger, quietMs: number): { sink: SyncSink; stalls: number[] } {
  let offered = 0;
  const stalls: number[] = [];
  let held: (() => void)[] = [];
  let timer: NodeJS.Timeout | undefined;
  const release = () => {
    stalls.push(offered);
    const go = held;
    held = [];
    for (const f of go) f();
  };
  const sink: SyncSink = {
    ingestBlock: async (block: Block): Promise<AdmitResult> => {
      offered++;
      const r = await ledger.ingestBlock(block);
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(release, quietMs);
      await new Promise<void>((resolve) => held.push(resolve));
      return r;
    },
    ingestCertificate: (cert) => ledger.ingestCertificate(cert),
  };
  return { sink, stalls };
}

describe('catch-up sync', () => {
  const nodes = new Nodes();
  afterEach(() => nodes.stopAll());

  it('brings a node started after 2,000 blocks up to date, then again after a restart and 500 more', async () => {
    const source = new MemoryLedger();
    const maker = new ChainMaker(source, { accounts: 6, label: 'sync' });
    await maker.make(2000);
    expect(maker.leases).toBeGreaterThan(100);
    expect(source.certificateCount).toBeGreaterThan(5);
    const a = await nodes.start('S', {}, { syncSource: source, syncSink: source });

    const ledger = new MemoryLedger();
    const options = { bootstrap: a.multiaddrs() };
    let b = await nodes.start('N', options, { syncSource: ledger, syncSink: ledger });
    await waitUntil(() => ledger.blockCount === 2000, { timeoutMs: 30_000, what: '2,000 blocks synced' });
    await sameState(source, ledger);
    expect(b.counter('xe_sync_received_blocks_total')).toBe(2000);

    await b.stop();
    await maker.make(500);
    b = await nodes.start('N', options, { syncSource: ledger, syncSink: ledger });
    await waitUntil(() => ledger.blockCount === 2500, { timeoutMs: 30_000, what: '500 more blocks synced' });
    await sameState(source, ledger);
    // Only what was missing travelled.
    expect(b.counter('xe_sync_received_blocks_total')).toBe(500);
    expect(a.counter('xe_sync_served_blocks_total')).toBeGreaterThanOrEqual(2500);
  });

  it('retries what the sink reports retryable after the rest of the pages', async () => {
    const source = new MemoryLedger();
    const maker = new ChainMaker(source, { accounts: 4, label: 'retry' });
    const made = await maker.make(600);
    const ledger = new MemoryLedger();
    // A sink that, once, pretends every 50th block names something not yet known.
    const deferred = new Set(made.filter((_, i) => i % 50 === 25).map((b) => b.hash));
    const sink: SyncSink = {
      ingestBlock: async (block: Block): Promise<AdmitResult> => {
        if (deferred.delete(block.hash)) return { status: 'rejected', hash: block.hash, code: 'SOURCE_UNKNOWN', message: 'source unknown', retryable: true };
        return ledger.ingestBlock(block);
      },
      ingestCertificate: (cert) => ledger.ingestCertificate(cert),
    };
    const { a, b, summary } = await syncThrough(nodes, 2, source, ledger, sink);
    expect(summary.received).toBe(600);
    expect(summary.accepted).toBe(600);
    expect(summary.rejected).toBe(0);
    // The deferred blocks and those of their chains that came after them were retried.
    expect(summary.retried).toBeGreaterThanOrEqual(12);
    expect(ledger.retryableSeen).toBeGreaterThan(0);
    await sameState(source, ledger);
    // A second session finds nothing to send.
    const again = await b.sync(a.peerId);
    expect(again.received).toBe(0);
  });

  it('sends the first page after about a page of reads, not after reading every chain ahead', async () => {
    const source = new MemoryLedger();
    const maker = new ChainMaker(source, { accounts: 16, label: 'first-page' });
    await maker.make(3000);
    let read = 0;
    let readAtFirstOffer: number | undefined;
    let firstOffer!: () => void;
    const offered = new Promise<void>((resolve) => {
      firstOffer = resolve;
    });
    // the serving side's source: it counts the blocks read, and once every chain has had
    // its first read (8 blocks) and two chains a second one (32: the treasury's first
    // blocks are the oldest, so its chain runs dry first), a further read waits until the
    // requester has been offered a block — for at most 5 s, after which the reads go on,
    // so a responder that reads more before its first page fails the bound below
    const FIRST_PAGE_READS = 16 * 8 + 2 * 32;
    let released: Promise<unknown> | undefined;
    const counted: SyncSource = {
      frontiers: () => source.frontiers(),
      blocksAfter: async (account, height, limit) => {
        if (read >= FIRST_PAGE_READS) await (released ??= Promise.race([offered, new Promise((r) => setTimeout(r, 5_000))]));
        const blocks = await source.blocksAfter(account, height, limit);
        read += blocks.length;
        return blocks;
      },
      certificate: (hash) => source.certificate(hash),
    };
    const ledger = new MemoryLedger();
    const sink: SyncSink = {
      ingestBlock: (block: Block) => {
        readAtFirstOffer ??= read;
        firstOffer();
        return ledger.ingestBlock(block);
      },
      ingestCertificate: (cert) => ledger.ingestCertificate(cert),
    };
    const a = await nodes.start('F1', {}, { syncSource: counted, syncSink: source });
    const b = await nodes.start('F2', {}, { syncSource: ledger, syncSink: sink });
    const done = new Promise<SyncSummary>((resolve) => b.once('sync:done', resolve));
    await b.dial(a.multiaddrs()[0]!);
    const summary = await done;
    expect(summary.accepted).toBe(3000);
    // 16 chains: the first reads are 8 blocks each, and the first page leaves before more
    // than two chains are read again (first reads of 32 would be 512 blocks)
    expect(readAtFirstOffer).toBeLessThanOrEqual(FIRST_PAGE_READS);
    expect(read).toBe(3000);
    await sameState(source, ledger);
  }, 30_000);

  it('sends pages of pageBlocks (256 by default) blocks', async () => {
    const source = new MemoryLedger();
    await new ChainMaker(source, { accounts: 2, label: 'small-pages' }).make(1200);
    const ledger = new MemoryLedger();
    // the offers seen before each release are the two pages the requester has in flight
    const { sink, stalls } = holdingSink(ledger, 100);
    const { summary } = await syncThrough(nodes, 4, source, ledger, sink);
    expect(summary.accepted).toBe(1200);
    expect(DEFAULT_SYNC_LIMITS.pageBlocks).toBe(256);
    expect(summary.pages).toBeGreaterThanOrEqual(Math.ceil(1200 / 256));
    expect(stalls[0]).toBeLessThanOrEqual(2 * 256);
    for (let i = 1; i < stalls.length; i++) expect(stalls[i]! - stalls[i - 1]!).toBeLessThanOrEqual(2 * 256);
    await sameState(source, ledger);
  }, 30_000);

  it('offers the next page while a page is admitted, never more than two pages at once', async () => {
    const source = new MemoryLedger();
    const maker = new ChainMaker(source, { accounts: 4, label: 'overlap' });
    await maker.make(1800);
    const ledger = new MemoryLedger();
    // the offers seen before each release are what the requester has in flight
    const { sink, stalls } = holdingSink(ledger, 300);
    // a responder sending pages of 512 (a default requester accepts up to 1,024)
    const { summary } = await syncThrough(nodes, 3, source, ledger, sink, { pageBlocks: 512 });
    expect(summary.accepted).toBe(1800);
    // the first page leaves early — 148 blocks: the four chains are read 8, then 32, then
    // 128 blocks at a time, and a quarter-full page (128) goes out before the responder
    // reads again — then full pages of 512: 148 + 3 × 512 + 116
    expect(summary.pages).toBe(5);
    // the first release came with two pages offered (148 + 512), not one; between releases
    // at most two more pages are offered (a page is read only once the one before the
    // previous has settled)
    expect(stalls[0]).toBe(660);
    for (let i = 1; i < stalls.length; i++) expect(stalls[i]! - stalls[i - 1]!).toBeLessThanOrEqual(1024);
    await sameState(source, ledger);
  }, 30_000);
});

