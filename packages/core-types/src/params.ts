import { DEFAULT_POW_DIFFICULTY, MAX_LEASE_DURATION_SECS, NS_PER_SEC } from './constants.js';
import { ErrorCodes, ValidationError } from './errors.js';
import { isHex } from './hex.js';
import { parseBlock } from './block.js';
import { parseFinalityParams } from './finality.js';
import type { GenesisBundle, LeaseParams, NetworkParams, TimekeeperSet } from './types.js';
import { array, asJsonValue, describe, expectObject, hash, invalid, onlyFields, requireField, str, u64 } from './validate.js';

/** The lease parameters in bundle order (this order is hashed into the network hash). */
export const LEASE_PARAM_FIELDS = [
  'min_duration_secs',
  'settle_grace_ns',
  'force_settle_gap_ns',
  'escrow_expiry_ns',
  'archive_gap_ns',
  'max_attestation_skew_ns',
  'accept_window_ns',
  'stake_divisor',
  'emission_r_milli',
] as const satisfies readonly (keyof LeaseParams)[];

const S = NS_PER_SEC;

/** Production defaults (SPEC §4). */
export const DEFAULT_LEASE_PARAMS: Readonly<LeaseParams> = Object.freeze({
  min_duration_secs: 60n,
  settle_grace_ns: 3600n * S,
  force_settle_gap_ns: 25n * 60n * S,
  escrow_expiry_ns: 365n * 24n * 3600n * S,
  archive_gap_ns: 3600n * S,
  max_attestation_skew_ns: 10n * 60n * S,
  accept_window_ns: 10n * 60n * S,
  stake_divisor: 5n,
  emission_r_milli: 2000n,
});

