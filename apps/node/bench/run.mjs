// Lease benchmarks over a real devnet on 127.0.0.1: three node processes (timekeeper,
// provider with the sandbox backend, consumer), then twelve (`scale.mjs`). Build first
// (`pnpm build`); run with `pnpm bench`. Prints one JSON line per figure.
//
//   confirm_ms_p50               a block posted (POST /blocks on the consumer's node) → confirmed
//                                (SPEC §12) on all three nodes, p50 of XE_BENCH_CONFIRM_SAMPLES (20)
//   lease_accept_ms_p50          POST /lease/request → 200 {lease_hash}, p50 of 10 sequential
//   lease_accept_phases          where those requests' time goes, phase by phase (medians), from
//                                the consumer's and the provider's log lines
//   leases_per_min_one_provider  leases one provider accepts per minute, requests made back
//                                to back for a fixed window by as many workers as it has room for
//   *_12nodes                    see scale.mjs
//
// Env: XE_BENCH_BASE_PORT (default: random in 7400..7990), XE_BENCH_WINDOW_S (default 60),
// XE_BENCH_SAMPLES (default 10), XE_BENCH_KEEP=1 keeps the devnet directory, XE_BENCH_ONLY=confirm
// measures confirm_ms_p50 alone, XE_BENCH_12NODES=0 skips the twelve-node figures,
// XE_BENCH_LOG_LEVEL=debug runs the nodes at debug (the offer round then logs each offer's timing).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, keyPairFromSeed } from '@xe/crypto';
import { buildSend, sealBlock } from '@xe/ledger';
import { DEVNET_DIFFICULTY } from '../dist/index.js';
import { Devnet, note, PHASES_MEASURED, percentile, phaseMedians, print, requestLease, round, samplePhases, sleep, until } from './lib.mjs';
import { twelveNodes } from './scale.mjs';

const CONFIRM_SAMPLES = Number(process.env.XE_BENCH_CONFIRM_SAMPLES ?? 20);
/** Poll interval of GET /blocks/{hash} while waiting for a confirmation (kept under the per-IP read limit). */
const POLL_MS = 5;

/**
 * confirm_ms_p50: sends from the consumer's account (its key from the devnet dir) to an
 * address outside the devnet, sealed before the clock starts; each posted to the consumer's
 * node, then every node polled (5 ms) until GET /blocks/{hash} says confirmed.
 */
async function confirmLatency(net) {
  const n = net.info.nodes[2];
  const key = keyPairFromSeed(readFileSync(join(n.data_dir, 'node.key'), 'utf8').trim());
  const clients = [0, 1, 2].map((i) => net.client(i));
  const dest = 'd0'.repeat(32);
  const samples = [];
  for (let i = 0; i < CONFIRM_SAMPLES; i++) {
    const a = await clients[2].call('GET', `/accounts/${key.address}`);
    // `head`: the chain as applied (the top-level fields are the confirmed state)
    const head = { address: key.address, frontier: a.head.frontier, height: a.head.height, balances: a.head.balances };
    const block = await sealBlock(buildSend(head, { destination: dest, asset: 'XUSD', amount: 1000n, timestamp: BigInt(Date.now()) * 1_000_000n }), key, {
      networkId: net.info.network_id,
      difficulty: DEVNET_DIFFICULTY,
    });
    const t0 = performance.now();
    await clients[2].call('POST', '/blocks', block, { auth: true });
    const done = [false, false, false];
    const deadline = t0 + 10_000;
    while (!done.every(Boolean)) {
      if (performance.now() > deadline) throw new Error(`block ${block.hash} not confirmed on every node within 10 s`);
      await Promise.all(
        clients.map(async (c, j) => {
          if (done[j]) return;
          const b = await c.call('GET', `/blocks/${block.hash}`).catch((err) => {
            if (err.status === 429) throw new Error('rate-limited while polling: the figure would be wrong');
            return undefined;
          });
          if (b?.confirmed === true) done[j] = true;
        }),
      );
      if (!done.every(Boolean)) await sleep(POLL_MS);
    }
    samples.push(performance.now() - t0);
    await sleep(250); // the read limit (50/s, burst 200) refills between samples
  }
  return samples.sort((x, y) => x - y);
}

const SAMPLES = Number(process.env.XE_BENCH_SAMPLES ?? 10);
const WINDOW_S = Number(process.env.XE_BENCH_WINDOW_S ?? 60);
const BASE_PORT = Number(process.env.XE_BENCH_BASE_PORT ?? 7400 + Math.floor(Math.random() * 60) * 10);
const LEASE = { vcpus: 1, memory_mb: 256, disk_gb: 1, duration: 5 };
const PROVIDER = { vcpus: 4, memory_mb: 4096, disk_gb: 40 }; // what devnetNodeArgs advertises
const SLOTS = Math.min(
  Math.floor(PROVIDER.vcpus / LEASE.vcpus),
  Math.floor(PROVIDER.memory_mb / LEASE.memory_mb),
  Math.floor(PROVIDER.disk_gb / LEASE.disk_gb),
);

