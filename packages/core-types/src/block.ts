import { BLOCK_TYPE_BYTES, type BlockType, MAX_ATTESTATIONS } from './constants.js';
import { ErrorCodes, ValidationError } from './errors.js';
import type { Attestation, Block, Certificate, NodeRecord } from './types.js';
import { GENESIS_TIMING_FIELDS, NODE_ROLES, type NodeRole } from './types.js';
import {
  array,
  asJsonValue,
  asset,
  describe,
  expectObject,
  hash,
  i64,
  invalid,
  type JsonObject,
  memoBytes,
  onlyFields,
  requireField,
  signature,
  str,
  u64,
} from './validate.js';

const COMMON_REQUIRED = ['type', 'account', 'previous', 'balance', 'timestamp', 'asset', 'signature', 'hash'] as const;
const COMMON_OPTIONAL = ['representative', 'pub_key', 'pow_nonce'] as const;

/** The fields each block type may carry besides the common ones (SPEC §3). */
export const BLOCK_FIELDS: Record<BlockType, { required: readonly string[]; optional: readonly string[] }> = {
  send: { required: ['destination', 'amount'], optional: ['memo'] },
  receive: { required: ['source'], optional: [] },
  lease: {
    required: ['destination', 'amount', 'vcpus', 'memory_mb', 'disk_gb', 'duration', 'access_pub_key', 'certificate_hash'],
    optional: [],
  },
  lease_accept: { required: ['source', 'locked_r', 'certificate_hash', 'attestations'], optional: ['amount'] },
  lease_settle: { required: ['source', 'amount', 'attestations'], optional: [] },
  genesis: { required: [], optional: [...GENESIS_TIMING_FIELDS] },
  lease_cancel: { required: ['source', 'attestations'], optional: [] },
  lease_force_settle: { required: ['source', 'attestations'], optional: [] },
};

const ALLOWED: Record<BlockType, ReadonlySet<string>> = Object.fromEntries(
  Object.entries(BLOCK_FIELDS).map(([t, f]) => [t, new Set([...COMMON_REQUIRED, ...COMMON_OPTIONAL, ...f.required, ...f.optional])]),
) as unknown as Record<BlockType, ReadonlySet<string>>;

export function isBlockType(value: unknown): value is BlockType {
  return typeof value === 'string' && Object.hasOwn(BLOCK_TYPE_BYTES, value);
}

export function parseAttestation(value: unknown, field = 'attestation'): Attestation {
  const o = expectObject(value, field);
  onlyFields(o, ATTESTATION_FIELDS, 'an attestation', `${field}.`);
  return {
    public_key: hash(requireField(o, 'public_key', `${field}.public_key`), `${field}.public_key`),
    timestamp: u64(requireField(o, 'timestamp', `${field}.timestamp`), `${field}.timestamp`),
    signature: signature(requireField(o, 'signature', `${field}.signature`), `${field}.signature`),
  };
}
const ATTESTATION_FIELDS = new Set(['public_key', 'timestamp', 'signature']);

function previous(value: unknown): string {
  if (value === '0') return '0';
  if (typeof value !== 'string') throw invalid('previous', `expected "0" or 64 lowercase hex chars, got ${describe(value)}`);
  return hash(value, 'previous');
}

/**
 * Validates a block's shape: the field set of its type, lowercase hex of the right
 * length, integers within u64 (timestamp within int64), the memo rules. Accepts JSON
 * text or a value parsed by `parseJson`. Throws a coded ValidationError naming the field.
 */
export function parseBlock(input: unknown): Block {
  const o = expectObject(asJsonValue(input), 'block');
  const type = requireField(o, 'type');
  if (!isBlockType(type)) {
    throw new ValidationError(ErrorCodes.UNKNOWN_BLOCK_TYPE, `type: unknown block type ${describe(type)}`, { field: 'type' });
  }
  onlyFields(o, ALLOWED[type], `a ${type} block`);
  const need = (f: string) => requireField(o, f);
  const b: Record<string, unknown> = {
    type,
    account: hash(need('account'), 'account'),
    previous: previous(need('previous')),
    balance: u64(need('balance'), 'balance'),
    timestamp: i64(need('timestamp'), 'timestamp'),
    asset: asset(need('asset'), 'asset'),
  };
  if (o.representative !== undefined && o.representative !== '') b.representative = hash(o.representative, 'representative');
  if (o.pub_key !== undefined) b.pub_key = hash(o.pub_key, 'pub_key');
  // checked here (the order errors are found in), set after the hash-bound fields so that
  // printed blocks read in order — and set last rather than moved there by a delete, which
  // would leave every parsed block an object in slow (dictionary) mode
  let powNonce: bigint | undefined;
  if (o.pow_nonce !== undefined) {
    if (type === 'genesis') throw invalid('pow_nonce', 'genesis blocks carry no proof of work', ErrorCodes.UNKNOWN_FIELD);
    powNonce = u64(o.pow_nonce, 'pow_nonce');
  }
  switch (type) {
    case 'send':
      b.destination = hash(need('destination'), 'destination');
      b.amount = u64(need('amount'), 'amount');
      if (o.memo !== undefined) {
        memoBytes(o.memo, 'memo');
        b.memo = o.memo;
      }
      break;
    case 'receive':
      b.source = hash(need('source'), 'source');
      break;
    case 'lease':
      b.destination = hash(need('destination'), 'destination');
      b.amount = u64(need('amount'), 'amount');
      for (const f of ['vcpus', 'memory_mb', 'disk_gb', 'duration']) b[f] = u64(need(f), f);
      b.access_pub_key = hash(need('access_pub_key'), 'access_pub_key');
      b.certificate_hash = hash(need('certificate_hash'), 'certificate_hash');
      break;
    case 'lease_accept':
      b.source = hash(need('source'), 'source');
      if (o.amount !== undefined) b.amount = u64(o.amount, 'amount');
      b.locked_r = u64(need('locked_r'), 'locked_r');
      b.certificate_hash = hash(need('certificate_hash'), 'certificate_hash');
      b.attestations = attestations(need('attestations'));
      break;
    case 'lease_settle':
      b.source = hash(need('source'), 'source');
      b.amount = u64(need('amount'), 'amount');
      b.attestations = attestations(need('attestations'));
      break;
    case 'lease_cancel':
    case 'lease_force_settle':
      b.source = hash(need('source'), 'source');
      b.attestations = attestations(need('attestations'));
      break;
    case 'genesis':
      for (const f of GENESIS_TIMING_FIELDS) if (o[f] !== undefined) b[f] = u64(o[f], f);
      break;
  }
  b.signature = signature(need('signature'), 'signature');
  b.hash = hash(need('hash'), 'hash');
  if (powNonce !== undefined) b.pow_nonce = powNonce;
  return b as unknown as Block;
}

