import { describe, expect, it } from '@jest/globals';
import {
  bundleToJson,
  DEFAULT_LEASE_PARAMS,
  DEFAULT_POW_DIFFICULTY,
  DEVNET_LEASE_PARAMS,
  durationBounds,
  ErrorCodes,
  LEASE_PARAM_FIELDS,
  type LeaseParams,
  MAX_LEASE_DURATION_SECS,
  parseGenesisBundle,
  parseJson,
  parseLeaseParams,
  stringifyJson,
  validateLeaseParams,
  validateNetworkParams,
} from '../../src/index.js';
import { errorOf, vectorText } from '../support/fixtures.js';


const S = 1_000_000_000n;
const key = (c: string) => c.repeat(64);

function bundleJson(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const genesis = parseJson(vectorText('xe-testnet-0003-ledger-genesis.json'));
  return {
    network_id: 'devnet-1',
    pow_difficulty: 'ffff000000000000',
    timekeepers: { keys: [key('a'), key('b')], threshold: 1 },
    lease: Object.fromEntries(LEASE_PARAM_FIELDS.map((f) => [f, DEVNET_LEASE_PARAMS[f]])),
    finality: { representatives: [{ address: key('c'), weight: 1n }, { address: key('d'), weight: 2n }], quorum_pct: 60 },
    blocks: [genesis],
    ...overrides,
  };
}

describe('network parameters (SPEC §4)', () => {
  it('has the production defaults of the spec', () => {
    expect(DEFAULT_LEASE_PARAMS).toEqual({
      min_duration_secs: 60n,
      settle_grace_ns: 3600n * S,
      force_settle_gap_ns: 1500n * S,
      escrow_expiry_ns: 31_536_000n * S,
      archive_gap_ns: 3600n * S,
      max_attestation_skew_ns: 600n * S,
      accept_window_ns: 600n * S,
      stake_divisor: 5n,
      emission_r_milli: 2000n,
    });
    expect(MAX_LEASE_DURATION_SECS).toBe(31_536_000);
    expect(DEFAULT_POW_DIFFICULTY).toBe(0xfffff80000000000n);
    expect(() => validateLeaseParams(DEFAULT_LEASE_PARAMS)).not.toThrow();
  });

  it('has the devnet set of the spec, and it is valid', () => {
    expect(DEVNET_LEASE_PARAMS).toEqual({
      min_duration_secs: 5n,
      settle_grace_ns: 60n * S,
      force_settle_gap_ns: 150n * S,
      escrow_expiry_ns: 3600n * S,
      archive_gap_ns: 600n * S,
      max_attestation_skew_ns: 60n * S,
      accept_window_ns: 120n * S,
      stake_divisor: 5n,
      emission_r_milli: 2000n,
    });
    expect(() => validateLeaseParams(DEVNET_LEASE_PARAMS)).not.toThrow();
    expect(Object.isFrozen(DEVNET_LEASE_PARAMS)).toBe(true);
  });

  it('requires force-settle gap > 2 × skew (equality is not enough)', () => {
    const p: LeaseParams = { ...DEVNET_LEASE_PARAMS, max_attestation_skew_ns: 75n * S };
    const err = errorOf(() => validateLeaseParams(p));
    expect(err.code).toBe(ErrorCodes.INVALID_NETWORK_PARAMS);
    expect(err.field).toBe('lease.force_settle_gap_ns');
    expect(() => validateLeaseParams({ ...p, force_settle_gap_ns: 150n * S + 1n })).not.toThrow();
  });

  it('requires escrow expiry > grace + gap (equality is not enough)', () => {
    const p: LeaseParams = { ...DEVNET_LEASE_PARAMS, escrow_expiry_ns: 210n * S };
    const err = errorOf(() => validateLeaseParams(p));
    expect(err.code).toBe(ErrorCodes.INVALID_NETWORK_PARAMS);
    expect(err.field).toBe('lease.escrow_expiry_ns');
    expect(() => validateLeaseParams({ ...p, escrow_expiry_ns: 210n * S + 1n })).not.toThrow();
  });

  it('rejects a zero minimum duration, skew, accept window or R', () => {
    for (const [f, v] of [
      ['min_duration_secs', 0n],
      ['min_duration_secs', 31_536_001n],
      ['max_attestation_skew_ns', 0n],
      ['accept_window_ns', 0n],
      ['emission_r_milli', 0n],
    ] as const) {
      expect(errorOf(() => validateLeaseParams({ ...DEVNET_LEASE_PARAMS, [f]: v })).field).toBe(`lease.${f}`);
    }
    expect(() => validateLeaseParams({ ...DEVNET_LEASE_PARAMS, stake_divisor: 0n })).not.toThrow();
  });

  it('checks the network id and the timekeeper set', () => {
    const base = { network_id: 'devnet-1', pow_difficulty: 1n, timekeepers: { keys: [key('a')], threshold: 1 }, lease: DEVNET_LEASE_PARAMS };
    expect(() => validateNetworkParams(base)).not.toThrow();
    for (const id of ['', 'has space', '-lead', 'x'.repeat(65), 'ünï']) {
      expect(errorOf(() => validateNetworkParams({ ...base, network_id: id })).field).toBe('network_id');
    }
    expect(errorOf(() => validateNetworkParams({ ...base, timekeepers: { keys: [], threshold: 1 } })).field).toBe('timekeepers.keys');
    expect(errorOf(() => validateNetworkParams({ ...base, timekeepers: { keys: [key('a'), key('a')], threshold: 1 } })).field).toBe(
      'timekeepers.keys',
    );
    for (const threshold of [0, 2, 1.5]) {
      expect(errorOf(() => validateNetworkParams({ ...base, timekeepers: { keys: [key('a')], threshold } })).field).toBe('timekeepers.threshold');
    }
  });

  it('parseLeaseParams fills missing fields with the defaults and rejects unknown ones', () => {
    expect(parseLeaseParams(undefined)).toEqual(DEFAULT_LEASE_PARAMS);
    expect(parseLeaseParams({ min_duration_secs: 5n })).toEqual({ ...DEFAULT_LEASE_PARAMS, min_duration_secs: 5n });
    expect(errorOf(() => parseLeaseParams({ grace: 1n })).code).toBe(ErrorCodes.UNKNOWN_FIELD);
    expect(errorOf(() => parseLeaseParams({ settle_grace_ns: -1n })).field).toBe('lease.settle_grace_ns');
  });

  it('durationBounds come from the network', () => {
    expect(durationBounds({ lease: DEVNET_LEASE_PARAMS })).toEqual({ min: 5, max: 31_536_000 });
  });
});