/**
 * Leases this bench has open on the provider. A slot is taken before a request and given
 * back once the consumer's node sees the lease leave `created`/`accepted` (settled,
 * cancelled), so requests never ask for more than the provider advertises: an offer made
 * for capacity that is gone by the time the lease block arrives would leave the request
 * waiting for an accept that never comes.
 */
class Slots {
  open = new Set();
  waiters = [];

  constructor(client, size) {
    this.client = client;
    this.size = size;
    this.timer = setInterval(() => void this.poll(), 250);
  }

  async poll() {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const hash of [...this.open]) {
        if (typeof hash !== 'string') continue;
        const l = await this.client.call('GET', `/leases/${hash}`).catch(() => undefined);
        if (l && l.state !== 'created' && l.state !== 'accepted') this.release(hash);
      }
    } finally {
      this.polling = false;
    }
  }

  /** Resolves with a ticket once fewer than `size` leases are open. */
  async take() {
    while (this.open.size >= this.size) await new Promise((r) => this.waiters.push(r));
    const ticket = Symbol('slot');
    this.open.add(ticket);
    return ticket;
  }

  /** The ticket became a lease (tracked until it ends) or failed (freed now). */
  settle(ticket, leaseHash) {
    this.open.delete(ticket);
    if (leaseHash) this.open.add(leaseHash);
    else this.wake();
  }

  release(hash) {
    if (this.open.delete(hash)) this.wake();
  }

  wake() {
    const w = this.waiters.shift();
    if (w) w();
  }

  async drain(timeoutMs) {
    await until(() => this.open.size === 0, 'open leases to settle', timeoutMs, 250);
  }

  close() {
    clearInterval(this.timer);
  }
}

