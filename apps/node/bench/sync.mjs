// sync_blocks_per_s_leveldb: a fresh node catching up XE_BENCH_SYNC_BLOCKS (10,000) blocks
// from a peer onto LevelDB. Two processes on 127.0.0.1: the peer (a child process of a run)
// holds the blocks in its LevelDB ledger and serves /xe/sync/1.0.0; the fresh node (the
// run's process) runs the node's own intake path — GossipNode sync → BlockIntake → Ledger
// on LevelDB with finality on as the node opens it, the verifier pool (worker threads)
// and group commit. The clock runs from the dial to the end of the sync session. The
// history: 16 accounts, each opening with its allocation's receive and then sending to
// the others (sync serves chain by chain; receives naming sends of chains served later
// would go through sync's sequential retry passes, which this figure does not measure).
// Then `sync_blocks_per_s_leveldb_warm`: the same process syncs a second fresh ledger from
// the same peer (another node key), its code and the peer's now optimised by V8 — not the
// target figure; the difference is the warm-up a fresh process pays.
// Each line carries `machine_ed25519_verify_us` {before, after}: this machine's speed at the
// time (µs per OpenSSL verify; it drifts by a third within minutes here).
// Each figure is the median of XE_BENCH_SYNC_RUNS (5) runs, each a process of its own; every
// run's lines are printed first (`…_sample`). Build first (`pnpm build`). Prints one JSON line
// per figure. XE_BENCH_PEER_PROF=<dir> writes a CPU profile of the serving peer there (the
// fresh node: run node with --cpu-prof; its options are passed on to each run's process).
import { spawn } from 'node:child_process';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { bundleToJson, DEVNET_LEASE_PARAMS, NS_PER_SEC, parseGenesisBundle, silentLogger, stringifyJson } from '@xe/core-types';
import { ed25519Accelerator, keyPairFromSeed, networkHash, VerifierPool } from '@xe/crypto';
import { GossipNode } from '@xe/gossip';
import { buildReceive, buildSend, createGenesisBundle, emptyHead, Ledger, LevelStore, sealBlock } from '@xe/ledger';
import { BlockIntake } from '../dist/block-intake.js';
import { ledgerFinalityOptions, withConfirmationIntake, withConfirmations } from '../dist/finality.js';
import { intakeSyncSink, ledgerSyncSource } from '../dist/gossip-wiring.js';
import { Metrics } from '../dist/metrics.js';
import { print } from './lib.mjs';

const BLOCKS = Number(process.env.XE_BENCH_SYNC_BLOCKS ?? 10_000);
const ACCOUNTS = 16;
const DIFFICULTY = 0xf000000000000000n;
const T0 = 1_800_000_000_000_000_000n;
const kp = (n) => keyPairFromSeed(new Uint8Array(32).fill(n));
const users = Array.from({ length: ACCOUNTS }, (_, i) => kp(i + 1));
const clock = () => T0;

/** The peer's ledger, as a node opens it: LevelDB, finality from the bundle (an observer key). */
async function openLedger(dir, bundle, key, verifier) {
  return Ledger.open(await LevelStore.open(dir), bundle, {
    clock,
    finality: ledgerFinalityOptions(bundle, key),
    ...(verifier ? { verifier } : {}),
  });
}

function gossipNode(bundle, key, ledger, sink) {
  return new GossipNode(
    { key, networkId: bundle.network_id, networkHash: networkHash(bundle), listen: { host: '127.0.0.1', port: 0 }, syncIntervalMs: 3_600_000 },
    { logger: silentLogger, syncSource: withConfirmations(ledgerSyncSource(ledger), ledger), syncSink: sink },
  );
}

// ---------------------------------------------------------------- the peer (child process)

async function serve(dir, bundleFile) {
  const bundle = parseGenesisBundle(readFileSync(bundleFile, 'utf8'));
  const key = kp(90);
  const ledger = await openLedger(join(dir, 'peer'), bundle, key);
  const head = async (k) => (await ledger.getAccount(k.address)) ?? emptyHead(k.address, k.pubKeyHex);
  const seal = (u, k) => sealBlock(u, k, { networkId: bundle.network_id, difficulty: DIFFICULTY });
  let made = 0;
  const add = async (u, k) => {
    const r = await ledger.addBlock(await seal(u, k), { origin: 'sync' });
    if (r.status !== 'accepted') throw new Error(JSON.stringify(r));
    made++;
  };
  // each account opens with the receive of its allocation, then sends to the others; no block
  // names another account's block after the bundle, so sync admits every page in one pass
  for (const u of users) for (const p of await ledger.pendingFor(u.address)) await add(buildReceive(await head(u), p, T0), u);
  for (let i = 0; made < BLOCKS; i++) {
    const from = users[i % ACCOUNTS];
    const to = users[(i * 7 + 3) % ACCOUNTS] === from ? users[(i + 1) % ACCOUNTS] : users[(i * 7 + 3) % ACCOUNTS];
    await add(buildSend(await head(from), { destination: to.address, asset: 'XUSD', amount: 1000n + BigInt(i), timestamp: T0 + BigInt(i) }), from);
  }
  const node = gossipNode(bundle, key, ledger, withConfirmationIntake(intakeSyncSink(intakeOf(ledger)), ledger));
  await node.start();
  print({ ready: node.multiaddrs()[0], blocks: made });
  // runs until the parent closes stdin
  process.stdin.resume();
  await new Promise((r) => process.stdin.once('end', r));
  await node.stop();
  await ledger.close();
}