describe('parseGenesisBundle', () => {
  it('parses a bundle from text, keeps the XE genesis block exact and round-trips through bundleToJson', () => {
    const text = stringifyJson(bundleJson(), 2);
    const b = parseGenesisBundle(text);
    expect(b.network_id).toBe('devnet-1');
    expect(b.pow_difficulty).toBe(0xffff000000000000n);
    expect(b.timekeepers).toEqual({ keys: [key('a'), key('b')], threshold: 1 });
    expect(b.lease).toEqual(DEVNET_LEASE_PARAMS);
    expect(b.finality).toEqual({ representatives: [{ address: key('c'), weight: 1n }, { address: key('d'), weight: 2n }], quorum_pct: 60 });
    expect(b.blocks[0]!.hash).toBe('946597b85290426dfab812778387b93b2b3a41291ebceaac02ca0bbb0e3791ab');
    expect(parseGenesisBundle(stringifyJson(bundleToJson(b)))).toEqual(b);
    expect(bundleToJson({ ...b, pow_difficulty: 0xffn }).pow_difficulty).toBe('00000000000000ff');
  });

  it('applies the validity rules of SPEC §4', () => {
    const lease = { ...(bundleJson().lease as Record<string, unknown>), force_settle_gap_ns: 120n * S };
    const err = errorOf(() => parseGenesisBundle(bundleJson({ lease })));
    expect(err.code).toBe(ErrorCodes.INVALID_NETWORK_PARAMS);
    expect(err.field).toBe('lease.force_settle_gap_ns');
    const lease2 = { ...(bundleJson().lease as Record<string, unknown>), escrow_expiry_ns: 200n * S };
    expect(errorOf(() => parseGenesisBundle(bundleJson({ lease: lease2 }))).field).toBe('lease.escrow_expiry_ns');
  });

  it('names the offending field', () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ pow_difficulty: 'FFFF000000000000' }, 'pow_difficulty', ErrorCodes.INVALID_FIELD],
      [{ pow_difficulty: 'ffff' }, 'pow_difficulty', ErrorCodes.INVALID_FIELD],
      [{ pow_difficulty: 0xffffn }, 'pow_difficulty', ErrorCodes.INVALID_FIELD],
      [{ network_id: 5n }, 'network_id', ErrorCodes.INVALID_FIELD],
      [{ timekeepers: { keys: ['ab'], threshold: 1 } }, 'timekeepers.keys[0]', ErrorCodes.INVALID_FIELD],
      [{ timekeepers: { keys: [key('a')], threshold: 2 } }, 'timekeepers.threshold', ErrorCodes.INVALID_NETWORK_PARAMS],
      [{ timekeepers: { keys: [key('a')], threshold: 1, extra: 1n } }, 'timekeepers.extra', ErrorCodes.UNKNOWN_FIELD],
      [{ extra: true }, 'extra', ErrorCodes.UNKNOWN_FIELD],
      [{ blocks: [{ type: 'genesis' }] }, 'blocks[0].account', ErrorCodes.MISSING_FIELD],
      [{ finality: { representatives: [], quorum_pct: 60 } }, 'finality.representatives', ErrorCodes.INVALID_NETWORK_PARAMS],
      [{ finality: { representatives: [{ address: key('c'), weight: 1n }], quorum_pct: 50 } }, 'finality.quorum_pct', ErrorCodes.INVALID_FIELD],
      [{ finality: { representatives: [{ address: key('c'), weight: 0n }], quorum_pct: 60 } }, 'finality.representatives[0].weight', ErrorCodes.INVALID_NETWORK_PARAMS],
    ];
    for (const [override, field, code] of cases) {
      const err = errorOf(() => parseGenesisBundle(bundleJson(override)));
      expect([err.field, err.code]).toEqual([field, code]);
    }
    const noBlocks = bundleJson();
    delete noBlocks.blocks;
    expect(errorOf(() => parseGenesisBundle(noBlocks)).code).toBe(ErrorCodes.MISSING_FIELD);
    const noFinality = bundleJson();
    delete noFinality.finality;
    expect([errorOf(() => parseGenesisBundle(noFinality)).field, errorOf(() => parseGenesisBundle(noFinality)).code]).toEqual([
      'finality',
      ErrorCodes.MISSING_FIELD,
    ]);
    expect(errorOf(() => parseGenesisBundle('{')).code).toBe(ErrorCodes.INVALID_JSON);
  });
});