async function main() {
  const net = await Devnet.create(3, BASE_PORT);
  let slots;
  let stopping;
  const stop = () => {
    stopping ??= (async () => {
      slots?.close();
      await net.stop();
    })();
    return stopping;
  };
  const onSignal = () => {
    note('interrupted; stopping the devnet');
    void stop().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    note(`devnet in ${net.dir}, base port ${BASE_PORT}; starting 3 nodes`);
    const t0 = performance.now();
    await net.start();
    const consumer = net.client(2);
    const providerAddress = net.info.nodes[1].address;
    const consumerAddress = net.info.nodes[2].address;
    await until(async () => (await consumer.call('GET', '/providers')).some((p) => p.address === providerAddress), 'the provider advert', 60_000);
    const funded = async (addr) => ((await consumer.call('GET', `/accounts/${addr}`)).balances.XUSD ?? 0n) > 0n;
    await until(async () => (await funded(consumerAddress)) && (await funded(providerAddress)), 'genesis funds received', 60_000);
    note(`devnet ready in ${Math.round(performance.now() - t0)} ms`);

    // 0. Confirmation latency (SPEC §12), before any lease traffic
    const conf = await confirmLatency(net);
    print({
      bench: 'confirm_ms_p50',
      value: round(percentile(conf, 50)),
      unit: 'ms',
      samples: conf.length,
      p90_ms: round(percentile(conf, 90)),
      max_ms: round(conf[conf.length - 1]),
      measured: 'POST /blocks (a send, PoW solved beforehand) on the consumer node → GET /blocks/{hash} confirmed on all 3 nodes (polled every 5 ms); 3 representatives, quorum 60',
      target: '< 50',
      nodes: 3,
    });

    if (process.env.XE_BENCH_ONLY === 'confirm') return;

    const access = generateKeyPair();
    slots = new Slots(consumer, SLOTS);

    // One warm-up lease (first VM, first certificate fetch, JIT), not counted.
    {
      const ticket = await slots.take();
      const r = await requestLease(consumer, LEASE, access.pubKeyHex);
      slots.settle(ticket, r.ok ? r.hash : undefined);
      if (!r.ok) throw new Error(`warm-up lease failed: ${r.error}`);
      note(`warm-up lease accepted in ${Math.round(r.ms)} ms`);
    }

    // 1. Sequential: one request at a time; waiting for a free slot is not timed.
    const samples = [];
    const accepted = [];
    const failures = [];
    for (let i = 0; i < SAMPLES; i++) {
      const ticket = await slots.take();
      const r = await requestLease(consumer, LEASE, access.pubKeyHex);
      slots.settle(ticket, r.ok ? r.hash : undefined);
      if (r.ok) {
        samples.push(r.ms);
        accepted.push(r);
      } else failures.push(r.error);
      note(`sequential ${i + 1}/${SAMPLES}: ${r.ok ? `accepted in ${Math.round(r.ms)} ms` : `failed: ${r.error}`}`);
    }
    samples.sort((a, b) => a - b);
    const common = {
      backend: 'sandbox',
      difficulty: `0x${DEVNET_DIFFICULTY.toString(16)}`,
      offer_window_ms: 1000,
      offer_round: 'closes once every provider the consumer knows to have room has answered, else at the window',
      lease: LEASE,
      provider_capacity: PROVIDER,
      nodes: 3,
    };
    if (samples.length > 0) {
      print({
        bench: 'lease_accept_ms_p50',
        value: round(percentile(samples, 50)),
        unit: 'ms',
        samples: samples.length,
        failed: failures.length,
        measured: 'POST /lease/request on the consumer node → 200 {lease_hash} (offer window, lease block, VM provisioned, attested, lease_accept seen), sequential, after 1 warm-up',
        ...common,
      });
      print({
        bench: 'lease_accept_ms_context',
        p50: round(percentile(samples, 50)),
        p90: round(percentile(samples, 90)),
        min: round(samples[0]),
        max: round(samples[samples.length - 1]),
        mean: round(samples.reduce((a, b) => a + b, 0) / samples.length),
        unit: 'ms',
        samples: samples.length,
        target_p50_ms: 250,
      });
      const rows = samplePhases(accepted, net.logFile(2), [net.logFile(1)]);
      // XE_BENCH_ROWS=1: each sample's phases too (to see what the slow ones spend)
      if (process.env.XE_BENCH_ROWS === '1') for (const [i, row] of rows.entries()) note(`sample ${i + 1}: ${Math.round(accepted[i].ms)} ms ${JSON.stringify(row)}`);
      print({
        bench: 'lease_accept_phases',
        ...phaseMedians(rows, accepted.map((r) => r.ms)),
        unit: 'ms',
        samples: rows.length,
        measured: PHASES_MEASURED,
        nodes: 3,
      });
    }
    if (failures.length > 0) note(`sequential failures: ${failures.join(' | ')}`);

    // 2. Throughput: SLOTS workers request back to back for WINDOW_S seconds; each waits
    //    for a free slot (the provider has room for SLOTS such leases at once).
    await slots.drain(120_000);
    const windowStart = performance.now();
    const windowEnd = windowStart + WINDOW_S * 1000;
    const results = [];
    const worker = async () => {
      while (performance.now() < windowEnd) {
        const ticket = await slots.take();
        if (performance.now() >= windowEnd) {
          slots.settle(ticket, undefined);
          break;
        }
        const r = await requestLease(consumer, LEASE, access.pubKeyHex);
        slots.settle(ticket, r.ok ? r.hash : undefined);
        results.push(r);
        if (!r.ok) await sleep(1000);
      }
    };
    note(`throughput: ${SLOTS} workers for ${WINDOW_S} s`);
    await Promise.all(Array.from({ length: SLOTS }, worker));
    const inWindow = results.filter((r) => r.ok && r.done <= windowEnd);
    const lat = results.filter((r) => r.ok).map((r) => r.ms).sort((a, b) => a - b);
    print({
      bench: 'leases_per_min_one_provider',
      value: round((inWindow.length * 60) / WINDOW_S),
      unit: 'leases/min',
      window_s: WINDOW_S,
      accepted_in_window: inWindow.length,
      failed: results.filter((r) => !r.ok).length,
      concurrency: SLOTS,
      measured: `${SLOTS} workers make POST /lease/request back to back for ${WINDOW_S} s, at most ${SLOTS} leases open at once (the provider's room); counts 200 answers inside the window`,
      bound_by: `capacity turnover: each lease holds ${LEASE.vcpus} of ${PROVIDER.vcpus} vCPUs for accept + ${LEASE.duration} s duration + settle`,
      accept_ms_p50_under_load: lat.length ? round(percentile(lat, 50)) : null,
      accept_ms_p90_under_load: lat.length ? round(percentile(lat, 90)) : null,
      accept_bound_per_min_sequential: samples.length ? round(60_000 / percentile(samples, 50)) : null,
      ...common,
    });
    const errs = results.filter((r) => !r.ok).map((r) => r.error);
    if (errs.length > 0) note(`throughput failures: ${[...new Set(errs)].join(' | ')}`);
  } finally {
    await stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (process.env.XE_BENCH_ONLY !== 'confirm' && process.env.XE_BENCH_12NODES !== '0') await twelveNodes();
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
    process.exit(1);
  },
);
