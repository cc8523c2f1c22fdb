import { describe, expect, it } from '@jest/globals';
import { ErrorCodes, parseJson, stringifyJson } from '@xe/core-types';
import type { z } from 'zod';
import { BlockSchema, contractError, ExecRequest, LeaseRequest } from '../../src/index.js';
import { hashOf, sendBlock } from './fixtures.js';

function refusal(schema: z.ZodType, input: unknown): [string, string | undefined, string] {
  const r = schema.safeParse(input);
  if (r.success) throw new Error('expected a refusal');
  const err = contractError(r.error, input);
  return [err.code, err.field, err.message];
}

const k = hashOf('k');

describe('contractError: a schema failure as the node words a 400', () => {
  it('names unknown, missing and malformed fields with core-types codes', () => {
    expect(refusal(LeaseRequest, parseJson(`{"vcpus":1,"duration":60,"access_pub_key":"${k}","gpu":1}`))).toEqual([ErrorCodes.UNKNOWN_FIELD, 'gpu', 'gpu: field not allowed']);
    expect(refusal(LeaseRequest, { vcpus: 1, access_pub_key: k })).toEqual([ErrorCodes.MISSING_FIELD, 'duration', 'duration: is required']);
    expect(refusal(ExecRequest, {})).toEqual([ErrorCodes.MISSING_FIELD, 'command', 'command: is required']);
    expect(refusal(LeaseRequest, { vcpus: '1', duration: 60, access_pub_key: k })).toEqual([ErrorCodes.INVALID_FIELD, 'vcpus', 'vcpus: expected an integer']);
    expect(refusal(LeaseRequest, { vcpus: 1.5, duration: 60, access_pub_key: k })[0]).toBe(ErrorCodes.INVALID_FIELD);
    expect(refusal(LeaseRequest, { vcpus: 1, duration: 60, access_pub_key: k.toUpperCase() })).toEqual([
      ErrorCodes.INVALID_FIELD,
      'access_pub_key',
      'access_pub_key: expected 64 lowercase hex chars',
    ]);
  });

  it('carries the codes a schema attaches: INVALID_RESOURCES, OVERFLOW, INVALID_MEMO, UNKNOWN_BLOCK_TYPE', () => {
    expect(refusal(LeaseRequest, { duration: 60, access_pub_key: k })[0]).toBe(ErrorCodes.INVALID_RESOURCES);
    expect(refusal(BlockSchema, parseJson(stringifyJson({ ...sendBlock(), amount: 0n }).replace('"amount":0', '"amount":18446744073709551616')))).toEqual([
      ErrorCodes.OVERFLOW,
      'amount',
      'amount: must be at most 18446744073709551615 (u64)',
    ]);
    expect(refusal(BlockSchema, { ...sendBlock(), amount: -1n })).toEqual([ErrorCodes.INVALID_FIELD, 'amount', 'amount: must not be negative']);
    expect(refusal(BlockSchema, { ...sendBlock(), memo: 'x'.repeat(65) })[0]).toBe(ErrorCodes.INVALID_MEMO);
    expect(refusal(BlockSchema, { ...sendBlock(), type: 'mint' })).toEqual([ErrorCodes.UNKNOWN_BLOCK_TYPE, 'type', 'type: unknown block type']);
    expect(refusal(BlockSchema, { ...sendBlock(), attestations: [] })).toEqual([ErrorCodes.UNKNOWN_FIELD, 'attestations', 'attestations: field not allowed']);
  });
});