const SEALED = new WeakSet<object>();

/**
 * `parseBlock`, then frozen (the block and its attestations) and remembered as such: no
 * one can change it afterwards, so the ledger's admission takes it as it is instead of
 * validating and copying it again (see `isSealedBlock`). For blocks from the network,
 * which nothing changes after reading.
 */
export function parseBlockSealed(input: unknown): Block {
  const b = parseBlock(input);
  const list = (b as { attestations?: Attestation[] }).attestations;
  if (list !== undefined) {
    for (const a of list) Object.freeze(a);
    Object.freeze(list);
  }
  Object.freeze(b);
  SEALED.add(b);
  return b;
}

/** True for a block `parseBlockSealed` returned: valid in shape and unchangeable. */
export function isSealedBlock(value: unknown): value is Block {
  return typeof value === 'object' && value !== null && SEALED.has(value);
}

function attestations(value: unknown): Attestation[] {
  return array(value, 'attestations', MAX_ATTESTATIONS).map((a, i) => parseAttestation(a, `attestations[${i}]`));
}

const CERT_FIELDS = new Set([
  'provider',
  'provider_pub_key',
  'score',
  'price_multiplier_milli',
  'issued_at',
  'expires_at',
  'signature',
  'hash',
]);

/** Validates a certificate's shape (SPEC §7); the hash and signature are checked by @xe/crypto. */
export function parseCertificate(input: unknown, field = 'certificate'): Certificate {
  const o = expectObject(asJsonValue(input), field);
  onlyFields(o, CERT_FIELDS, 'a certificate', `${field}.`);
  const need = (f: string) => requireField(o, f, `${field}.${f}`);
  return {
    provider: hash(need('provider'), `${field}.provider`),
    provider_pub_key: hash(need('provider_pub_key'), `${field}.provider_pub_key`),
    score: u64(need('score'), `${field}.score`),
    price_multiplier_milli: u64(need('price_multiplier_milli'), `${field}.price_multiplier_milli`),
    issued_at: u64(need('issued_at'), `${field}.issued_at`),
    expires_at: u64(need('expires_at'), `${field}.expires_at`),
    signature: signature(need('signature'), `${field}.signature`),
    hash: hash(need('hash'), `${field}.hash`),
  };
}

const RECORD_FIELDS = new Set(['address', 'pub_key', 'peer_id', 'multiaddrs', 'roles', 'timestamp', 'signature']);

/** Validates a node record's shape (SPEC §2); the signature is checked by @xe/crypto. */
export function parseNodeRecord(input: unknown, field = 'record'): NodeRecord {
  const o = expectObject(asJsonValue(input), field);
  onlyFields(o, RECORD_FIELDS, 'a node record', `${field}.`);
  const need = (f: string) => requireField(o, f, `${field}.${f}`);
  const roles = array(need('roles'), `${field}.roles`, 8).map((r, i) => {
    if (typeof r !== 'string' || !(NODE_ROLES as readonly string[]).includes(r)) {
      throw invalid(`${field}.roles[${i}]`, `expected one of ${NODE_ROLES.join(', ')}`);
    }
    return r as NodeRole;
  });
  return {
    address: hash(need('address'), `${field}.address`),
    pub_key: hash(need('pub_key'), `${field}.pub_key`),
    peer_id: str(need('peer_id'), `${field}.peer_id`, 128),
    multiaddrs: array(need('multiaddrs'), `${field}.multiaddrs`, 32).map((m, i) => str(m, `${field}.multiaddrs[${i}]`, 512)),
    roles,
    timestamp: u64(need('timestamp'), `${field}.timestamp`),
    signature: signature(need('signature'), `${field}.signature`),
  };
}

export type { JsonObject };