function intakeOf(ledger) {
  return new BlockIntake({
    ledger,
    clock,
    logger: silentLogger,
    metrics: new Metrics(),
    fetchCertificate: () => Promise.reject(new Error('no certificates in this bench')),
  });
}

// ---------------------------------------------------------------- the fresh node (this process)

/**
 * How fast this machine is right now: µs per OpenSSL Ed25519 verify (node:crypto, one
 * thread), the median of five rounds of 400. The machine's speed drifts by a third within
 * minutes; the figure is printed with it, so runs can be compared in like conditions.
 * node:crypto only: none of the node's own code is run (and warmed) by it.
 */
function machineGauge() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const msg = Buffer.alloc(32, 7);
  const sig = sign(null, msg, privateKey);
  const rounds = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    for (let i = 0; i < 400; i++) verify(null, msg, publicKey, sig);
    rounds.push(((performance.now() - t) * 1000) / 400);
  }
  return Math.round(rounds.sort((a, b) => a - b)[2] * 10) / 10;
}
let gauge;

/** CPU time (user + system) a process has used so far, in ms, from /proc (Linux). */
function procCpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime are fields 14 and 15 of the whole line (11 and 12 after the name)
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'xe-sync-bench-'));
  let child;
  try {
    const bundle = await createGenesisBundle({
      networkId: 'sync-bench',
      difficulty: DIFFICULTY,
      timekeepers: { keys: [kp(80).pubKeyHex], threshold: 1 },
      lease: DEVNET_LEASE_PARAMS,
      representatives: [{ address: kp(70).address, weight: 1n }],
      treasuryKeys: { XE: kp(60), XUSD: kp(61) },
      allocations: users.map((u) => ({ address: u.address, asset: 'XUSD', amount: 10n ** 12n })),
      timestamp: T0 - 3600n * NS_PER_SEC,
    });
    const bundleFile = join(dir, 'bundle.json');
    writeFileSync(bundleFile, stringifyJson(bundleToJson(bundle)));

    child = spawn(process.execPath, [...(process.env.XE_BENCH_PEER_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.XE_BENCH_PEER_PROF] : []), fileURLToPath(import.meta.url), 'serve', dir, bundleFile], { stdio: ['pipe', 'pipe', 'inherit'] });
    const ready = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the peer did not get ready in 5 min')), 300_000);
      child.once('exit', (code) => reject(new Error(`the peer exited (${code})`)));
      createInterface({ input: child.stdout }).once('line', (line) => {
        clearTimeout(timer);
        resolve(JSON.parse(line));
      });
    });

    gauge = machineGauge();
    await syncOnce('cold', dir, bundle, ready, child);
    await syncOnce('warm', dir, bundle, ready, child);
  } finally {
    if (child && child.exitCode === null) {
      child.stdin.end();
      const exited = new Promise((r) => child.once('exit', r));
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A fresh ledger and gossip node in this process sync the peer's blocks; prints the figure.
 * `cold`: the first run of the process (the figure); `warm`: a second one, code optimised.
 */
async function syncOnce(run, dir, bundle, ready, child) {
  const verifier = new VerifierPool();
  // as xe-node does at start: the threads boot before the first block arrives
  verifier.start();
  const key = kp(run === 'cold' ? 91 : 92);
  const ledger = await openLedger(join(dir, `fresh-${run}`), bundle, key, verifier);
  const node = gossipNode(bundle, key, ledger, withConfirmationIntake(intakeSyncSink(intakeOf(ledger)), ledger));
  await node.start();
  try {
    const done = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('sync did not finish in 5 min')), 300_000);
      node.once('sync:done', (summary) => {
        clearTimeout(timer);
        resolve(summary);
      });
    });
    const cpu0 = process.cpuUsage();
    const faults0 = process.resourceUsage().minorPageFault;
    const peerCpu0 = procCpuMs(child.pid);
    const t0 = performance.now();
    await node.dial(ready.ready);
    const summary = await done;
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const faults = process.resourceUsage().minorPageFault - faults0;
    const peerCpuMs = procCpuMs(child.pid) - peerCpu0;
    const frontiers = await ledger.frontiers();
    const users_ = new Set(users.map((u) => u.address));
    const synced = frontiers.filter((f) => users_.has(f.account)).reduce((n, f) => n + Number(f.height), 0);
    if (synced !== ready.blocks) throw new Error(`synced ${synced} of ${ready.blocks} blocks (${JSON.stringify(summary)})`);
    if ((await ledger.checkConsistency()).problems.length > 0) throw new Error('the synced ledger is not consistent');
    print({
      bench: run === 'cold' ? 'sync_blocks_per_s_leveldb' : 'sync_blocks_per_s_leveldb_warm',
      value: Math.round((ready.blocks / ms) * 1000),
      unit: 'blocks/s',
      blocks: ready.blocks,
      ms: Math.round(ms),
      pages: summary.pages,
      accounts: ACCOUNTS,
      blocks_mix: 'per account: the allocation receive, then sends (no cross-account dependency after the bundle)',
      retried: summary.retried,
      store: 'leveldb',
      processes: 'two: the peer serving (child), the fresh node syncing (this one), 127.0.0.1',
      path: 'GossipNode sync → BlockIntake → Ledger (finality on, verifier pool, group commit)',
      verifier_threads: verifier.threads,
      ed25519: ed25519Accelerator() === undefined ? 'openssl' : `${ed25519Accelerator()} first, openssl on its rejections`,
      verified_by_thread: verifier.stats().byWorker,
      verified_inline: verifier.stats().inline,
      // CPU time over the clocked window: this process (main thread, verifier thread, LevelDB's
      // threads) and the serving peer; two cores give at most 2 × ms
      cpu_ms_fresh: Math.round((cpu.user + cpu.system) / 1000),
      cpu_ms_fresh_system: Math.round(cpu.system / 1000),
      // pages this process touched for the first time in the window (each a kernel fault)
      page_faults_fresh: faults,
      cpu_ms_peer: Math.round(peerCpuMs),
      // the machine's speed just before the cold sync and now (see machineGauge)
      machine_ed25519_verify_us: { before: gauge, after: machineGauge() },
      ...(run === 'cold'
        ? { process: 'fresh: the first sync of this process (its code not yet optimised by V8)', target: '>= 6000' }
        : { process: 'warm: the same process syncs a second fresh ledger from the same peer; not the target figure, it shows the share of V8 warm-up' }),
    });
  } finally {
    await node.stop();
    await ledger.close();
    await verifier.close();
  }
}

