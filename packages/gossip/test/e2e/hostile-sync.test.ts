import { afterEach, describe, expect, it } from '@jest/globals';
import { PROTOCOLS, waitUntil } from '@xe/core-types';
import type { Duplex } from 'node:stream';
import type { SyncSource } from '../../src/index.js';
import { ChainMaker, MemoryLedger } from '../support/chain.mjs';
import { Nodes } from '../support/nodes.js';

/** A responder that reads the requester's frontiers and never answers (its frontiers never come). */
function silentSource(): SyncSource & { release(): void } {
  let release = () => {};
  const never = new Promise<never>((_, reject) => {
    release = () => reject(new Error('released'));
  });
  never.catch(() => undefined);
  return { frontiers: () => never, blocksAfter: async () => [], certificate: async () => undefined, release };
}

describe('sync against hostile peers', () => {
  const nodes = new Nodes();
  afterEach(() => nodes.stopAll());

  it('a peer that never answers does not stop catch-up with others (sessions used to run one at a time with no deadline)', async () => {
    const silent = silentSource();
    const mute = await nodes.start('mute', {}, { syncSource: silent, syncSink: new MemoryLedger() });
    const source = new MemoryLedger();
    await new ChainMaker(source, { accounts: 3, label: 'hostile' }).make(300);
    const honest = await nodes.start('honest', {}, { syncSource: source, syncSink: source });
    const ledger = new MemoryLedger();
    const n = await nodes.start('n', { syncIntervalMs: 3_600_000, syncLimits: { idleTimeoutMs: 1500 } }, { syncSource: ledger, syncSink: ledger });
    // The silent peer first, so its session is the one that would block a queue.
    await n.dial(mute.multiaddrs()[0]!);
    await n.dial(honest.multiaddrs()[0]!);
    await waitUntil(() => ledger.blockCount === 300, { timeoutMs: 10_000, what: 'blocks from the honest peer' });
    // The silent session ends by its idle deadline.
    await waitUntil(() => n.counter('xe_sync_failures_total', { role: 'requester', reason: 'timeout' }) >= 1, { timeoutMs: 10_000, what: 'idle timeout' });
    expect(n.syncSessions().outbound).toBe(0);
    silent.release();
  });

  it('silent inbound sessions cannot hold every serving slot (four idle ones used to refuse everyone else)', async () => {
    const source = new MemoryLedger();
    await new ChainMaker(source, { accounts: 2, label: 'slots' }).make(100);
    const server = await nodes.start('server', { syncLimits: { evictIdleMs: 500, idleTimeoutMs: 60_000 } }, { syncSource: source, syncSink: source });
    // 8 silent sessions from 4 attacker identities (2 streams per connection is libp2p's limit here).
    const held: Duplex[] = [];
    for (let i = 0; i < 4; i++) {
      const attacker = await nodes.start(`attacker-${i}`);
      await attacker.dial(server.multiaddrs()[0]!);
      for (let j = 0; j < 2; j++) {
        const s = await attacker.openStream(server.peerId, PROTOCOLS.sync).catch(() => undefined);
        if (s) {
          s.on('error', () => undefined);
          held.push(s);
        }
      }
    }
    await waitUntil(() => server.syncSessions().inbound === 4, { timeoutMs: 5000, what: 'four silent sessions served' });
    const ledger = new MemoryLedger();
    const n = await nodes.start('late', { syncIntervalMs: 3_600_000 }, { syncSource: ledger, syncSink: ledger });
    await n.dial(server.multiaddrs()[0]!);
    // Sessions run on hello and then periodically; here the period is the poll (a slot frees once a silent session idled 500 ms).
    await waitUntil(
      async () => {
        if (ledger.blockCount < 100) await n.sync(server.peerId).catch(() => undefined);
        return ledger.blockCount === 100;
      },
      { timeoutMs: 10_000, intervalMs: 200, what: 'an honest session served while silent ones hold the slots' },
    );
    expect(server.counter('xe_sync_refused_total', { reason: 'evicted_idle' })).toBeGreaterThanOrEqual(1);
    for (const s of held) s.destroy();
  });

  it('a frontier list longer than the session may send ends the session', async () => {
    const source = new MemoryLedger();
    await new ChainMaker(source, { accounts: 12, label: 'frontiers' }).make(60);
    const server = await nodes.start('fserver', { syncLimits: { maxFrontiers: 5 } }, { syncSource: source, syncSink: source });
    const ledger = new MemoryLedger();
    await new ChainMaker(ledger, { accounts: 12, label: 'others' }).make(60);
    const n = await nodes.start('fclient', { syncIntervalMs: 3_600_000 }, { syncSource: ledger, syncSink: ledger });
    await n.dial(server.multiaddrs()[0]!);
    await waitUntil(() => server.counter('xe_sync_failures_total', { role: 'responder', reason: 'protocol_error' }) >= 1, {
      timeoutMs: 10_000,
      what: 'the session refused',
    });
  });
});