/** The short, complete devnet set (SPEC §4). */
export const DEVNET_LEASE_PARAMS: Readonly<LeaseParams> = Object.freeze({
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

export const MAX_DURATION_SECS = BigInt(MAX_LEASE_DURATION_SECS);

const NETWORK_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function paramsError(message: string, field: string): ValidationError {
  return new ValidationError(ErrorCodes.INVALID_NETWORK_PARAMS, `${field}: ${message}`, { field });
}

/** Checks the validity rules of SPEC §4; throws INVALID_NETWORK_PARAMS naming the field. */
export function validateLeaseParams(p: LeaseParams): void {
  if (p.min_duration_secs < 1n || p.min_duration_secs > MAX_DURATION_SECS) {
    throw paramsError(`must be between 1 and ${MAX_DURATION_SECS}`, 'lease.min_duration_secs');
  }
  if (p.max_attestation_skew_ns <= 0n) throw paramsError('must be positive', 'lease.max_attestation_skew_ns');
  if (p.accept_window_ns <= 0n) throw paramsError('must be positive', 'lease.accept_window_ns');
  if (!(p.force_settle_gap_ns > 2n * p.max_attestation_skew_ns)) {
    throw paramsError('must be greater than 2 × max_attestation_skew_ns', 'lease.force_settle_gap_ns');
  }
  if (!(p.escrow_expiry_ns > p.settle_grace_ns + p.force_settle_gap_ns)) {
    throw paramsError('must be greater than settle_grace_ns + force_settle_gap_ns', 'lease.escrow_expiry_ns');
  }
  if (p.emission_r_milli < 1n) throw paramsError('must be at least 1', 'lease.emission_r_milli');
}

export function validateTimekeepers(t: TimekeeperSet): void {
  if (t.keys.length === 0) throw paramsError('at least one timekeeper key is required', 'timekeepers.keys');
  if (new Set(t.keys).size !== t.keys.length) throw paramsError('duplicate key', 'timekeepers.keys');
  if (!Number.isInteger(t.threshold) || t.threshold < 1 || t.threshold > t.keys.length) {
    throw paramsError(`must be between 1 and the number of keys (${t.keys.length})`, 'timekeepers.threshold');
  }
}

export function validateNetworkParams(p: NetworkParams): void {
  if (!NETWORK_ID.test(p.network_id)) {
    throw paramsError('1–64 chars of letters, digits, ".", "_" or "-"', 'network_id');
  }
  validateTimekeepers(p.timekeepers);
  validateLeaseParams(p.lease);
}

/** Parses the lease object of a bundle; missing fields take the production defaults. */
export function parseLeaseParams(value: unknown): LeaseParams {
  const o = expectObject(value ?? {}, 'lease');
  onlyFields(o, new Set<string>(LEASE_PARAM_FIELDS), 'the lease parameters', 'lease.');
  const out = { ...DEFAULT_LEASE_PARAMS };
  for (const f of LEASE_PARAM_FIELDS) if (o[f] !== undefined) out[f] = u64(o[f], `lease.${f}`);
  return out;
}

const BUNDLE_FIELDS = new Set(['network_id', 'pow_difficulty', 'timekeepers', 'lease', 'finality', 'blocks']);

/**
 * Parses and validates a genesis bundle (SPEC §4): JSON text or a parsed value.
 * Block hashes and signatures are checked by the ledger when it applies them.
 */
export function parseGenesisBundle(input: unknown): GenesisBundle {
  const o = expectObject(asJsonValue(input), 'bundle');
  onlyFields(o, BUNDLE_FIELDS, 'a genesis bundle');
  const network_id = str(requireField(o, 'network_id'), 'network_id', 64);
  const d = requireField(o, 'pow_difficulty');
  if (!isHex(d, 16)) throw invalid('pow_difficulty', `expected 16 lowercase hex chars, got ${describe(d)}`);
  const tk = expectObject(requireField(o, 'timekeepers'), 'timekeepers');
  onlyFields(tk, new Set(['keys', 'threshold']), 'timekeepers', 'timekeepers.');
  const keys = array(requireField(tk, 'keys', 'timekeepers.keys'), 'timekeepers.keys', 64).map((k, i) =>
    hash(k, `timekeepers.keys[${i}]`),
  );
  const threshold = Number(u64(requireField(tk, 'threshold', 'timekeepers.threshold'), 'timekeepers.threshold'));
  const lease = parseLeaseParams(o.lease);
  const finality = parseFinalityParams(requireField(o, 'finality'));
  const blocks = array(requireField(o, 'blocks'), 'blocks', 100_000).map((b, i) => {
    try {
      return parseBlock(b);
    } catch (err) {
      if (err instanceof ValidationError) {
        throw new ValidationError(err.code, `blocks[${i}].${err.message}`, { field: `blocks[${i}].${err.field ?? ''}` });
      }
      throw err;
    }
  });
  const bundle: GenesisBundle = {
    network_id,
    pow_difficulty: BigInt(`0x${d}`),
    timekeepers: { keys, threshold },
    lease,
    finality,
    blocks,
  };
  validateNetworkParams(bundle);
  return bundle;
}

/** The JSON form of a bundle (difficulty as 16 hex chars), for `stringifyJson`. */
export function bundleToJson(bundle: GenesisBundle): Record<string, unknown> {
  return {
    network_id: bundle.network_id,
    pow_difficulty: bundle.pow_difficulty.toString(16).padStart(16, '0'),
    timekeepers: { keys: bundle.timekeepers.keys, threshold: bundle.timekeepers.threshold },
    lease: Object.fromEntries(LEASE_PARAM_FIELDS.map((f) => [f, bundle.lease[f]])),
    finality: {
      representatives: bundle.finality.representatives.map((r) => ({ address: r.address, weight: r.weight })),
      quorum_pct: bundle.finality.quorum_pct,
    },
    blocks: bundle.blocks,
  };
}

/** Lease duration bounds in seconds for a network. */
export function durationBounds(params: Pick<NetworkParams, 'lease'>): { min: number; max: number } {
  return { min: Number(params.lease.min_duration_secs), max: MAX_LEASE_DURATION_SECS };
}

export { DEFAULT_POW_DIFFICULTY };
