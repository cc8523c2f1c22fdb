// A hostile peer in its own OS process, for the adversarial e2e test. Built from the
// compiled @xe/gossip with fresh keys; every loop runs at a fixed rate, for a fixed time,
// and stops by itself. It dials only the multiaddrs it is given (the test's loopback devnet).
//
// Argument: JSON {targets: [multiaddr], networkId, networkHash, difficulty, durationMs,
//   marketplacePerSec, nodeRecords, syncSessions, orphanBlocks, jobs}; `jobs` names the loops
//   this process runs (marketplace, records, orphans, sync; default all), so a test can
//   spread them over processes.
// It first signs its node records and seals its orphan blocks ({event: 'prepared'}), then
// waits for a line `go` on stdin, connects ({event: 'ready'}), attacks and prints
// {event: 'done', sent}.
import { randomBytes } from 'node:crypto';
import { on, once } from 'node:events';
import { createInterface } from 'node:readline';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { PROTOCOLS, TOPICS } from '@xe/core-types';
import { generateKeyPair, signMarketplace, signNodeRecord } from '@xe/crypto';
import { ACCEPT, GossipNode, peerIdFromPubKeyHex } from '@xe/gossip';
import { buildSend, sealBlock } from '@xe/ledger';

const SIZE = { vcpus: 1, memory_mb: 256, disk_gb: 1, duration: 60 };

if (!isMainThread) {
  // The signer: makes marketplace messages at the flood's rate on its own thread, so the
  // rate does not depend on what the publishing thread is doing.
  const { networkId, perSec, durationMs } = workerData;
  const keyPool = Array.from({ length: 256 }, () => generateKeyPair());
  const honest = [];
  parentPort.on('message', (id) => {
    honest.push(id);
    if (honest.length > 32) honest.shift();
  });
  const t0 = Date.now();
  const total = Math.floor((perSec * durationMs) / 1000);
  let i = 0;
  while (i < total) {
    const started = Date.now();
    // what is due by now, from the start: a slow tick is made up in the next, not lost
    const due = Math.min(total, Math.floor((perSec * (started - t0)) / 1000));
    const batch = [];
    while (i < due) {
      i++;
      const k = keyPool[i % keyPool.length];
      const now = BigInt(Date.now()) * 1_000_000n;
      if (i % 2 === 0) {
        // a request sized to the provider from a key with no XUSD
        batch.push(signMarketplace('request', networkId, { type: 'request', consumer: k.address, consumer_pub_key: k.pubKeyHex, request_id: randomBytes(16).toString('hex'), ...SIZE, timestamp: now }, k));
      } else {
        // a junk offer: unknown certificate, fake capacity, lowest price, to an honest request when there is one
        const big = Number.MAX_SAFE_INTEGER;
        const requestId = honest.length > 0 ? honest[i % honest.length] : randomBytes(16).toString('hex');
        const msg = { type: 'offer', provider: k.address, provider_pub_key: k.pubKeyHex, request_id: requestId, ...SIZE, total_cost: 1n, certificate_hash: randomBytes(32).toString('hex'), available_vcpus: big, available_memory_mb: big, available_disk_gb: big, timestamp: now };
        batch.push(signMarketplace('offer', networkId, msg, k));
      }
    }
    parentPort.postMessage(batch);
    await new Promise((r) => setTimeout(r, Math.max(0, 50 - (Date.now() - started))));
  }
  parentPort.postMessage('end');
  process.exit(0);
}

