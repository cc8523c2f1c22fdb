import { createHash, randomBytes } from 'node:crypto';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { type GossipSub, gossipsub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import type { Libp2p, Stream } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { type JsonValue, parseBlock, parseCertificate, PROTOCOLS, TOPICS, XeError, waitUntil } from '@xe/core-types';
import { createLibp2p } from 'libp2p';
import { encodeFrame, encodeJsonFrame, StreamReader } from '../../src/frames.js';
import { type GossipNode, reject, voteValidator } from '../../src/index.js';
import { MemoryLedger, NETWORK_HASH, NETWORK_ID } from '../support/chain.mjs';
import { Nodes } from '../support/nodes.js';

const HELLO = { network_id: NETWORK_ID, network_hash: NETWORK_HASH, version: 'raw' };

function shapeValidator(parse: (v: unknown) => unknown, field: string) {
  return (msg: JsonValue) => {
    try {
      parse((msg as Record<string, JsonValue>)[field]);
      return { action: 'accept' as const };
    } catch {
      return reject('invalid_shape');
    }
  };
}

/** Sends one frame on a new stream and returns the first frame of the answer, if any. */
async function exchange(raw: Libp2p, target: string, protocol: string, bytes: Uint8Array): Promise<JsonValue | null> {
  const stream: Stream = await raw.dialProtocol(multiaddr(target), protocol);
  stream.send(bytes);
  await stream.close().catch(() => undefined);
  try {
    return await new StreamReader(stream).readJson(1 << 20, AbortSignal.timeout(5000));
  } catch {
    return null;
  }
}

describe('garbage on every topic and protocol', () => {
  const nodes = new Nodes();
  let target: GossipNode;
  let addr: string;
  let raw: Libp2p<{ pubsub: GossipSub }>;

  beforeAll(async () => {
    const ledger = new MemoryLedger();
    target = nodes.make('T', { helloTimeoutMs: 1500 }, { syncSource: ledger, syncSink: ledger });
    target.subscribe(TOPICS.blocks, shapeValidator(parseBlock, 'block'), () => undefined);
    target.subscribe(TOPICS.certificates, shapeValidator(parseCertificate, 'certificate'), () => undefined);
    target.subscribe(
      TOPICS.marketplace,
      (msg) => (typeof (msg as { type?: unknown }).type === 'string' ? { action: 'accept' } : reject('invalid_shape')),
      () => undefined,
    );
    target.subscribe(TOPICS.votes, voteValidator({ networkId: NETWORK_ID, clock: () => 0n, admit: async () => ({ status: 'counted' }) }), () => undefined);
    target.handle('/xe/vminfo/1.0.0', async (req) => {
      if (typeof (req as { lease_hash?: unknown }).lease_hash !== 'string') throw new XeError('INVALID_FIELD', 'lease_hash: expected a string');
      return { ok: true };
    });
    await target.start();
    addr = target.multiaddrs()[0]!;

    raw = (await createLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      // unsigned messages with the network's message id (StrictNoSign, SHA-256 of topic and data): what it sends reaches the validators
      services: {
        identify: identify(),
        pubsub: gossipsub({
          globalSignaturePolicy: 'StrictNoSign',
          msgIdFn: (msg) => new Uint8Array(createHash('sha256').update(msg.topic).update('\0').update(msg.data).digest()),
          allowPublishToZeroTopicPeers: true,
          heartbeatInterval: 100,
        }),
      },
    })) as unknown as Libp2p<{ pubsub: GossipSub }>;
    // The raw peer answers the target's sync requests with garbage.
    await raw.handle(PROTOCOLS.sync, async (stream) => {
      await new StreamReader(stream).readFrame(1 << 20).catch(() => null);
      stream.send(encodeFrame(randomBytes(100)));
      await stream.close().catch(() => undefined);
    });
    for (const t of Object.values(TOPICS)) raw.services.pubsub.subscribe(t);
    // Pass hello as a well-behaved dialler would.
    const answer = await exchange(raw, addr, PROTOCOLS.hello, encodeJsonFrame(HELLO));
    expect(answer).toMatchObject({ network_id: NETWORK_ID });
    await waitUntil(() => target.helloPeerIds().includes(raw.peerId.toString()), { timeoutMs: 15_000, what: 'raw peer hello' });
  });

  afterAll(async () => {
    await raw?.stop();
    await nodes.stopAll();
  });

  it('drops random bytes, wrong shapes and oversized messages on every topic, counting why', async () => {
    for (const topic of Object.values(TOPICS)) {
      await waitUntil(() => raw.services.pubsub.getSubscribers(topic).some((p) => p.toString() === target.peerId), { timeoutMs: 15_000, what: `subscription ${topic}` });
      await raw.services.pubsub.publish(topic, randomBytes(512));
      await raw.services.pubsub.publish(topic, new TextEncoder().encode(JSON.stringify({ record: { nope: 1 }, block: [], certificate: 'x' })));
      await raw.services.pubsub.publish(topic, new TextEncoder().encode(JSON.stringify({ pad: 'x'.repeat(280 * 1024) })));
    }
    for (const topic of Object.values(TOPICS)) {
      for (const reason of ['invalid_json', 'invalid_shape', 'too_large']) {
        await waitUntil(() => target.counter('xe_gossip_messages_total', { topic, action: 'reject', reason }) === 1, { timeoutMs: 15_000, what: `${reason} on ${topic}` });
      }
    }
    await waitUntil(() => target.peerScore(raw.peerId.toString()) < 0, { timeoutMs: 15_000, what: 'raw peer penalised' });
  });

  it('answers malformed, oversized and wrong-shape requests with coded errors', async () => {
    expect(await exchange(raw, addr, '/xe/vminfo/1.0.0', encodeFrame(randomBytes(64)))).toMatchObject({ code: 'INVALID_REQUEST' });
    const huge = new Uint8Array(8);
    new DataView(huge.buffer).setUint32(0, 0xffffffff);
    expect(await exchange(raw, addr, '/xe/vminfo/1.0.0', huge)).toMatchObject({ code: 'REQUEST_TOO_LARGE' });
    expect(await exchange(raw, addr, '/xe/vminfo/1.0.0', encodeJsonFrame([1, 2, 3]))).toMatchObject({ code: 'INVALID_FIELD' });
    expect(await exchange(raw, addr, '/xe/vminfo/1.0.0', encodeJsonFrame({ lease_hash: 'x' }))).toEqual({ result: { ok: true } });
  });

  it('drops garbage sync requests and garbage sync pages', async () => {
    const huge = new Uint8Array(4);
    new DataView(huge.buffer).setUint32(0, 0x7fffffff);
    await exchange(raw, addr, PROTOCOLS.sync, encodeFrame(randomBytes(64)));
    await exchange(raw, addr, PROTOCOLS.sync, huge);
    await exchange(raw, addr, PROTOCOLS.sync, encodeJsonFrame({ type: 'frontiers', frontiers: [{ account: 'x' }], done: true }));
    await waitUntil(() => target.counter('xe_sync_failures_total', { role: 'responder', reason: 'protocol_error' }) === 2, { timeoutMs: 15_000, what: 'bad sync requests' });
    await waitUntil(() => target.counter('xe_sync_failures_total', { role: 'responder', reason: 'frame_too_large' }) === 1, { timeoutMs: 15_000, what: 'huge sync request' });
    // The target asked the raw peer for sync on hello and got garbage back.
    await expect(target.sync(raw.peerId.toString())).rejects.toMatchObject({ code: 'PROTOCOL_ERROR' });
    expect(target.counter('xe_sync_failures_total', { role: 'requester' })).toBeGreaterThanOrEqual(1);
  });

  it('closes connections that send a garbage hello, and keeps running', async () => {
    const huge = new Uint8Array(4);
    new DataView(huge.buffer).setUint32(0, 0x7fffffff);
    const garbage = [encodeFrame(randomBytes(64)), huge, encodeJsonFrame({ network_id: 5 })];
    for (const bytes of garbage) {
      expect(await exchange(raw, addr, PROTOCOLS.hello, bytes)).toBeNull();
      await waitUntil(
        () => !target.peers().includes(raw.peerId.toString()) && raw.getConnections().every((c) => c.status !== 'open'),
        { timeoutMs: 15_000, what: 'connection closed' },
      );
      await waitUntil(() => raw.getConnections().length === 0, { timeoutMs: 15_000, what: 'connection gone' });
    }
    expect(target.counter('xe_hello_failures_total', { reason: 'protocol_error' })).toBe(2);
    expect(target.counter('xe_hello_failures_total', { reason: 'frame_too_large' })).toBe(1);
    // A connection that never says hello is closed after the hello timeout.
    await raw.dial(multiaddr(addr));
    await waitUntil(() => target.counter('xe_hello_failures_total', { reason: 'timeout' }) === 1, { timeoutMs: 10_000, what: 'hello timeout' });
    await waitUntil(() => !target.peers().includes(raw.peerId.toString()), { timeoutMs: 15_000, what: 'silent connection closed' });
    // A well-behaved node still gets through.
    const good = await nodes.start('G', { bootstrap: [addr] });
    await waitUntil(() => good.helloPeerIds().includes(target.peerId), { timeoutMs: 15_000, what: 'good hello' });
    expect(await good.request(target.peerId, '/xe/vminfo/1.0.0', { lease_hash: 'y' })).toEqual({ ok: true });
  });
});
