// Ledger benchmarks: admission into LevelDB (on disk) and memory, full lease lifecycles,
// and the ed25519 verify ceiling, all in one run. Build first (pnpm build).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEVNET_LEASE_PARAMS, NS_PER_SEC } from '@xe/core-types';
import { keyPairFromSeed, signAttestation, signCertificate, sign, signVote, VerifierPool, verify } from '@xe/crypto';
import {
  buildAccept, buildLease, buildReceive, buildSend, buildSettle, createGenesisBundle, emptyHead, Ledger, LevelStore, MemoryStore, positionsOf, sealBlock,
} from '../dist/index.js';

const N = Number(process.env.BENCH_BLOCKS ?? 6000);
/** blocks offered at once, as a sync page (512) or a burst of gossip offers them */
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 500);
// the node's path: hash, work and signature on verifier threads, rules in order, group commit
const pool = new VerifierPool();
const LIFECYCLES = Number(process.env.BENCH_LIFECYCLES ?? 300);
/** LevelDB / memory admission runs, alternating (BENCH_PAIRS) */
const PAIRS = Number(process.env.BENCH_PAIRS ?? 7);
const NETWORK = 'bench-net';
const DIFFICULTY = 0xf000000000000000n;
const S = NS_PER_SEC;
const T0 = 1_800_000_000_000_000_000n;
const kp = (n) => keyPairFromSeed(new Uint8Array(32).fill(n));
const users = [1, 2, 3, 4, 5, 6, 7, 8].map(kp);
const prov = kp(20);
const tks = [kp(30), kp(31)];
const seal = (u, k) => sealBlock(u, k, { networkId: NETWORK, difficulty: DIFFICULTY });
const line = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
// three representatives of equal weight, quorum 60 (the finality runs; this ledger observes)
const REPS = [50, 51, 52].map(kp);

const bundle = await createGenesisBundle({
  networkId: NETWORK, difficulty: DIFFICULTY, timekeepers: { keys: tks.map((k) => k.pubKeyHex), threshold: 2 },
  lease: DEVNET_LEASE_PARAMS, representatives: REPS.map((r) => ({ address: r.address, weight: 1n })), quorumPct: 60, treasuryKeys: { XE: kp(40), XUSD: kp(41) },
  allocations: [...users, prov].map((u) => ({ address: u.address, asset: 'XUSD', amount: 10n ** 12n })), timestamp: T0 - 3600n * S,
});

// --- blocks for the admission bench (not timed): opening receives, then sends and receives
async function makeBlocks() {
  const gen = await Ledger.open(new MemoryStore(), bundle, { clock: () => T0 });
  const out = [];
  const add = async (u, k) => {
    const b = await seal(u, k);
    const r = await gen.addBlock(b, { origin: 'sync' });
    if (r.status !== 'accepted') throw new Error(JSON.stringify(r));
    out.push(b);
  };
  const head = async (k) => (await gen.getAccount(k.address)) ?? emptyHead(k.address, k.pubKeyHex);
  for (const u of [...users, prov]) for (const p of await gen.pendingFor(u.address)) await add(buildReceive(await head(u), p, T0), u);
  let i = 0;
  while (out.length < N) {
    const from = users[i % users.length];
    const to = users[(i * 7 + 3) % users.length] === from ? users[(i + 1) % users.length] : users[(i * 7 + 3) % users.length];
    await add(buildSend(await head(from), { destination: to.address, asset: 'XUSD', amount: 1000n + BigInt(i), timestamp: T0 + BigInt(i) }), from);
    const p = (await gen.pendingFor(to.address, { limit: 1 }))[0];
    if (p && out.length < N) await add(buildReceive(await head(to), p, T0 + BigInt(i)), to);
    i++;
  }
  return out;
}

/**
 * Admits `blocks` as the node does — offered IN_FLIGHT at a time (each chunk at once, in
 * order), checked on the verifier pool, admitted in order, written in groups — and returns
 * blocks/s. With `verifySamples`, a short ed25519 verify measurement runs between chunks
 * (not timed as admission), so the ceiling is measured under the same machine conditions
 * as the admission itself. `oneAtATime`: each block awaited before the next is offered.
 */
