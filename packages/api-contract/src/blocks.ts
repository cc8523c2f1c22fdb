import { BLOCK_FIELDS, BLOCK_TYPES, type Block, type BlockType, GENESIS_TIMING_FIELDS, MAX_ATTESTATIONS } from '@xe/core-types';
import { z } from 'zod';
import { address, asset, hash, i64, memo, previous, pubKey, signature, u64 } from './scalars.js';

/**
 * Block schemas, built from core-types' `BLOCK_FIELDS` (the one list of each type's field
 * set, SPEC §3), so the contract cannot drift from the ledger's parser. Request bodies are
 * strict: a field not listed for a type is refused, as `parseBlock` refuses it.
 */

export const Attestation = z
  .strictObject({ public_key: pubKey(), timestamp: u64(), signature: signature() })
  .meta({ id: 'Attestation', description: 'a timekeeper signature of a time (SPEC §8)' });

/** The schema of each own field of a block type (SPEC §3's table). */
const OWN_FIELD: Record<string, () => z.ZodType> = {
  destination: address,
  amount: u64,
  memo,
  source: hash,
  vcpus: u64,
  memory_mb: u64,
  disk_gb: u64,
  duration: u64,
  access_pub_key: pubKey,
  certificate_hash: hash,
  locked_r: u64,
  attestations: () => z.array(Attestation).max(MAX_ATTESTATIONS),
  ...Object.fromEntries(GENESIS_TIMING_FIELDS.map((f) => [f, u64])),
};

function commonFields(type: BlockType): Record<string, z.ZodType> {
  const fields: Record<string, z.ZodType> = {
    type: z.literal(type),
    account: address(),
    previous: previous(),
    balance: u64(),
    timestamp: i64(),
    asset: asset(),
    representative: z.union([address(), z.literal('')]).optional(),
    pub_key: pubKey().optional(),
    signature: signature(),
    hash: hash(),
  };
  if (type !== 'genesis') fields.pow_nonce = u64().optional();
  return fields;
}

function ownFields(type: BlockType): Record<string, z.ZodType> {
  const { required, optional } = BLOCK_FIELDS[type];
  const out: Record<string, z.ZodType> = {};
  for (const f of required) out[f] = fieldSchema(f);
  for (const f of optional) out[f] = fieldSchema(f).optional();
  return out;
}

function fieldSchema(field: string): z.ZodType {
  const make = OWN_FIELD[field];
  if (make === undefined) throw new Error(`api-contract: no schema for block field ${field}`);
  return make();
}

function componentName(type: BlockType): string {
  return `${type
    .split('_')
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('')}Block`;
}

/** A signed block of one type, as submitted (strict field set). */
export const BLOCK_SCHEMAS = Object.fromEntries(
  BLOCK_TYPES.map((t) => [t, z.strictObject({ ...commonFields(t), ...ownFields(t) }).meta({ id: componentName(t) })]),
) as unknown as Record<BlockType, z.ZodType<Block>>;

/** The JSON input form of a block: integers as bigint (from the codec) or safe numbers. */
export type BlockInput = { type: BlockType } & Record<string, unknown>;

type BlockSchema = z.ZodType<Block, BlockInput>;

function union(members: z.ZodType[], id: string, description: string): BlockSchema {
  return z
    .discriminatedUnion('type', members as unknown as [z.ZodObject, z.ZodObject, ...z.ZodObject[]])
    .meta({ id, description }) as unknown as BlockSchema;
}

/** Any block (SPEC §3), discriminated by `type`. */
export const BlockSchema = union(
  BLOCK_TYPES.map((t) => BLOCK_SCHEMAS[t]),
  'Block',
  'a signed block; the field set depends on `type` (SPEC §3)',
);

/** The block types a client may submit (`POST /blocks/{type}`): all but genesis. */
export const SUBMITTABLE_BLOCK_TYPES = BLOCK_TYPES.filter((t) => t !== 'genesis') as Exclude<BlockType, 'genesis'>[];

/** A stored block as the API serves it: the block plus `confirmed` (SPEC §12). */
export type StoredBlock = Block & { confirmed: boolean };

export const StoredBlockSchema = z
  .discriminatedUnion(
    'type',
    BLOCK_TYPES.map((t) =>
      (BLOCK_SCHEMAS[t] as unknown as z.ZodObject)
        .extend({ confirmed: z.boolean().meta({ description: 'confirmed by representative votes (SPEC §12)' }) })
        .meta({ id: `Stored${componentName(t)}` }),
    ) as unknown as [z.ZodObject, z.ZodObject, ...z.ZodObject[]],
  )
  .meta({ id: 'StoredBlock', description: 'a stored block and whether it is confirmed' }) as unknown as z.ZodType<StoredBlock, BlockInput & { confirmed: boolean }>;
