import { afterEach, describe, expect, it } from '@jest/globals';
import { TOPICS, waitUntil } from '@xe/core-types';
import { meshed, Nodes } from '../support/nodes.js';

describe('a validator that throws', () => {
  const nodes = new Nodes();
  afterEach(() => nodes.stopAll());

  it('ignores the message without costing the relaying peer score: the fault is the validator’s, not the peer’s', async () => {
    const topic = TOPICS.blocks;
    const a = await nodes.start('VA');
    a.subscribe(topic, () => ({ action: 'accept' }), () => undefined);
    const b = nodes.make('VB', { bootstrap: a.multiaddrs() });
    let delivered = 0;
    b.subscribe(
      topic,
      () => {
        throw new Error('the store is busy');
      },
      () => {
        delivered++;
      },
    );
    await b.start();
    await waitUntil(() => meshed(a, [b], topic) && meshed(b, [a], topic), { timeoutMs: 15_000, what: 'mesh' });
    for (let i = 0; i < 20; i++) await a.publish(topic, { n: i });
    await waitUntil(() => b.counter('xe_gossip_messages_total', { topic, action: 'ignore', reason: 'validator_error' }) === 20, {
      timeoutMs: 15_000,
      what: '20 messages ignored',
    });
    // several heartbeats (100 ms): twenty REJECTs would have cost the peer 400 points by now
    await new Promise((r) => setTimeout(r, 500));
    expect(b.peerScore(a.peerId)).toBeGreaterThanOrEqual(0);
    expect(b.counter('xe_gossip_messages_total', { topic, action: 'reject' })).toBe(0);
    expect(delivered).toBe(0);
  }, 30_000);
});
