import { describe, expect, it } from '@jest/globals';
import { stringifyJson, XeError } from '@xe/core-types';
import { signAttestation } from '@xe/crypto';
import { parseAttestRequest, parseAttestResponse, TimekeeperError } from '../../src/index.js';
import { makeLeaseBlock, testKey } from '../support/fixtures.js';

const consumer = testKey(10);
const provider = testKey(11);

describe('parseAttestRequest', () => {
  it('reads {lease_hash} and {lease_hash, block} from JSON text with exact integers', () => {
    const block = makeLeaseBlock(consumer, provider, (1n << 62n) + 7n);
    expect(parseAttestRequest(`{"lease_hash":"${block.hash}"}`)).toEqual({ lease_hash: block.hash });
    const parsed = parseAttestRequest(stringifyJson({ lease_hash: block.hash, block }));
    expect(parsed.block).toEqual(block);
    expect(parsed.block?.timestamp).toBe((1n << 62n) + 7n);
  });

  it.each([
    ['not JSON', '{', undefined],
    ['not an object', '[]', undefined],
    ['missing lease_hash', '{}', 'lease_hash'],
    ['upper-case hash', `{"lease_hash":"${'A'.repeat(64)}"}`, 'lease_hash'],
    ['short hash', `{"lease_hash":"${'a'.repeat(62)}"}`, 'lease_hash'],
    ['unknown field', `{"lease_hash":"${'a'.repeat(64)}","x":1}`, 'x'],
  ])('rejects %s as INVALID_REQUEST', (_name, text, field) => {
    const err = (() => {
      try {
        parseAttestRequest(text);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(TimekeeperError);
    expect(err).toMatchObject({ code: 'INVALID_REQUEST' });
    if (field !== undefined) expect((err as TimekeeperError).field).toBe(field);
  });

  it('rejects a block that is malformed, not a lease, or another lease', () => {
    const block = makeLeaseBlock(consumer, provider, 5n);
    const other = makeLeaseBlock(consumer, provider, 6n);
    const bad = { ...block, vcpus: -1n };
    expect(() => parseAttestRequest(stringifyJson({ lease_hash: block.hash, block: bad }))).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST', field: 'block.vcpus' }),
    );
    expect(() => parseAttestRequest(stringifyJson({ lease_hash: block.hash, block: other }))).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST', field: 'block.hash' }),
    );
    const send = {
      type: 'send',
      account: block.account,
      previous: block.previous,
      balance: block.balance,
      timestamp: block.timestamp,
      asset: block.asset,
      destination: block.destination,
      amount: 1n,
      signature: block.signature,
      hash: block.hash,
    };
    expect(() => parseAttestRequest(stringifyJson({ lease_hash: block.hash, block: send }))).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST', field: 'block.type' }),
    );
  });
});

describe('parseAttestResponse', () => {
  it('reads an attestation, and turns an error body into an error with the remote code', () => {
    const a = signAttestation(testKey(0), 'b'.repeat(64), (1n << 63n) + 1n);
    expect(parseAttestResponse(stringifyJson(a))).toEqual(a);
    const err = (() => {
      try {
        parseAttestResponse('{"error":"lease unknown","code":"UNKNOWN_LEASE"}');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(XeError);
    expect(err).toMatchObject({ code: 'UNKNOWN_LEASE', message: 'lease unknown' });
  });

  it('treats anything else as INVALID_ATTESTATION', () => {
    for (const text of ['nope', '{}', '{"public_key":"x","timestamp":1,"signature":"y"}', '[1]']) {
      expect(() => parseAttestResponse(text)).toThrow(expect.objectContaining({ code: 'INVALID_ATTESTATION' }));
    }
  });
});