// ---------------------------------------------------------------- the figure: a median of runs

/**
 * Runs `XE_BENCH_SYNC_RUNS` (5) samples, each a process of its own (`sample`: a fresh peer,
 * then the cold and the warm sync), prints each sample's lines (`…_sample`, with `run`),
 * then each figure: the median sample's line, with every sample's value in run order.
 * A cold sync is a fresh process's first, so a figure read from one is one draw from a
 * machine whose speed drifts by a third within minutes; the target is read as a median.
 */
async function samples() {
  const runs = Math.max(1, Math.floor(Number(process.env.XE_BENCH_SYNC_RUNS ?? 5)));
  const byBench = new Map();
  for (let run = 1; run <= runs; run++) {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'sample'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = [];
    // figure lines are JSON objects naming a bench; anything else a run prints (a V8 trace
    // flag's output, say) goes on to stderr untouched
    createInterface({ input: child.stdout }).on('line', (line) => {
      let value;
      try {
        value = JSON.parse(line);
      } catch {
        value = undefined;
      }
      if (typeof value?.bench === 'string') lines.push(value);
      else process.stderr.write(`${line}\n`);
    });
    const code = await new Promise((resolve) => child.once('close', resolve));
    if (code !== 0) throw new Error(`sync sample ${run} exited with ${code}`);
    for (const line of lines) {
      print({ ...line, bench: `${line.bench}_sample`, run });
      if (!byBench.has(line.bench)) byBench.set(line.bench, []);
      byBench.get(line.bench).push(line);
    }
  }
  for (const [bench, lines] of byBench) {
    const sorted = [...lines].sort((a, b) => a.value - b.value);
    // the lower middle for an even count: never a value no run produced
    const mid = sorted[(sorted.length - 1) >> 1];
    print({ ...mid, bench, samples: lines.map((l) => l.value), statistic: `median of ${lines.length} runs, each a fresh process` });
  }
}

if (process.argv[2] === 'serve') await serve(process.argv[3], process.argv[4]);
else if (process.argv[2] === 'sample') await main();
else await samples();
