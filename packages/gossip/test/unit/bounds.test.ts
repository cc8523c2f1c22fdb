import { describe, expect, it } from '@jest/globals';
import { msToNs, silentLogger } from '@xe/core-types';
import { generateKeyPair, keyPairFromSeed, signNodeRecord } from '@xe/crypto';
import { Registry } from 'prom-client';
import { NodeContext } from '../../src/context.js';
import { Hello, MAX_BANNED_PEERS } from '../../src/hello.js';
import { peerIdFromPubKeyHex } from '../../src/keys.js';
import { Counters } from '../../src/metrics.js';
import { NODE_RECORDS_MAX, NodeRecordStore } from '../../src/node-records.js';

const NET = 'bounds-test';
const nowMs = 1_700_000_000_000;
const clock = () => msToNs(nowMs);

function freshRecord(tsMs = nowMs, multiaddrs = ['/ip4/127.0.0.1/tcp/1']) {
  const k = generateKeyPair();
  return signNodeRecord({ address: k.address, pub_key: k.pubKeyHex, peer_id: peerIdFromPubKeyHex(k.pubKeyHex), multiaddrs, roles: [], timestamp: msToNs(tsMs) }, k, NET);
}

describe('bounded state', () => {
  it('node records from fresh keys stop at the store bound (was unbounded: every record was kept 15 min), connected peers kept', () => {
    const honest = freshRecord(nowMs - 60_000);
    const s = new NodeRecordStore({ networkId: NET, maxRecords: 200 }, { clock, isConnected: (p) => p === honest.peer_id });
    expect(s.put(honest)).toBe(true);
    for (let i = 0; i < 1000; i++) s.put(freshRecord());
    expect(s.size).toBe(200);
    expect(s.get(honest.address)?.peer_id).toBe(honest.peer_id);
    expect(s.byPeerId(honest.peer_id)?.address).toBe(honest.address);
    expect(s.list()).toHaveLength(200);
    expect(NODE_RECORDS_MAX).toBeLessThanOrEqual(2000);
  });

  it('a record with more multiaddrs than a node needs is refused (32 × 512 chars made ≈17 KB records)', () => {
    const s = new NodeRecordStore({ networkId: NET }, { clock });
    const many = freshRecord(nowMs, Array.from({ length: 32 }, (_, i) => `/ip4/127.0.0.1/tcp/${i}/${'x'.repeat(400)}`));
    expect(s.validate(many).result).toEqual({ action: 'reject', reason: 'too_many_addrs' });
  });

  it('list() keeps its order without re-sorting per call and follows puts', () => {
    const s = new NodeRecordStore({ networkId: NET }, { clock });
    const old = freshRecord(nowMs - 5000);
    const recent = freshRecord(nowMs - 1000);
    s.put(old);
    s.put(recent);
    expect(s.list().map((r) => r.address)).toEqual([recent.address, old.address]);
    const newest = freshRecord(nowMs);
    s.put(newest);
    expect(s.list()[0]!.address).toBe(newest.address);
  });

  it('the wrong-network ban list stops at MAX_BANNED_PEERS (was a map that only grew)', () => {
    const key = keyPairFromSeed(new Uint8Array(32).fill(9));
    const ctx = new NodeContext({ key, networkId: NET, networkHash: 'ab'.repeat(32) }, {}, silentLogger, clock, new Counters(new Registry()));
    const hello = new Hello(ctx, { onHello: () => undefined, onWrongNetwork: () => undefined });
    for (let i = 0; i < MAX_BANNED_PEERS + 500; i++) hello.ban(`peer-${i}`, nowMs + 600_000);
    expect(hello.bannedCount).toBe(MAX_BANNED_PEERS);
    expect(hello.isBanned(`peer-${MAX_BANNED_PEERS + 499}`)).toBe(true);
    expect(hello.isBanned('peer-0')).toBe(false);
  });
});
