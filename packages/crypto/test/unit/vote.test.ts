import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { bytesToHex, type Position, type Vote } from '@xe/core-types';
import { keyPairFromSeed, positionBytes, representativeWeight, signVote, verifyVote, voteDigest } from '../../src/index.js';

const NET = 'devnet-1';
const rep = keyPairFromSeed(new Uint8Array(32).fill(0x71));
const other = keyPairFromSeed(new Uint8Array(32).fill(0x72));
const chain: Position = { type: 'chain', account: 'aa'.repeat(32), previous: '0' };
const leaseEnd: Position = { type: 'lease', lease: 'cc'.repeat(32), outcome: 'end' };

describe('vote digest (SPEC §12)', () => {
  it('matches the byte layout written out by hand', () => {
    // "xe/vote/v1\0" · lp("devnet-1") · 0x00 · account · previous ("0" → zeros) · block_hash · u32 round · u8 final · u64 timestamp
    const preimage = [
      '78652f766f74652f763100', // xe/vote/v1 NUL
      '0000000000000008', // lp length: 8
      '6465766e65742d31', // devnet-1
      '00', // chain position
      'aa'.repeat(32), // account
      '00'.repeat(32), // previous "0"
      'bb'.repeat(32), // block hash
      '00000003', // round 3
      '01', // final
      '18fae27693b40000', // 1_800_000_000_000_000_000 ns
    ].join('');
    const expected = createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex');
    expect(expected).toBe('21cb6aabdfd6e2770a266bbde5df08c6877b9f678675d887992d46d7833f35f4');
    const digest = voteDigest({ position: chain, block_hash: 'bb'.repeat(32), round: 3, final: true, timestamp: 1_800_000_000_000_000_000n }, NET);
    expect(bytesToHex(digest)).toBe(expected);
  });

  it('encodes a lease-outcome position as 0x01 · lease · u8(0 start / 1 end)', () => {
    expect(bytesToHex(positionBytes(leaseEnd))).toBe(`01${'cc'.repeat(32)}01`);
    expect(bytesToHex(positionBytes({ ...leaseEnd, outcome: 'start' }))).toBe(`01${'cc'.repeat(32)}00`);
    expect(bytesToHex(positionBytes({ type: 'chain', account: 'aa'.repeat(32), previous: 'dd'.repeat(32) }))).toBe(
      `00${'aa'.repeat(32)}${'dd'.repeat(32)}`,
    );
    const d = voteDigest({ position: leaseEnd, block_hash: 'bb'.repeat(32), round: 0, final: false, timestamp: 1n }, NET);
    expect(bytesToHex(d)).toBe('8c3bb48461913c43a39d6cc374e29a07ee723965e99c7888a4fdfee28efc3eb1');
  });

  it('rejects a round outside u32', () => {
    for (const round of [-1, 2 ** 32, 1.5]) {
      expect(() => voteDigest({ position: chain, block_hash: 'bb'.repeat(32), round, final: false, timestamp: 1n }, NET)).toThrow(/round/);
    }
  });
});

describe('signVote / verifyVote', () => {
  const vote = signVote({ position: chain, block_hash: 'bb'.repeat(32), round: 1, final: false, timestamp: 5n }, rep, NET);

  it('signs with the representative key and verifies', () => {
    expect(vote.representative).toBe(rep.address);
    expect(vote.pub_key).toBe(rep.pubKeyHex);
    expect(verifyVote(vote, NET)).toBe(true);
  });

  it('fails on any changed field, another network, a foreign key or malformed input', () => {
    const bad: Vote[] = [
      { ...vote, round: 2 },
      { ...vote, final: true },
      { ...vote, timestamp: 6n },
      { ...vote, block_hash: 'bc'.repeat(32) },
      { ...vote, position: { ...chain, previous: 'ab'.repeat(32) } },
      { ...vote, position: leaseEnd },
      { ...vote, representative: other.address }, // pub_key does not derive it
      { ...vote, pub_key: other.pubKeyHex, representative: other.address }, // signature by rep, not other
      { ...vote, signature: 'zz'.repeat(64) },
      { ...vote, timestamp: -1n },
      { ...vote, round: 2 ** 32 },
    ];
    for (const v of bad) expect(verifyVote(v, NET)).toBe(false);
    expect(verifyVote(vote, 'devnet-2')).toBe(false);
  });

  it('looks up a representative weight', () => {
    const params = { representatives: [{ address: rep.address, weight: 3n }], quorum_pct: 60 };
    expect(representativeWeight(params, rep.address)).toBe(3n);
    expect(representativeWeight(params, other.address)).toBe(0n);
  });
});
