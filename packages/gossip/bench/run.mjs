// Gossip and sync benchmarks over loopback. Build first (`pnpm build`); run with `pnpm bench`.
// Prints one JSON line per figure.
import { GossipNode } from '../dist/index.js';
import { ChainMaker, keyFor, MemoryLedger, NETWORK_HASH, NETWORK_ID } from '../test/support/chain.mjs';
import { ConfirmedLedger } from '../test/support/confirmed.mjs';

const print = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function node(label, options = {}, components = {}) {
  return new GossipNode(
    { key: keyFor(`bench/${label}`), networkId: NETWORK_ID, networkHash: NETWORK_HASH, listen: { host: '127.0.0.1', port: 0 }, gossipHeartbeatMs: 100, ...options },
    components,
  );
}

async function waitUntil(check, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const accept = () => ({ action: 'accept' });
const TOPIC = 'xe/marketplace';
const padding = 'x'.repeat(420);

async function latency4Hops(count) {
  const line = [];
  const arrivals = new Map();
  for (let i = 0; i < 5; i++) {
    const n = node(`line-${i}`, { bootstrap: i === 0 ? [] : line[i - 1].multiaddrs() });
    n.subscribe(TOPIC, accept, i === 4 ? (msg) => arrivals.set(Number(msg.seq), performance.now()) : () => undefined);
    await n.start();
    line.push(n);
  }
  try {
    await waitUntil(() => line.every((n, i) => n.meshPeers(TOPIC).length === (i === 0 || i === 4 ? 1 : 2)), 'mesh');
    // Warm-up.
    for (let seq = -20; seq < 0; seq++) {
      await line[0].publish(TOPIC, { type: 'request', seq, padding });
      await waitUntil(() => arrivals.has(seq), 'warm-up message');
    }
    const samples = [];
    for (let seq = 0; seq < count; seq++) {
      const t0 = performance.now();
      await line[0].publish(TOPIC, { type: 'request', seq, padding });
      await waitUntil(() => arrivals.has(seq), `message ${seq}`);
      samples.push(arrivals.get(seq) - t0);
    }
    samples.sort((a, b) => a - b);
    return samples;
  } finally {
    await Promise.all(line.map((n) => n.stop()));
  }
}

async function throughput(count) {
  let received = 0;
  const a = node('tp-a');
  a.subscribe(TOPIC, accept, () => undefined);
  await a.start();
  const b = node('tp-b', { bootstrap: a.multiaddrs() });
  b.subscribe(TOPIC, accept, () => {
    received++;
  });
  await b.start();
  try {
    await waitUntil(() => a.meshPeers(TOPIC).length === 1, 'mesh');
    const t0 = performance.now();
    for (let seq = 0; seq < count; seq++) await a.publish(TOPIC, { type: 'request', seq, padding });
    await waitUntil(() => received >= count, 'all messages', 60_000);
    return (count / (performance.now() - t0)) * 1000;
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}

async function syncRate(blocks, confirmed = false) {
  const source = confirmed ? new ConfirmedLedger() : new MemoryLedger();
  await new ChainMaker(source, { accounts: 16, label: 'bench' }).make(blocks);
  if (confirmed) source.confirmAll();
  const a = node('sync-a', {}, { syncSource: source, syncSink: source });
  await a.start();
  const sink = confirmed ? new ConfirmedLedger({ verify: true }) : new MemoryLedger({ verify: true });
  const b = node('sync-b', {}, { syncSource: sink, syncSink: sink });
  await b.start();
  try {
    const done = new Promise((resolve) => b.once('sync:done', resolve));
    const t0 = performance.now();
    await b.dial(a.multiaddrs()[0]);
    const summary = await done;
    const ms = performance.now() - t0;
    if (sink.blockCount !== blocks) throw new Error(`synced ${sink.blockCount} of ${blocks}`);
    if (confirmed) {
      for (const [account, chain] of source.chains) {
        if (sink.confirmedHeight(account) !== chain.length) throw new Error(`account ${account} not confirmed after sync`);
      }
    }
    return { rate: (blocks / ms) * 1000, ms, pages: summary.pages, certificates: summary.certificates, confirmations: summary.confirmations, votes: sink.verifiedVotes };
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}

const lat = await latency4Hops(500);
print({ bench: 'gossip_p50_ms_4hops', value: Number(percentile(lat, 50).toFixed(3)), unit: 'ms', samples: lat.length, message_bytes: 480 });
print({ bench: 'gossip_p99_ms_4hops', value: Number(percentile(lat, 99).toFixed(3)), unit: 'ms', samples: lat.length, target: '< 50' });
const tp = await throughput(5000);
print({ bench: 'gossip_msgs_per_s', value: Math.round(tp), unit: 'msg/s', nodes: 2, messages: 5000, message_bytes: 480 });
const s = await syncRate(10_000);
print({
  bench: 'sync_blocks_per_s',
  value: Math.round(s.rate),
  unit: 'blocks/s',
  blocks: 10_000,
  elapsed_ms: Math.round(s.ms),
  pages: s.pages,
  certificates: s.certificates,
  ingest: 'parse + hash recompute + ed25519 verify + previous==frontier + source/certificate dependency checks, in memory',
  target: '>= 2000',
});
const sc = await syncRate(10_000, true);
print({
  bench: 'sync_blocks_per_s_confirmed',
  value: Math.round(sc.rate),
  unit: 'blocks/s',
  blocks: 10_000,
  elapsed_ms: Math.round(sc.ms),
  pages: sc.pages,
  confirmations: sc.confirmations,
  votes_verified: sc.votes,
  ratio_to_sync_blocks_per_s: Number((sc.rate / s.rate).toFixed(3)),
  ingest: 'as sync_blocks_per_s, then each account newest confirmation (3 representatives, quorum 60) verified: signatures, position, quorum',
  target: '>= 0.8 x sync_blocks_per_s',
});
