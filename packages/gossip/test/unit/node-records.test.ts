import { describe, expect, it } from '@jest/globals';
import { msToNs } from '@xe/core-types';
import { keyPairFromSeed, signNodeRecord } from '@xe/crypto';
import { peerIdFromPubKeyHex } from '../../src/keys.js';
import { NodeRecordStore } from '../../src/node-records.js';

const NET = 'records-test';
const key = keyPairFromSeed(new Uint8Array(32).fill(3));
const other = keyPairFromSeed(new Uint8Array(32).fill(4));

function record(tsMs: number, k = key, peerId = peerIdFromPubKeyHex(k.pubKeyHex)) {
  return signNodeRecord(
    { address: k.address, pub_key: k.pubKeyHex, peer_id: peerId, multiaddrs: ['/ip4/127.0.0.1/tcp/1'], roles: ['timekeeper'], timestamp: msToNs(tsMs) },
    k,
    NET,
  );
}

describe('NodeRecordStore', () => {
  let nowMs = 1_700_000_000_000;
  const store = () => new NodeRecordStore({ networkId: NET, expiryMs: 15 * 60_000 }, { clock: () => msToNs(nowMs) });

  it('keeps the latest valid record per address and expires it when unseen', () => {
    const s = store();
    const r1 = record(nowMs - 1000);
    expect(s.validate(r1).result.action).toBe('accept');
    expect(s.put(r1)).toBe(true);
    expect(s.validate(r1).result).toEqual({ action: 'ignore', reason: 'stale' });
    const r2 = record(nowMs);
    expect(s.put(r2)).toBe(true);
    expect(s.get(key.address)?.timestamp).toBe(r2.timestamp);
    expect(s.list('timekeeper')).toHaveLength(1);
    expect(s.list('provider')).toHaveLength(0);
    expect(s.byPeerId(r2.peer_id)?.address).toBe(key.address);
    nowMs += 16 * 60_000;
    expect(s.get(key.address)).toBeUndefined();
  });

  it('rejects bad signatures, foreign peer ids, wrong shapes and far-future timestamps', () => {
    const s = store();
    const good = record(nowMs);
    expect(s.validate({ ...good, signature: 'ab'.repeat(64) }).result).toEqual({ action: 'reject', reason: 'bad_signature' });
    expect(s.validate(record(nowMs, key, peerIdFromPubKeyHex(other.pubKeyHex))).result).toEqual({ action: 'reject', reason: 'peer_id_mismatch' });
    expect(s.validate({ nope: 1n }).result).toEqual({ action: 'reject', reason: 'invalid_shape' });
    expect(s.validate(record(nowMs + 3_600_000)).result).toEqual({ action: 'reject', reason: 'future_timestamp' });
    expect(s.validate(record(nowMs - 20 * 60_000)).result).toEqual({ action: 'ignore', reason: 'expired' });
  });
});