async function admit(store, blocks, verifySamples, chunkRatios, oneAtATime = false) {
  const ledger = await Ledger.open(store, bundle, { clock: () => T0, verifier: pool });
  const CHUNK = IN_FLIGHT;
  let ms = 0;
  let before = verifySamples ? verifyCeiling(1000) : 0;
  if (verifySamples) verifySamples.push(before);
  for (let i = 0; i < blocks.length; i += CHUNK) {
    const chunk = blocks.slice(i, i + CHUNK);
    const t = performance.now();
    const results = [];
    if (oneAtATime) for (const b of chunk) results.push(await ledger.addBlock(b, { origin: 'live', now: T0 }));
    else results.push(...(await Promise.all(chunk.map((b) => ledger.addBlock(b, { origin: 'live', now: T0 })))));
    for (const r of results) if (r.status !== 'accepted') throw new Error(JSON.stringify(r));
    const chunkMs = performance.now() - t;
    ms += chunkMs;
    if (verifySamples) {
      // each chunk against the verify rate measured right before and right after it
      const after = verifyCeiling(1000);
      verifySamples.push(after);
      chunkRatios.push(chunk.length / (chunkMs / 1000) / ((before + after) / 2));
      before = after;
    }
  }
  await ledger.close();
  return blocks.length / (ms / 1000);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// --- finality: the three representatives; this ledger observes
const FINALITY = { params: { representatives: REPS.map((r) => ({ address: r.address, weight: 1n })), quorum_pct: 60 } };
const FINALITY_BLOCKS = Number(process.env.BENCH_FINALITY_BLOCKS ?? 2000);

/**
 * Admits `blocks` into a ledger running finality (undo records written per block) and,
 * with `votes`, feeds each block's two final votes (a quorum) right after it: blocks/s
 * admitted, or admitted and confirmed.
 */
async function admitWithFinality(store, blocks, votes) {
  const ledger = await Ledger.open(store, bundle, { clock: () => T0, finality: FINALITY });
  const t = performance.now();
  for (const [i, b] of blocks.entries()) {
    const r = await ledger.addBlock(b, { origin: 'live', now: T0 });
    if (r.status !== 'accepted') throw new Error(JSON.stringify(r));
    if (votes) for (const v of votes[i]) await ledger.addVote(v, { origin: 'live', now: T0 });
  }
  const ms = performance.now() - t;
  if (votes && !(await ledger.isConfirmed(blocks[blocks.length - 1].hash))) throw new Error('last block not confirmed');
  await ledger.close();
  return blocks.length / (ms / 1000);
}

// --- lifecycles: lease (consumer) → accept → settle (provider), blocks pre-built
async function makeLifecycles() {
  const gen = await Ledger.open(new MemoryStore(), bundle, { clock: () => T0 });
  const cert = signCertificate({ provider: prov.address, provider_pub_key: prov.pubKeyHex, score: 1n, price_multiplier_milli: 1000n, issued_at: T0 - S, expires_at: T0 + 7n * 24n * 3600n * S }, prov, NETWORK);
  await gen.addCertificate(cert);
  const head = async (k) => (await gen.getAccount(k.address)) ?? emptyHead(k.address, k.pubKeyHex);
  const setup = [];
  const add = async (u, k, list) => {
    const b = await seal(u, k);
    const r = await gen.addBlock(b, { origin: 'sync' });
    if (r.status !== 'accepted') throw new Error(JSON.stringify(r));
    list.push(b);
  };
  for (const u of [...users, prov]) for (const p of await gen.pendingFor(u.address)) await add(buildReceive(await head(u), p, T0), u, setup);
  const cycles = [];
  for (let i = 0; i < LIFECYCLES; i++) {
    const c = users[i % users.length];
    const t = T0 + BigInt(i) * 100n * S;
    const list = [];
    await add(buildLease(await head(c), { certificate: cert, vcpus: 1n, memory_mb: 1024n, disk_gb: 1n, duration: 5n, access_pub_key: c.pubKeyHex, timestamp: t }), c, list);
    const lease = await gen.getLease(list[0].hash);
    const att = (at) => tks.map((k) => signAttestation(k, lease.hash, at));
    await add(buildAccept(await head(prov), lease, { attestations: att(t + S), timestamp: t + S }, DEVNET_LEASE_PARAMS), prov, list);
    const acc = await gen.getLease(lease.hash);
    await add(buildSettle(await head(prov), acc, { attestations: att(acc.expiry + S), timestamp: acc.expiry + S }), prov, list);
    cycles.push(list);
  }
  return { cert, setup, cycles };
}

function verifyCeiling(n = 5000) {
  const k = kp(99);
  const msg = new Uint8Array(32).fill(7);
  const sig = Buffer.from(sign(msg, k)).toString('hex');
  const t = performance.now();
  for (let i = 0; i < n; i++) if (!verify(msg, sig, k.pubKeyHex)) throw new Error('verify failed');
  return n / ((performance.now() - t) / 1000);
}

const blocks = await makeBlocks();
const lc = await makeLifecycles();
verifyCeiling(); // warm-up
// warm-up (not timed): one admission pass in memory and one on LevelDB, so the first
// measured runs do not pay the compilation the later ones are spared
await admit(new MemoryStore(), blocks);
const dir = await mkdtemp(join(tmpdir(), 'ledger-bench-'));
try {
  await admit(await LevelStore.open(join(dir, 'warm-up')), blocks);
  const samples = [];
  const chunkRatios = [];
  // LevelDB and memory alternate, PAIRS times (the first LevelDB run also samples the verify
  // ceiling between its chunks): each figure is the median of its runs, `ratio_to_memory` the
  // median of the pairs' ratios — one pair moves by ±10% on this shared machine
  const levels = [];
  const memories = [];
  const ratios = [];
  for (let i = 0; i < PAIRS; i++) {
    const l = await admit(await LevelStore.open(join(dir, `a-${i}`)), blocks, i === 0 ? samples : undefined, i === 0 ? chunkRatios : undefined);
    const m = await admit(new MemoryStore(), blocks);
    levels.push(l);
    memories.push(m);
    ratios.push(l / m);
  }
  const level = median(levels);
  const memory = median(memories);
  const levelSerial = await admit(await LevelStore.open(join(dir, 'a1')), blocks, undefined, undefined, true);
  const ledger = await Ledger.open(await LevelStore.open(join(dir, 'b')), bundle, { clock: () => T0 });
  await ledger.addCertificate(lc.cert);
  for (const b of lc.setup) await ledger.addBlock(b, { origin: 'sync' });
  const t = performance.now();
  for (const cycle of lc.cycles) {
    for (const b of cycle) {
      const r = await ledger.addBlock(b, { origin: 'sync' });
      if (r.status !== 'accepted') throw new Error(JSON.stringify(r));
    }
  }
  const lifecycles = lc.cycles.length / ((performance.now() - t) / 1000);
  await ledger.close();
  const fBlocks = blocks.slice(0, FINALITY_BLOCKS);
  const fVotes = fBlocks.map((b) => positionsOf(b).flatMap((position) => REPS.slice(0, 2).map((k) => signVote({ position, block_hash: b.hash, round: 0, final: true, timestamp: T0 }, k, NETWORK))));
  const finalityAdmit = await admitWithFinality(await LevelStore.open(join(dir, 'c')), fBlocks);
  const confirmed = await admitWithFinality(await LevelStore.open(join(dir, 'd')), fBlocks, fVotes);
  const verifyPerS = median(samples);
  line({
    bench: 'ed25519_verify_per_s_node',
    value: Math.round(verifyPerS),
    unit: 'verifies/s',
    measured: 'median of samples of 1000 verifies taken before, between and after the 500-block chunks of the LevelDB admission run',
    samples: samples.length,
    min: Math.round(Math.min(...samples)),
    max: Math.round(Math.max(...samples)),
  });
  line({
    bench: 'ledger_blocks_per_s_leveldb',
    value: Math.round(level),
    unit: 'blocks/s',
    blocks: blocks.length,
    ratio_to_verify: +(level / verifyPerS).toFixed(3),
    // this machine's speed drifts within a run: each chunk compared with the verify rate measured around it
    ratio_to_verify_chunk_median: +median(chunkRatios).toFixed(3),
    ratio_to_memory: +median(ratios).toFixed(3),
    ratio_to_memory_pairs: ratios.map((r) => +r.toFixed(3)),
    runs: levels.map(Math.round),
    difficulty: DIFFICULTY.toString(16),
    in_flight: IN_FLIGHT,
    verifier_threads: pool.threads,
    warmup: 'one untimed pass in memory and one on LevelDB before the measured runs',
  });
  line({ bench: 'ledger_blocks_per_s_memory', value: Math.round(memory), unit: 'blocks/s', blocks: blocks.length, ratio_to_verify: +(memory / verifyPerS).toFixed(3), runs: memories.map(Math.round), in_flight: IN_FLIGHT, verifier_threads: pool.threads });
  line({ bench: 'ledger_blocks_per_s_leveldb_one_at_a_time', value: Math.round(levelSerial), unit: 'blocks/s', blocks: blocks.length, note: 'each block awaited before the next is offered: no overlap, one group per block' });
  line({ bench: 'ledger_blocks_per_s_leveldb_finality', value: Math.round(finalityAdmit), unit: 'blocks/s', blocks: fBlocks.length, note: 'admission with finality on (undo records), no votes' });
  line({ bench: 'ledger_confirmed_blocks_per_s_leveldb', value: Math.round(confirmed), unit: 'blocks/s', blocks: fBlocks.length, votes_per_block: 2, note: 'each block admitted, then its two final votes (a quorum of three) counted and the block confirmed' });
  line({ bench: 'ledger_lease_lifecycles_per_s', value: Math.round(lifecycles), unit: 'lifecycles/s', lifecycles: lc.cycles.length, store: 'leveldb', blocks_per_lifecycle: 3 });
} finally {
  await pool.close();
  await rm(dir, { recursive: true, force: true });
}
