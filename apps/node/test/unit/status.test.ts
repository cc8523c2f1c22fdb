import { EventEmitter } from 'node:events';
import { describe, expect, it } from '@jest/globals';
import { type GenesisBundle, type NodeRecord, silentLogger } from '@xe/core-types';
import { createGenesisBundle, Ledger, MemoryStore } from '@xe/ledger';
import { keyPairFromSeed } from '@xe/crypto';
import { Metrics } from '../../src/metrics.js';
import { NodeStatus, type NodeStatusComponents } from '../../src/status.js';

const T0 = 1_800_000_000_000_000_000n;
const key = (n: number) => keyPairFromSeed(new Uint8Array(32).fill(n));
const tks = [key(0x31), key(0x32), key(0x33)];
const self = key(0x41);

/** The part of gossip NodeStatus reads, as NodeStatusComponents declares it. */
class Peers extends EventEmitter {
  hello: string[] = [];
  records: Pick<NodeRecord, 'pub_key'>[] = [];
  helloPeerIds = () => this.hello;
  multiaddrs = () => ['/ip4/127.0.0.1/tcp/4001'];
  nodes = () => this.records as NodeRecord[];
}

async function setup(opts: { bootstrap?: string[]; signs?: boolean; certificate?: { hash: string; expires_at: bigint } } = {}) {
  const bundle: GenesisBundle = await createGenesisBundle({
    networkId: 'status-unit',
    difficulty: 0xf000000000000000n,
    timekeepers: { keys: tks.map((k) => k.pubKeyHex), threshold: 2 },
    representatives: tks.map((k) => ({ address: k.address, weight: 1n })),
    treasuryKeys: { XE: key(0xe1), XUSD: key(0xe2) },
    allocations: [],
    timestamp: T0 - 1_000_000_000n,
  });
  let now = T0;
  const ledger = await Ledger.open(new MemoryStore(), bundle, { clock: () => now, logger: silentLogger });
  const gossip = new Peers();
  const metrics = new Metrics();
  const status = new NodeStatus(
    { name: 'n', version: '1.2.3', address: self.address, peerId: 'peer-self', pubKeyHex: self.pubKeyHex, roles: ['consumer'], bundle, bootstrap: opts.bootstrap ?? [] },
    {
      ledger,
      gossip: gossip as unknown as NodeStatusComponents['gossip'],
      signs: opts.signs ?? false,
      heldBlocks: () => 3,
      metrics,
      clock: () => now,
      ...(opts.certificate ? { certificate: () => opts.certificate } : {}),
    },
  );
  return { status, gossip, metrics, ledger, advance: (ns: bigint) => (now += ns) };
}

describe('NodeStatus', () => {
  it('is ready once peered, synced (or with no bootstrap) and a threshold of timekeepers is known', async () => {
    const { status, gossip } = await setup({ bootstrap: ['/ip4/127.0.0.1/tcp/1/p2p/x'] });
    expect(await status.readiness()).toEqual({ synced: false, peered: false, timekeepers_reachable: false, ready: false });
    gossip.hello = ['p1'];
    gossip.records = [{ pub_key: tks[0]!.pubKeyHex }];
    expect(await status.readiness()).toMatchObject({ peered: true, synced: false, timekeepers_reachable: false, ready: false });
    gossip.records.push({ pub_key: tks[2]!.pubKeyHex });
    gossip.emit('sync:done', {});
    expect(await status.readiness()).toEqual({ synced: true, peered: true, timekeepers_reachable: true, ready: true });

    const first = await setup({ signs: true });
    first.gossip.hello = ['p1'];
    first.gossip.records = [{ pub_key: tks[1]!.pubKeyHex }];
    // no bootstrap: the first peer is enough; this node's own key does not count unless it is a listed timekeeper
    expect(await first.status.readiness()).toMatchObject({ synced: true, timekeepers_reachable: false });
  });

  it('reports counts from the ledger and a certificate valid until its expiry on the clock', async () => {
    const { status, advance } = await setup({ certificate: { hash: 'c'.repeat(64), expires_at: T0 + 10n } });
    await status.refreshCounts();
    const info = status.nodeInfo();
    expect(info).toMatchObject({ name: 'n', version: '1.2.3', network_id: 'status-unit', peers: 0, certificate: { valid: true } });
    expect(info.counts.accounts).toBeGreaterThan(0);
    expect(info.counts.blocks).toBeGreaterThanOrEqual(info.counts.accounts);
    advance(10n);
    expect(status.nodeInfo().certificate).toMatchObject({ valid: false });
  });

  it('registers the node gauges with HELP and TYPE', async () => {
    const { metrics, gossip } = await setup();
    gossip.hello = ['a', 'b'];
    const text = await metrics.text();
    for (const name of ['xe_ledger_blocks', 'xe_ledger_accounts', 'xe_vms_running', 'xe_peers', 'xe_blocks_held_for_retry', 'xe_node_info']) {
      expect(text).toContain(`# HELP ${name} `);
      expect(text).toContain(`# TYPE ${name} gauge`);
    }
    expect(text).toContain('xe_peers 2');
    expect(text).toContain('xe_blocks_held_for_retry 3');
    expect(text).toMatch(/xe_node_info\{address="[0-9a-f]{64}",network="status-unit",version="1.2.3"\} 1/);
  });
});
