import { describe, expect, it } from '@jest/globals';
import { type Block, type Certificate, type GenesisBundle, msToNs, silentLogger, waitUntil } from '@xe/core-types';
import { keyPairFromSeed } from '@xe/crypto';
import { buildSend, createGenesisBundle, Ledger, MemoryStore, sealBlock } from '@xe/ledger';
import { BlockIntake, RETRY_TTL_MS } from '../../src/block-intake.js';
import { Metrics } from '../../src/metrics.js';

const T0 = 1_800_000_000_000_000_000n;
const key = (n: number) => keyPairFromSeed(new Uint8Array(32).fill(n));
const treasury = { XE: key(0xe1), XUSD: key(0xe2) };
const someone = key(0x42);
const DIFFICULTY = 0xf000000000000000n;

async function setup() {
  const bundle: GenesisBundle = await createGenesisBundle({
    networkId: 'intake-unit',
    difficulty: DIFFICULTY,
    timekeepers: { keys: [key(0x31).pubKeyHex], threshold: 1 },
    representatives: [{ address: key(0x31).address, weight: 1n }],
    treasuryKeys: treasury,
    allocations: [],
    timestamp: T0 - 3_600_000_000_000n,
  });
  let now = T0;
  const ledger = await Ledger.open(new MemoryStore(), bundle, { clock: () => now, logger: silentLogger });
  const metrics = new Metrics();
  const fetched: string[] = [];
  const intake = new BlockIntake({
    ledger,
    clock: () => now,
    logger: silentLogger,
    metrics,
    fetchCertificate: async (_provider, hash): Promise<Certificate> => {
      fetched.push(hash);
      throw new Error('no such certificate here');
    },
  });
  /** Two sends from the XUSD treasury, the second after the first. */
  const head = (await ledger.getAccount(treasury.XUSD.address))!;
  const opts = { networkId: bundle.network_id, difficulty: DIFFICULTY };
  const first = await sealBlock(buildSend(head, { destination: someone.address, asset: 'XUSD', amount: 5n, timestamp: T0 }), treasury.XUSD, opts);
  const afterFirst = { ...head, frontier: first.hash, height: head.height + 1n, balances: { ...head.balances, XUSD: head.balances.XUSD - 5n } };
  const second = await sealBlock(buildSend(afterFirst, { destination: someone.address, asset: 'XUSD', amount: 7n, timestamp: T0 + 1n }), treasury.XUSD, opts);
  return { ledger, intake, metrics, fetched, first, second, advance: (ms: number) => (now += msToNs(ms)) };
}

const counted = async (metrics: Metrics, labels: string) => (await metrics.text()).split('\n').find((l) => l.startsWith(`xe_blocks_ingested_total{${labels}}`));

describe('BlockIntake', () => {
  it('holds a live block whose previous is unknown and admits it once the previous arrives', async () => {
    const { ledger, intake, metrics, first, second } = await setup();
    const early = await intake.ingest(second, 'live');
    expect(early).toMatchObject({ status: 'rejected', retryable: true });
    expect(intake.heldCount).toBe(1);
    expect(await intake.ingest(first, 'live')).toMatchObject({ status: 'accepted', hash: first.hash });
    await waitUntil(async () => (await ledger.getBlock(second.hash)) !== undefined, { timeoutMs: 5000, what: 'the held block admitted' });
    expect(intake.heldCount).toBe(0);
    expect(await intake.ingest(first, 'sync')).toEqual({ status: 'duplicate', hash: first.hash });
    expect(await counted(metrics, 'origin="live",result="accepted"')).toMatch(/ 1$/);
    expect(await counted(metrics, 'origin="sync",result="duplicate"')).toMatch(/ 1$/);
  });

  it('holds nothing from sync (sync retries itself) and drops what waited past the TTL', async () => {
    const { ledger, intake, first, second, advance } = await setup();
    await intake.ingest(second, 'sync');
    expect(intake.heldCount).toBe(0);
    await intake.ingest(second, 'live');
    expect(intake.heldCount).toBe(1);
    advance(RETRY_TTL_MS + 1);
    await intake.ingest(first, 'live');
    await waitUntil(() => intake.heldCount === 0, { timeoutMs: 5000, what: 'the expired block dropped' });
    expect(await ledger.getBlock(second.hash)).toBeUndefined();
  });

  it('answers a rejection that is not retryable without holding it', async () => {
    const { intake, first } = await setup();
    const forged: Block = { ...first, signature: 'ab'.repeat(64) } as Block;
    const r = await intake.ingest(forged, 'live');
    expect(r.status).toBe('rejected');
    expect(r.status === 'rejected' && r.retryable).toBe(false);
    expect(intake.heldCount).toBe(0);
  });
});
