import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Block, type JsonValue, parseBlock, TOPICS, XeError, waitUntil } from '@xe/core-types';
import { verifyBlockSignature } from '@xe/crypto';
import { type GossipNode, type MessageContext, reject, type ValidationResult } from '../../src/index.js';
import { ChainMaker, keyFor, MemoryLedger, NETWORK_HASH, NETWORK_ID } from '../support/chain.mjs';
import { meshed, Nodes } from '../support/nodes.js';

/** A validator like the node's: the block parses and its first-block signature verifies. */
function blockValidator(extra?: (b: Block) => ValidationResult | undefined) {
  return (msg: JsonValue): ValidationResult => {
    let block: Block;
    try {
      block = parseBlock((msg as { block: JsonValue }).block);
    } catch {
      return reject('invalid_shape');
    }
    if (!block.pub_key || !verifyBlockSignature(block, block.pub_key, NETWORK_ID)) return reject('bad_signature');
    return extra?.(block) ?? { action: 'accept' };
  };
}

describe('five nodes in a line (A–B–C–D–E)', () => {
  const nodes = new Nodes();
  const labels = ['A', 'B', 'C', 'D', 'E'];
  const line: GossipNode[] = [];
  const ledgers = labels.map(() => new MemoryLedger());
  const seen = labels.map(() => [] as string[]);
  const source = new MemoryLedger();
  const maker = new ChainMaker(source, { accounts: 6, label: 'line' });
  const blocks: Block[] = [];
  let banned: string;

  beforeAll(async () => {
    // First blocks of six chains: each verifies on its own (pub_key present).
    const made = await maker.make(40);
    for (const key of maker.keys) blocks.push(made.find((b) => b.account === key.address && b.previous === '0')!);
    banned = blocks[1]!.account;
    for (let i = 0; i < labels.length; i++) {
      const node = nodes.make(labels[i]!, { bootstrap: i === 0 ? [] : line[i - 1]!.multiaddrs(), roles: i === 0 ? ['timekeeper'] : ['consumer'] });
      // B refuses blocks of one account (a local policy), everyone else accepts them.
      const policy = i === 1 ? (b: Block) => (b.account === banned ? reject('policy') : undefined) : undefined;
      node.subscribe(TOPICS.blocks, blockValidator(policy), async (msg: JsonValue, _ctx: MessageContext) => {
        const block = parseBlock((msg as { block: JsonValue }).block);
        seen[i]!.push(block.hash);
        await ledgers[i]!.ingestBlock(block, 'sync');
      });
      await node.start();
      line.push(node);
    }
    await waitUntil(() => line.every((n, i) => n.helloPeerIds().length === (i === 0 || i === 4 ? 1 : 2)), { timeoutMs: 15_000, what: 'line hellos' });
    await waitUntil(
      () => line.every((n, i) => meshed(n, [line[i - 1], line[i + 1]].filter((x): x is GossipNode => x !== undefined))),
      { timeoutMs: 15_000, what: 'gossip mesh along the line' },
    );
  });

  afterAll(() => nodes.stopAll());

  it('is a line: each node is connected to its neighbours only', () => {
    expect(line[0]!.peers()).toEqual([line[1]!.peerId]);
    expect(line[2]!.peers().sort()).toEqual([line[1]!.peerId, line[3]!.peerId].sort());
    expect(line[4]!.peers()).toEqual([line[3]!.peerId]);
  });

  it('delivers a block published at A to E’s ingest over four hops', async () => {
    const block = blocks[0]!;
    await line[0]!.publish(TOPICS.blocks, { block });
    await waitUntil(() => ledgers[4]!.byHash.has(block.hash), { timeoutMs: 15_000, what: 'block at E' });
    for (let i = 1; i < 5; i++) expect(seen[i]).toContain(block.hash);
    expect(line[4]!.counter('xe_gossip_messages_total', { topic: TOPICS.blocks, action: 'accept' })).toBeGreaterThanOrEqual(1);
  });

  it('does not relay a message B rejects, and lowers A’s score at B', async () => {
    const rejected = blocks[1]!;
    const after = blocks[2]!;
    await line[0]!.publish(TOPICS.blocks, { block: rejected });
    await waitUntil(() => line[1]!.counter('xe_gossip_messages_total', { topic: TOPICS.blocks, action: 'reject', reason: 'policy' }) === 1, { timeoutMs: 15_000, what: 'reject at B' });
    await waitUntil(() => line[1]!.peerScore(line[0]!.peerId) < 0, { timeoutMs: 15_000, what: 'A’s score at B below zero' });
    // A later message takes the same path; once it is at E the rejected one had every chance.
    await line[0]!.publish(TOPICS.blocks, { block: after });
    // (its ingest answers retryable: it is an opening receive whose send E never saw)
    await waitUntil(() => seen[4]!.includes(after.hash), { timeoutMs: 15_000, what: 'following block at E' });
    for (let i = 1; i < 5; i++) expect(seen[i]).not.toContain(rejected.hash);
    expect(ledgers[2]!.byHash.has(rejected.hash)).toBe(false);
    expect(line[2]!.counter('xe_gossip_messages_total', { topic: TOPICS.blocks })).toBe(2);
  });

  it('lets E find A’s node record and call A directly by address', async () => {
    const keyA = keyFor('node/A');
    const record = await waitUntil(() => line[4]!.findNode(keyA.address), { timeoutMs: 15_000, what: 'A’s record at E' });
    expect(record.peer_id).toBe(line[0]!.peerId);
    expect(record.roles).toEqual(['timekeeper']);
    expect(line[4]!.nodes('timekeeper').map((r) => r.address)).toEqual([keyA.address]);
    line[0]!.handle('/xe/attest/1.0.0', async (req, ctx) => {
      const lease = (req as { lease_hash?: unknown }).lease_hash;
      if (lease !== 'ab'.repeat(32)) throw new XeError('UNKNOWN_LEASE', 'unknown lease');
      return { lease_hash: lease, from: ctx.peerId, timestamp: 1_700_000_000_000_000_000n };
    });
    const res = await line[4]!.request(keyA.address, '/xe/attest/1.0.0', { lease_hash: 'ab'.repeat(32) }, { timeoutMs: 10_000 });
    expect(res).toEqual({ lease_hash: 'ab'.repeat(32), from: line[4]!.peerId, timestamp: 1_700_000_000_000_000_000n });
    await expect(line[4]!.request(keyA.address, '/xe/attest/1.0.0', { lease_hash: 'cd'.repeat(32) })).rejects.toMatchObject({
      code: 'REMOTE_ERROR',
      remoteCode: 'UNKNOWN_LEASE',
    });
  });

  it('disconnects and refuses a node of another network', async () => {
    const stranger = await nodes.start('stranger', { networkId: 'other-net', networkHash: NETWORK_HASH });
    const refused = new Promise((resolve) => line[2]!.once('peer:wrong-network', resolve));
    await expect(stranger.dial(line[2]!.multiaddrs()[0]!, { signal: AbortSignal.timeout(5000) })).rejects.toMatchObject({ code: 'WRONG_NETWORK' });
    expect(await refused).toMatchObject({ peerId: stranger.peerId, networkId: 'other-net' });
    await waitUntil(() => !line[2]!.peers().includes(stranger.peerId) && !stranger.peers().includes(line[2]!.peerId), { timeoutMs: 15_000, what: 'disconnect' });
    expect(line[2]!.isBanned(stranger.peerId)).toBe(true);
    expect(stranger.isBanned(line[2]!.peerId)).toBe(true);
    expect(line[2]!.counter('xe_hello_failures_total', { reason: 'wrong_network' })).toBe(1);
    // A second attempt is refused by the connection gater.
    await expect(stranger.dial(line[2]!.multiaddrs()[0]!, { signal: AbortSignal.timeout(5000) })).rejects.toMatchObject({ code: 'PEER_UNREACHABLE' });
    expect(line[2]!.helloPeerIds().sort()).toEqual([line[1]!.peerId, line[3]!.peerId].sort());
  });
});
