import { describe, expect, it } from '@jest/globals';
import { bytesToHex, DEVNET_LEASE_PARAMS, hexToBytes, LEASE_PARAM_FIELDS } from '@xe/core-types';
import { lp, networkHash, sha256, u64be, utf8 } from '../../src/index.js';

const h = (c: string) => c.repeat(64);
const base = {
  network_id: 'devnet-1',
  pow_difficulty: 0xffff000000000000n,
  timekeepers: { keys: [h('b'), h('a')], threshold: 1 },
  lease: DEVNET_LEASE_PARAMS,
  blocks: [{ hash: h('1') }, { hash: h('2') }],
  finality: { representatives: [{ address: h('d'), weight: 2n }, { address: h('c'), weight: 1n }], quorum_pct: 60 },
};

describe('networkHash (SPEC §4)', () => {
  it('is SHA-256 over the fields in the order of the spec, representatives sorted by address after the blocks', () => {
    const parts = [
      utf8('xe/network/v1\0'),
      lp('devnet-1'),
      u64be(0xffff000000000000n),
      u64be(1n),
      lp(h('a')),
      lp(h('b')),
      ...LEASE_PARAM_FIELDS.map((f) => u64be(DEVNET_LEASE_PARAMS[f])),
      hexToBytes(h('1')),
      hexToBytes(h('2')),
      u64be(60n),
      lp(h('c')),
      u64be(1n),
      lp(h('d')),
      u64be(2n),
    ];
    expect(networkHash(base)).toBe(bytesToHex(sha256(...parts)));
  });

  it('changes with the quorum, a weight or a representative, not with their listed order', () => {
    const reordered = { ...base, finality: { ...base.finality, representatives: [...base.finality.representatives].reverse() } };
    expect(networkHash(reordered)).toBe(networkHash(base));
    const variants = [
      { ...base, finality: { ...base.finality, quorum_pct: 67 } },
      { ...base, finality: { ...base.finality, representatives: [{ address: h('d'), weight: 3n }, { address: h('c'), weight: 1n }] } },
      { ...base, finality: { ...base.finality, representatives: [{ address: h('d'), weight: 2n }] } },
    ];
    for (const v of variants) expect(networkHash(v)).not.toBe(networkHash(base));
  });
});
