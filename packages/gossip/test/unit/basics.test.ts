import { describe, expect, it } from '@jest/globals';
import { TopicValidatorResult } from '@libp2p/gossipsub';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { bytesToHex, stringifyJson } from '@xe/core-types';
import { keyPairFromSeed } from '@xe/crypto';
import { decodeJson, encodeFrame, encodeJsonFrame } from '../../src/frames.js';
import { libp2pPrivateKey, peerIdFromPubKeyHex } from '../../src/keys.js';
import { Counters } from '../../src/metrics.js';
import { normaliseResult, toTopicValidatorResult } from '../../src/validation.js';
import { Registry } from 'prom-client';

describe('validation mapping', () => {
  it('maps each action to the libp2p result in one place', () => {
    expect(toTopicValidatorResult({ action: 'accept' })).toBe(TopicValidatorResult.Accept);
    expect(toTopicValidatorResult({ action: 'ignore', reason: 'duplicate' })).toBe(TopicValidatorResult.Ignore);
    expect(toTopicValidatorResult({ action: 'reject', reason: 'bad_signature' })).toBe(TopicValidatorResult.Reject);
  });

  it('treats a malformed validator result as a reject', () => {
    expect(normaliseResult(undefined)).toEqual({ action: 'reject', reason: 'invalid_validator_result' });
    expect(normaliseResult({ action: 'maybe' })).toEqual({ action: 'reject', reason: 'invalid_validator_result' });
    expect(normaliseResult({ action: 'ignore', reason: 'x'.repeat(100) }).reason).toHaveLength(64);
  });
});

describe('keys', () => {
  it('derives the libp2p peer id from the node seed, equal to the one from the public key', async () => {
    const key = keyPairFromSeed(new Uint8Array(32).fill(7));
    const priv = await libp2pPrivateKey(key);
    expect(bytesToHex(priv.publicKey.raw)).toBe(key.pubKeyHex);
    expect(peerIdFromPrivateKey(priv).toString()).toBe(peerIdFromPubKeyHex(key.pubKeyHex));
    expect(() => peerIdFromPubKeyHex('zz')).toThrow(expect.objectContaining({ code: 'INVALID_TARGET' }));
  });
});

describe('frames', () => {
  it('prefixes a u32 big-endian length', () => {
    const f = encodeFrame(new Uint8Array([1, 2, 3]));
    expect([...f]).toEqual([0, 0, 0, 3, 1, 2, 3]);
    const j = encodeJsonFrame({ n: 2n ** 64n });
    expect(new TextDecoder().decode(j.subarray(4))).toBe(stringifyJson({ n: 18446744073709551616n }));
  });

  it('decodes ASCII and UTF-8 payloads alike, and refuses bad UTF-8 and bad JSON', () => {
    const payload = (v: unknown) => encodeJsonFrame(v).subarray(4);
    // the ASCII path reads a payload that sits inside a larger buffer, from its own offset
    expect(decodeJson(payload({ memo: 'plain', n: 7n }))).toEqual({ memo: 'plain', n: 7n });
    expect(decodeJson(payload({ memo: 'café ☕ \u{1F600}', n: 1n }))).toEqual({ memo: 'café ☕ \u{1F600}', n: 1n });
    expect(decodeJson(new TextEncoder().encode('"\\u00e9"'))).toBe('é');
    const bad = (bytes: Uint8Array) => {
      try {
        decodeJson(bytes);
      } catch (err) {
        return (err as Error).message;
      }
      return 'decoded';
    };
    expect(bad(new Uint8Array([0x22, 0xc3, 0x28, 0x22]))).toBe('frame is not UTF-8');
    expect(bad(new TextEncoder().encode('{"a":'))).toBe('frame is not JSON');
  });
});


describe('counters', () => {
  it('count into the Prometheus registry given, and sum label sets for code', async () => {
    const registry = new Registry();
    const c = new Counters(registry);
    c.inc('xe_gossip_messages_total', { topic: 't', action: 'reject', reason: 'a' });
    c.inc('xe_gossip_messages_total', { topic: 't', action: 'reject', reason: 'b' }, 2);
    c.inc('xe_hello_ok_total');
    expect(c.sum('xe_gossip_messages_total', { topic: 't' })).toBe(3);
    expect(c.sum('xe_gossip_messages_total', { reason: 'b', topic: 't' })).toBe(2);
    const text = await registry.metrics();
    expect(text).toContain('# HELP xe_gossip_messages_total ');
    expect(text).toContain('# TYPE xe_gossip_messages_total counter');
    expect(text).toContain('xe_gossip_messages_total{topic="t",action="reject",reason="b"} 2');
    expect(text).toContain('xe_hello_ok_total 1');
    // a second set of counters on the same registry shares the families
    new Counters(registry).inc('xe_hello_ok_total');
    expect(await registry.metrics()).toContain('xe_hello_ok_total 2');
  });
});
