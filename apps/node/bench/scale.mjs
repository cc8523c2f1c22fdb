// The twelve-node figures, on the layout `xe-node devnet --nodes 12` starts (devnetRoles:
// 1 consumer, 6 providers with the sandbox backend, 5 timekeepers with threshold 2; every
// node a representative of equal weight, quorum 60, so 8 of 12 confirm).
//
//   propagation_ms_p50_12nodes / propagation_ms_p99_12nodes
//       a send from the consumer's account (PoW solved beforehand) posted with POST /blocks
//       on one node (each node in turn) → its `block` event on the GET /events stream of every
//       node; XE_BENCH_PROP_SAMPLES (60) blocks, one at a time
//   confirm_ms_p50_12nodes   the same blocks → their `confirmed` event on every node
//   lease_accept_ms_p50_12nodes   POST /lease/request on the consumer node → 200, XE_BENCH_SAMPLES
//       (10) sequential after one warm-up lease per provider; its phases as lease_accept_phases_12nodes
//   rss_mb_per_node_12nodes  VmRSS of each node process after the above: value the largest
//
// Env: XE_BENCH_BASE_PORT_12 (default: random in 8100..9900), XE_BENCH_PROP_SAMPLES,
// XE_BENCH_SAMPLES, XE_BENCH_KEEP=1.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, keyPairFromSeed } from '@xe/crypto';
import { buildSend, sealBlock } from '@xe/ledger';
import { DEVNET_DIFFICULTY } from '../dist/index.js';
import { Devnet, EventStream, median, note, PHASES_MEASURED, percentile, phaseMedians, print, requestLease, round, samplePhases, sleep, until } from './lib.mjs';

const NODES = 12;
const PROP_SAMPLES = Number(process.env.XE_BENCH_PROP_SAMPLES ?? 60);
const SAMPLES = Number(process.env.XE_BENCH_SAMPLES ?? 10);
const BASE_PORT = Number(process.env.XE_BENCH_BASE_PORT_12 ?? 8100 + Math.floor(Math.random() * 36) * 50);
const LEASE = { vcpus: 1, memory_mb: 256, disk_gb: 1, duration: 5 };
/** How long one block may take to reach (and be confirmed on) every node before the bench gives up. */
const BLOCK_DEADLINE_MS = 20_000;

/**
 * Block propagation and confirmation over every node's event stream: per block, the time
 * from the POST to its `block` (and `confirmed`) event on the last of the nodes.
 */
async function propagation(net, consumerIndex) {
  const n = net.info.nodes[consumerIndex];
  const key = keyPairFromSeed(readFileSync(join(n.data_dir, 'node.key'), 'utf8').trim());
  const streams = net.info.nodes.map((_, i) => new EventStream(net.url(i)));
  const seen = new Map(); // hash → {blocks: Map<node, t>, confirmed: Map<node, t>, settle}
  streams.forEach((s, i) => {
    const mark = (kind) => (data, at) => {
      const w = seen.get(data.hash);
      if (!w || w[kind].has(i)) return;
      w[kind].set(i, at);
      if (w.blocks.size === NODES && w.confirmed.size === NODES) w.settle();
    };
    s.on('block', mark('blocks'));
    s.on('confirmed', mark('confirmed'));
  });
  await Promise.all(streams.map((s) => s.open()));
  const client = net.client(consumerIndex);
  const dest = 'd1'.repeat(32);
  const prop = [];
  const conf = [];
  try {
    for (let i = 0; i < PROP_SAMPLES; i++) {
      const a = await client.call('GET', `/accounts/${key.address}`);
      const head = { address: key.address, frontier: a.frontier, height: BigInt(a.block_count), balances: a.balances };
      const block = await sealBlock(buildSend(head, { destination: dest, asset: 'XUSD', amount: 1000n, timestamp: BigInt(Date.now()) * 1_000_000n }), key, {
        networkId: net.info.network_id,
        difficulty: DEVNET_DIFFICULTY,
      });
      const w = { blocks: new Map(), confirmed: new Map() };
      const all = new Promise((r) => {
        w.settle = r;
      });
      seen.set(block.hash, w);
      const origin = i % NODES;
      const t0 = performance.now();
      await net.client(origin).call('POST', '/blocks', block, { auth: true });
      let timer;
      const late = new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`block ${block.hash} (posted on node ${origin}): seen on ${w.blocks.size}, confirmed on ${w.confirmed.size} of ${NODES} nodes after ${BLOCK_DEADLINE_MS} ms`)),
          BLOCK_DEADLINE_MS,
        );
      });
      await Promise.race([all, late]).finally(() => clearTimeout(timer));
      seen.delete(block.hash);
      prop.push(Math.max(...w.blocks.values()) - t0);
      conf.push(Math.max(...w.confirmed.values()) - t0);
      // the next block builds on this one: let the consumer node's account view catch up
      await until(async () => (await client.call('GET', `/accounts/${key.address}`)).frontier === block.hash, 'the consumer frontier', 10_000, 5);
    }
  } finally {
    for (const s of streams) s.close();
  }
  return { prop: prop.sort((x, y) => x - y), conf: conf.sort((x, y) => x - y) };
}

