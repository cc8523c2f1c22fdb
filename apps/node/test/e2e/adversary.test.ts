import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseGenesisBundle, parseJson, TOPICS, waitUntil } from '@xe/core-types';
import { networkHash } from '@xe/crypto';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { requestLease, TestNet } from '../support/harness.js';

/**
 * A devnet (timekeeper, provider, consumer) and a hostile process built from @xe/gossip with
 * fresh keys. While it floods 200 marketplace messages a second, publishes 5,000 node
 * records, holds 8 sync sessions open and silent and fills the retry queue, honest lease
 * requests still go through nearly as fast as on a quiet network, and no node grows.
 */
const ATTACKER = fileURLToPath(new URL('../support/attacker.mjs', import.meta.url));
const RSS_LIMIT_MB = 300;
const LEASE_REQ = { vcpus: 1, memory_mb: 256, disk_gb: 1, duration: 60 };

let net: TestNet;
let attacker: ChildProcess | undefined;
let stdout = '';
let stderr = '';

beforeAll(async () => {
  net = await TestNet.create({ extraArgs: () => ({ 1: ['--vcpus', '16', '--memory-mb', '16384', '--disk-gb', '200'] }) });
  // The attacker signs and seals its ammunition while the devnet starts.
  const bundle = parseGenesisBundle(parseJson(readFileSync(net.prepared.genesisFile, 'utf8')));
  const config = {
    targets: net.info.nodes.map((n) => n.p2p),
    networkId: bundle.network_id,
    networkHash: networkHash(bundle),
    difficulty: bundle.pow_difficulty.toString(),
    durationMs: 40_000,
    marketplacePerSec: 200,
    nodeRecords: 5000,
    syncSessions: 8,
    orphanBlocks: 2500,
  };
  attacker = spawn(process.execPath, [ATTACKER, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
  attacker.stdout!.on('data', (d) => (stdout += d));
  attacker.stderr!.on('data', (d) => (stderr += d));
  await net.startAll();
});

afterAll(async () => {
  if (attacker && attacker.exitCode === null) attacker.kill('SIGKILL');
  await net?.stop();
});

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

async function timedLease(access: string): Promise<number> {
  const t0 = performance.now();
  const res = await requestLease(net, 2, { ...LEASE_REQ, access_pub_key: access });
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`lease request answered ${res.status}: ${JSON.stringify(res.body, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function counter(i: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${net.url(i)}/metrics`)).text();
  const family = parsePrometheusTextFormat(text).find((f) => f.name === name);
  let n = 0;
  for (const m of (family?.metrics ?? []) as Array<{ value?: string; labels?: Record<string, string> }>) {
    if (Object.entries(labels).every(([k, v]) => m.labels?.[k] === v)) n += Number(m.value ?? 0);
  }
  return n;
}

describe('hostile peers cannot starve honest leases', () => {
  it('10 of 10 leases accepted under a flood, p50 ≤ 2 × quiet + 500 ms, every node ≤ 300 MB', async () => {
    await net.waitMarket();
    const { key: access } = net.accessKey('adversary_key');

    // the quiet figure, on this machine, now (the attacker has finished preparing and is idle)
    await waitUntil(() => stdout.includes('"prepared"'), { timeoutMs: 90_000, what: `the attacker prepared (${stderr.slice(-500)})` });
    const quiet: number[] = [];
    for (let i = 0; i < 3; i++) quiet.push(await timedLease(access.pubKeyHex));
    const quietP50 = median(quiet);

    const pids = [0, 1, 2].map((i) => net.children.get(i)!.pid!);
    const child = attacker!;
    child.stdin!.write('go\n');
    await waitUntil(() => stdout.includes('"ready"'), { timeoutMs: 20_000, what: `the attacker ready (${stderr.slice(-500)})` });

    let maxRss = 0;
    const sampler = setInterval(() => {
      for (const pid of pids) maxRss = Math.max(maxRss, rssMb(pid));
    }, 250);
    try {
      // let the flood build up before the first honest request
      await waitUntil(async () => (await counter(1, 'xe_gossip_messages_total', { topic: TOPICS.marketplace, reason: 'unfunded' })) >= 200, {
        timeoutMs: 20_000,
        what: 'the request flood at the provider',
      });
      const attacked: number[] = [];
      for (let i = 0; i < 10; i++) attacked.push(await timedLease(access.pubKeyHex));
      const attackedP50 = median(attacked);
      const progress = stdout.trim().split('\n').filter((l) => l.includes('"progress"') || l.includes('"done"')).pop();
      console.log(JSON.stringify({ quiet, quietP50, attacked, attackedP50, maxRssMb: Math.round(maxRss) }), progress);
      expect(attacked).toHaveLength(10);
      expect(attackedP50).toBeLessThanOrEqual(2 * quietP50 + 500);
    } finally {
      clearInterval(sampler);
    }
    expect(maxRss).toBeGreaterThan(0);
    expect(maxRss).toBeLessThanOrEqual(RSS_LIMIT_MB);

    // the attack did reach the nodes, and each defence held
    expect(await counter(1, 'xe_gossip_messages_total', { topic: TOPICS.marketplace, reason: 'unfunded' })).toBeGreaterThan(500);
    expect(await counter(2, 'xe_gossip_messages_total', { topic: TOPICS.marketplace, reason: 'no_stake' })).toBeGreaterThan(100);
    expect(await counter(1, 'xe_node_records_dropped_total', { reason: 'peer_quota' })).toBeGreaterThan(100);
    expect(await counter(1, 'xe_blocks_held_for_retry')).toBeLessThanOrEqual(250);

    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  });
});