const args = JSON.parse(process.argv[2] ?? '{}');
const out = (o) => process.stdout.write(`${JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
for (const t of args.targets) if (!t.startsWith('/ip4/127.0.0.1/')) throw new Error(`loopback targets only: ${t}`);

let until = Number.POSITIVE_INFINITY;
const running = () => Date.now() < until;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sent = { requests: 0, offers: 0, nodeRecords: 0, syncOpened: 0, orphans: 0 };
/** When the marketplace flood started and when its last message went out (its rate is over this span). */
const flood = { startedAt: 0, endedAt: 0 };

/** Two identities: one publishes, both hold silent sync sessions (libp2p allows 2 per connection). */
const nodes = [0, 1].map(
  () =>
    new GossipNode({
      key: generateKeyPair(),
      networkId: args.networkId,
      networkHash: args.networkHash,
      listen: { host: '127.0.0.1', port: 0 },
      gossipHeartbeatMs: 200,
    }),
);
const [main] = nodes;
let signer;
main.subscribe(
  TOPICS.marketplace,
  () => ACCEPT,
  (msg) => {
    if (msg?.type === 'request') signer?.postMessage(msg.request_id);
  },
);
main.subscribe(TOPICS.blocks, () => ACCEPT, () => undefined);
/**
 * Runs `fn` `perSec` times a second in ticks of 50 ms until the time is up or `max` is reached;
 * each tick does what is due by then since the start, so a slow tick is made up in the next.
 */
async function atRate(perSec, max, fn) {
  const t0 = Date.now();
  let done = 0;
  // the last tick may fall just after the end: it still sends what was due
  while (done < max && Date.now() < until + 1000) {
    const started = Date.now();
    const due = Math.min(max, Math.floor((perSec * (started - t0)) / 1000));
    // the tick's messages go out together, not one awaited publish after another
    const tick = [];
    while (done < due) {
      done++;
      tick.push(fn(done).catch(() => undefined));
    }
    await Promise.all(tick);
    await sleep(Math.max(0, 50 - (Date.now() - started)));
  }
}

/** Publishes what the signer thread makes, as it comes. */
async function marketplace() {
  signer = new Worker(new URL(import.meta.url), { workerData: { networkId: args.networkId, perSec: args.marketplacePerSec, durationMs: args.durationMs } });
  signer.on('error', (err) => process.stderr.write(`signer: ${err.message}\n`));
  for await (const [batch] of on(signer, 'message')) {
    if (batch === 'end') break;
    flood.startedAt ||= Date.now();
    // published together: the next batch is taken as soon as this one is on the wire
    await Promise.all(
      batch.map((msg) =>
        main.publish(TOPICS.marketplace, msg).then(
          () => {
            if (msg.type === 'request') sent.requests++;
            else sent.offers++;
            flood.endedAt = Date.now();
          },
          () => undefined,
        ),
      ),
    );
  }
}

function makeRecord() {
  const k = generateKeyPair();
  return signNodeRecord(
    {
      address: k.address,
      pub_key: k.pubKeyHex,
      peer_id: peerIdFromPubKeyHex(k.pubKeyHex),
      multiaddrs: ['/ip4/127.0.0.1/tcp/9'],
      roles: ['provider', 'timekeeper'],
      timestamp: BigInt(Date.now()) * 1_000_000n,
    },
    k,
    args.networkId,
  );
}

async function nodeRecord(i) {
  await main.publish(TOPICS.nodes, { record: records[i - 1] });
  sent.nodeRecords++;
}

/** A send whose previous block nobody has: held by the receiver as waiting for a dependency. */
function makeOrphan() {
  const k = generateKeyPair();
  const head = { address: k.address, pub_key: k.pubKeyHex, frontier: randomBytes(32).toString('hex'), height: 7n, balances: { XE: 0n, XUSD: 1_000n } };
  return sealBlock(buildSend(head, { destination: k.address, asset: 'XUSD', amount: 1n, timestamp: BigInt(Date.now()) * 1_000_000n }), k, {
    networkId: args.networkId,
    difficulty: BigInt(args.difficulty),
  });
}

async function orphan(i) {
  await main.publish(TOPICS.blocks, { block: orphans[i - 1] });
  sent.orphans++;
}

/** Keeps `n` sync streams open and silent across the targets, reopening one whenever it is closed. */
async function silentSync(n) {
  const open = new Set();
  let attempts = 0;
  while (running() && attempts < 10_000) {
    while (open.size < n && running() && attempts < 10_000) {
      const p = peers[attempts++ % peers.length];
      const s = await p.node.openStream(p.peerId, PROTOCOLS.sync, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
      if (!s) continue;
      sent.syncOpened++;
      s.on('error', () => undefined);
      s.once('close', () => open.delete(s));
      s.resume();
      open.add(s);
    }
    await sleep(200);
  }
  for (const s of open) s.destroy();
}

// Ammunition made before the attack, so the attack itself runs at its rates on one core.
const jobs = new Set(args.jobs ?? ['marketplace', 'records', 'orphans', 'sync']);
const records = jobs.has('records') ? Array.from({ length: args.nodeRecords }, makeRecord) : [];
const orphans = [];
if (jobs.has('orphans')) for (let i = 0; i < args.orphanBlocks; i++) orphans.push(await makeOrphan());
out({ event: 'prepared' });
const lines = createInterface({ input: process.stdin });
await once(lines, 'line');
lines.close();

for (const n of nodes) await n.start();
const peers = [];
const dialStarted = Date.now();
for (const n of nodes) for (const t of args.targets) peers.push({ node: n, peerId: await n.dial(t, { signal: AbortSignal.timeout(10_000) }) });
out({ event: 'dialled', ms: Date.now() - dialStarted });
// wait (bounded) until the publisher is in the marketplace mesh of every target
for (let i = 0; i < 100 && main.meshPeers(TOPICS.marketplace).length < args.targets.length; i++) await sleep(100);
until = Date.now() + args.durationMs;
const started = Date.now();
out({ event: 'ready', peerId: main.peerId });
const progress = setInterval(() => out({ event: 'progress', elapsedMs: Date.now() - started, sent }), 2000);

await Promise.all([
  jobs.has('marketplace') ? marketplace() : undefined,
  jobs.has('records') ? atRate(args.nodeRecords / (args.durationMs / 1000), args.nodeRecords, nodeRecord) : undefined,
  jobs.has('orphans') ? atRate(args.orphanBlocks / (args.durationMs / 1000), args.orphanBlocks, orphan) : undefined,
  jobs.has('sync') ? silentSync(args.syncSessions) : undefined,
]);
clearInterval(progress);
out({ event: 'done', elapsedMs: Date.now() - started, floodMs: Math.max(1, flood.endedAt - flood.startedAt), sent });
await Promise.all(nodes.map((n) => n.stop()));
process.exit(0);
