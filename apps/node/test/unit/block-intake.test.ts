import { describe, expect, it } from '@jest/globals';
import { type Block, type Certificate, type GenesisBundle, msToNs, silentLogger, waitUntil } from '@xe/core-types';
import { keyPairFromSeed, signCertificate } from '@xe/crypto';
import { buildLease, buildSend, createGenesisBundle, Ledger, MemoryStore, sealBlock } from '@xe/ledger';
import { BlockIntake, MAX_CERT_FETCHES, RETRY_TTL_MS } from '../../src/block-intake.js';
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
  const published: string[] = [];
  let gate: Promise<void> = Promise.resolve();
  const intake = new BlockIntake({
    ledger,
    clock: () => now,
    logger: silentLogger,
    metrics,
    fetchCertificate: async (_provider, hash): Promise<Certificate> => {
      fetched.push(hash);
      await gate;
      throw new Error('no such certificate here');
    },
    publish: async (block) => {
      published.push(block.hash);
    },
  });
  /** Two sends from the XUSD treasury, the second after the first. */
  const head = (await ledger.getAccount(treasury.XUSD.address))!;
  const opts = { networkId: bundle.network_id, difficulty: DIFFICULTY };
  const first = await sealBlock(buildSend(head, { destination: someone.address, asset: 'XUSD', amount: 5n, timestamp: T0 }), treasury.XUSD, opts);
  const afterFirst = { ...head, frontier: first.hash, height: head.height + 1n, balances: { ...head.balances, XUSD: head.balances.XUSD - 5n } };
  const second = await sealBlock(buildSend(afterFirst, { destination: someone.address, asset: 'XUSD', amount: 7n, timestamp: T0 + 1n }), treasury.XUSD, opts);
  /** A lease of the treasury's account naming a certificate this ledger has not seen. */
  const leaseWithUnknownCertificate = async (n: number) => {
    const prov = key(0x70 + n);
    const certificate = signCertificate(
      { provider: prov.address, provider_pub_key: prov.pubKeyHex, score: 1000n, price_multiplier_milli: 1000n, issued_at: T0 - 1n, expires_at: T0 + 3_600_000_000_000n },
      prov,
      bundle.network_id,
    );
    const lease = await sealBlock(
      buildLease(head, { certificate, vcpus: 1n, memory_mb: 512n, disk_gb: 1n, duration: 60n, access_pub_key: someone.pubKeyHex, timestamp: T0 }),
      treasury.XUSD,
      opts,
    );
    return { lease, certificate };
  };
  const hold = () => {
    let release = () => {};
    gate = new Promise<void>((r) => (release = r));
    return release;
  };
  return { ledger, intake, metrics, fetched, published, first, second, leaseWithUnknownCertificate, hold, advance: (ms: number) => (now += msToNs(ms)) };
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

  it('gossips a block of its own or its API that waited for a dependency once it is admitted; a peer\'s is not re-published', async () => {
    const { ledger, intake, published, first, second } = await setup();
    await intake.ingest(second, 'live');
    await intake.ingest(first, 'live');
    await waitUntil(async () => (await ledger.getBlock(second.hash)) !== undefined, { timeoutMs: 5000, what: 'the held block admitted' });
    // the first was admitted at once: its submitter publishes it; the held one is published here
    expect(published).toEqual([second.hash]);

    const other = await setup();
    await other.intake.ingest(other.second, 'live', 'peer-a');
    await other.intake.ingest(other.first, 'live', 'peer-a');
    await waitUntil(async () => (await other.ledger.getBlock(other.second.hash)) !== undefined, { timeoutMs: 5000, what: "the peer's held block admitted" });
    expect(other.published).toEqual([]);
  });

  it('asks for the certificate a lease block names, whether it came live or by sync; at most MAX_CERT_FETCHES at once, one per certificate', async () => {
    const { intake, fetched, leaseWithUnknownCertificate, hold } = await setup();
    const { lease, certificate } = await leaseWithUnknownCertificate(0);
    expect(await intake.ingest(lease, 'sync')).toMatchObject({ status: 'rejected', code: 'UNKNOWN_CERTIFICATE', retryable: true });
    await waitUntil(() => fetched.includes(certificate.hash), { timeoutMs: 5000, what: 'the certificate fetch' });
    expect(intake.heldCount).toBe(0);

    const release = hold();
    fetched.length = 0;
    const leases = [];
    for (let i = 1; i <= MAX_CERT_FETCHES + 4; i++) leases.push(await leaseWithUnknownCertificate(i));
    for (const l of leases) await intake.ingest(l.lease, 'sync');
    await intake.ingest(leases[0]!.lease, 'sync');
    expect(fetched).toHaveLength(MAX_CERT_FETCHES);
    expect(new Set(fetched).size).toBe(MAX_CERT_FETCHES);
    release();
  });
});