export async function twelveNodes() {
  const net = await Devnet.create(NODES, BASE_PORT);
  let stopping;
  const stop = () => {
    stopping ??= net.stop();
    return stopping;
  };
  const onSignal = () => {
    note('interrupted; stopping the twelve-node devnet');
    void stop().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    note(`devnet in ${net.dir}, base port ${BASE_PORT}; starting ${NODES} nodes`);
    const t0 = performance.now();
    await net.start();
    const consumerIndex = net.withRole('consumer')[0];
    const providers = net.withRole('provider');
    const consumer = net.client(consumerIndex);
    const providerAddresses = providers.map((i) => net.info.nodes[i].address);
    await until(
      async () => {
        const seen = new Set((await consumer.call('GET', '/providers')).map((p) => p.address));
        return providerAddresses.every((a) => seen.has(a));
      },
      `the adverts of ${providers.length} providers`,
      120_000,
      500,
    );
    const funded = async (addr) => ((await consumer.call('GET', `/accounts/${addr}`)).balances.XUSD ?? 0n) > 0n;
    await until(
      async () => {
        for (const a of [net.info.nodes[consumerIndex].address, ...providerAddresses]) if (!(await funded(a))) return false;
        return true;
      },
      'genesis funds received',
      120_000,
      500,
    );
    const readyMs = performance.now() - t0;
    note(`${NODES}-node devnet ready in ${Math.round(readyMs)} ms`);
    const roles = { consumer: 1, providers: providers.length, timekeepers: net.withRole('timekeeper').length, representatives: NODES, quorum_pct: 60 };

    const { prop, conf } = await propagation(net, consumerIndex);
    const propCommon = { unit: 'ms', samples: prop.length, nodes: NODES, ...roles };
    const propMeasured = 'a send (PoW solved beforehand) posted with POST /blocks on one node, each node in turn → its `block` event on GET /events of the last of the 12 nodes';
    print({ bench: 'propagation_ms_p50_12nodes', value: round(percentile(prop, 50)), ...propCommon, measured: propMeasured });
    print({ bench: 'propagation_ms_p99_12nodes', value: round(percentile(prop, 99)), ...propCommon, max_ms: round(prop[prop.length - 1]), measured: propMeasured });
    print({
      bench: 'confirm_ms_p50_12nodes',
      value: round(percentile(conf, 50)),
      p90_ms: round(percentile(conf, 90)),
      ...propCommon,
      measured: 'the same blocks → their `confirmed` event on GET /events of the last of the 12 nodes',
    });

    const access = generateKeyPair();
    // The first lease on a provider pays for its first VM; one each (ties go to the most free capacity, so they spread).
    for (let i = 0; i < providers.length; i++) {
      const r = await requestLease(consumer, LEASE, access.pubKeyHex);
      if (!r.ok) throw new Error(`warm-up lease failed: ${r.error}`);
    }
    const accepted = [];
    const failures = [];
    for (let i = 0; i < SAMPLES; i++) {
      const r = await requestLease(consumer, LEASE, access.pubKeyHex);
      if (r.ok) accepted.push(r);
      else failures.push(r.error);
      note(`12 nodes, sequential ${i + 1}/${SAMPLES}: ${r.ok ? `accepted in ${Math.round(r.ms)} ms` : `failed: ${r.error}`}`);
    }
    const ms = accepted.map((r) => r.ms).sort((a, b) => a - b);
    if (ms.length > 0) {
      print({
        bench: 'lease_accept_ms_p50_12nodes',
        value: round(percentile(ms, 50)),
        unit: 'ms',
        samples: ms.length,
        failed: failures.length,
        p90_ms: round(percentile(ms, 90)),
        max_ms: round(ms[ms.length - 1]),
        measured: `POST /lease/request on the consumer node → 200 {lease_hash}, sequential, after ${providers.length} warm-up leases; ${providers.length} providers answer each request`,
        lease: LEASE,
        nodes: NODES,
        ...roles,
      });
      const rows = samplePhases(
        accepted,
        net.logFile(consumerIndex),
        providers.map((i) => net.logFile(i)),
      );
      print({ bench: 'lease_accept_phases_12nodes', ...phaseMedians(rows, ms), unit: 'ms', samples: rows.length, measured: PHASES_MEASURED, nodes: NODES });
    }
    if (failures.length > 0) note(`12-node lease failures: ${failures.join(' | ')}`);

    await sleep(1000);
    const rss = net.rssMb();
    print({
      bench: 'rss_mb_per_node_12nodes',
      value: round(Math.max(...rss)),
      unit: 'MB',
      mean_mb: round(rss.reduce((a, b) => a + b, 0) / rss.length),
      median_mb: round(median(rss)),
      per_node_mb: Object.fromEntries(net.info.nodes.map((n, i) => [n.name, round(rss[i])])),
      measured: 'VmRSS of each node process after the propagation and lease runs; value: the largest',
      nodes: NODES,
      ready_ms: Math.round(readyMs),
    });
  } finally {
    await stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
