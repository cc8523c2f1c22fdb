import { describe, expect, it } from '@jest/globals';
import {
  BLOCK_FIELDS,
  BLOCK_TYPES,
  type BlockType,
  ErrorCodes,
  GENESIS_TIMING_FIELDS,
  isSealedBlock,
  memoBytes,
  parseAttestation,
  parseBlock,
  parseBlockSealed,
  parseCertificate,
  parseJson,
  parseNodeRecord,
  stringifyJson,
} from '../../src/index.js';
import { errorOf, sampleJson, vectorText } from '../support/fixtures.js';


const COMMON = ['type', 'account', 'previous', 'balance', 'timestamp', 'asset', 'representative', 'pub_key', 'signature', 'hash', 'pow_nonce'];
const ALL_FIELDS = [...new Set([...COMMON, ...Object.values(BLOCK_FIELDS).flatMap((f) => [...f.required, ...f.optional])])];

function withField(type: BlockType, field: string, value: unknown): Record<string, unknown> {
  return { ...sampleJson()[type], [field]: value };
}

describe('parseBlock on the shared vectors', () => {
  it('accepts every vector block and keeps its values exact', () => {
    const texts = [vectorText('xe-embedded-ledger-genesis.json'), vectorText('xe-testnet-0003-ledger-genesis.json')];
    const blocks: unknown[] = texts.map((t) => parseJson(t));
    for (const name of ['blocks.json', 'lease-lifecycle.json', 'lease-cancel-attested.json']) {
      const list = (parseJson(vectorText(name)) as { blocks: unknown[] }).blocks as unknown[];
      // lease-lifecycle.json's lease_cancel predates attested cancels (SPEC §5 as amended)
      blocks.push(...list.filter((raw) => name !== 'lease-lifecycle.json' || (raw as { type: string }).type !== 'lease_cancel'));
    }
    expect(blocks.length).toBeGreaterThanOrEqual(9);
    for (const raw of blocks) {
      const b = parseBlock(raw);
      expect(parseJson(stringifyJson(b))).toEqual(raw);
    }
    const legacy = (parseJson(vectorText('lease-lifecycle.json')) as { blocks: { type: string }[] }).blocks.find((b) => b.type === 'lease_cancel');
    expect(errorOf(() => parseBlock(legacy)).message).toMatch(/attestations/);
    const testnet = parseBlock(texts[1]!);
    expect(testnet.type).toBe('genesis');
    expect(testnet.balance).toBe(42_000_000_000_000n);
  });
});

describe('parseBlock field sets (SPEC §3)', () => {
  it.each(BLOCK_TYPES)('accepts a full %s block from JSON text and from a parsed value', (type) => {
    const json = sampleJson()[type];
    const fromText = parseBlock(stringifyJson(json));
    const fromValue = parseBlock(json);
    expect(fromText).toEqual(fromValue);
    expect(fromText.type).toBe(type);
    expect(parseJson(stringifyJson(fromText))).toEqual(parseJson(stringifyJson(json)));
  });

  it.each(BLOCK_TYPES)('rejects every field a %s block may not carry, naming it', (type) => {
    const allowed = new Set([...COMMON, ...BLOCK_FIELDS[type].required, ...BLOCK_FIELDS[type].optional]);
    if (type === 'genesis') allowed.delete('pow_nonce');
    const forbidden = [...ALL_FIELDS.filter((f) => !allowed.has(f)), 'extra', 'Type', 'constructor'];
    expect(forbidden.length).toBeGreaterThan(3);
    for (const field of forbidden) {
      const err = errorOf(() => parseBlock(withField(type, field, field === 'attestations' ? [] : 1n)));
      expect(err.code).toBe(ErrorCodes.UNKNOWN_FIELD);
      expect(err.field).toBe(field);
      expect(err.message).toContain(field);
    }
  });

  it.each(BLOCK_TYPES)('requires every required field of a %s block', (type) => {
    const required = ['type', 'account', 'previous', 'balance', 'timestamp', 'asset', 'signature', 'hash', ...BLOCK_FIELDS[type].required];
    for (const field of required) {
      const json = { ...sampleJson()[type] };
      delete json[field];
      const err = errorOf(() => parseBlock(json));
      expect(err.code).toBe(ErrorCodes.MISSING_FIELD);
      expect(err.field).toBe(field);
    }
  });

  it('treats the optional fields as optional', () => {
    const send = { ...sampleJson().send };
    for (const f of ['memo', 'representative', 'pub_key', 'pow_nonce']) delete send[f];
    expect(parseBlock(send)).not.toHaveProperty('memo');
    const accept = { ...sampleJson().lease_accept };
    delete accept.amount;
    expect(parseBlock(accept)).not.toHaveProperty('amount');
    const genesis = { ...sampleJson().genesis };
    for (const f of GENESIS_TIMING_FIELDS) delete genesis[f];
    expect(Object.keys(parseBlock(genesis))).not.toContain('lease_min_duration_secs');
    expect(parseBlock(withField('receive', 'representative', ''))).not.toHaveProperty('representative');
  });

  it('rejects pow_nonce on a genesis block', () => {
    const err = errorOf(() => parseBlock(withField('genesis', 'pow_nonce', 1n)));
    expect(err.code).toBe(ErrorCodes.UNKNOWN_FIELD);
    expect(err.field).toBe('pow_nonce');
  });

  it('rejects an unknown or missing type with UNKNOWN_BLOCK_TYPE / MISSING_FIELD', () => {
    for (const t of ['transfer', 'SEND', '', 7n, null, ['send'], 'toString', '__proto__']) {
      const err = errorOf(() => parseBlock(withField('send', 'type', t)));
      expect(err.code).toBe(ErrorCodes.UNKNOWN_BLOCK_TYPE);
      expect(err.field).toBe('type');
    }
    const json = { ...sampleJson().send };
    delete json.type;
    expect(errorOf(() => parseBlock(json)).code).toBe(ErrorCodes.MISSING_FIELD);
  });

  it('rejects a non-object and malformed JSON text with coded errors', () => {
    for (const v of [null, 1n, 'x', [], true, undefined]) {
      expect(errorOf(() => parseBlock(v)).code).toMatch(/^(INVALID_FIELD|INVALID_JSON)$/);
    }
    expect(errorOf(() => parseBlock('{"type":"send",')).code).toBe(ErrorCodes.INVALID_JSON);
    expect(errorOf(() => parseBlock('[1]')).code).toBe(ErrorCodes.INVALID_FIELD);
  });
});

describe('parseBlockSealed', () => {
  it.each(BLOCK_TYPES)('gives the %s block parseBlock gives, frozen to the attestations, and marked sealed', (type) => {
    const json = sampleJson()[type];
    const sealed = parseBlockSealed(json);
    expect(sealed).toEqual(parseBlock(json));
    expect(isSealedBlock(sealed)).toBe(true);
    expect(isSealedBlock(parseBlock(json))).toBe(false);
    expect(isSealedBlock({ ...sealed })).toBe(false);
    expect(Object.isFrozen(sealed)).toBe(true);
    expect(() => {
      (sealed as { timestamp: bigint }).timestamp = 1n;
    }).toThrow(TypeError);
    const list = (sealed as { attestations?: object[] }).attestations;
    if (list !== undefined) {
      expect(Object.isFrozen(list)).toBe(true);
      for (const a of list) expect(Object.isFrozen(a)).toBe(true);
    }
  });

  it('rejects what parseBlock rejects', () => {
    expect(() => parseBlockSealed(withField('send', 'amount', -1))).toThrow();
    expect(isSealedBlock(undefined)).toBe(false);
    expect(isSealedBlock('x')).toBe(false);
  });
});

describe('parseBlock hex fields', () => {
  const hexFields: [BlockType, string][] = [
    ['send', 'account'],
    ['send', 'previous'],
    ['send', 'representative'],
    ['send', 'pub_key'],
    ['send', 'hash'],
    ['send', 'destination'],
    ['receive', 'source'],
    ['lease', 'access_pub_key'],
    ['lease', 'certificate_hash'],
    ['lease_accept', 'certificate_hash'],
  ];

  it.each(hexFields)('%s.%s: upper-case hex is rejected, not normalised', (type, field) => {
    const err = errorOf(() => parseBlock(withField(type, field, 'AB'.repeat(32))));
    expect(err.code).toBe(ErrorCodes.INVALID_FIELD);
    expect(err.field).toBe(field);
    const mixed = errorOf(() => parseBlock(withField(type, field, `${'a'.repeat(63)}F`)));
    expect(mixed.field).toBe(field);
  });

  it.each(hexFields)('%s.%s: wrong lengths, non-hex characters and non-strings are rejected', (type, field) => {
    for (const bad of ['a'.repeat(62), 'a'.repeat(63), 'a'.repeat(66), `0x${'a'.repeat(62)}`, 'g'.repeat(64), ` ${'a'.repeat(63)}`, 5n, null, ['a']]) {
      const err = errorOf(() => parseBlock(withField(type, field, bad)));
      expect(err.code).toBe(ErrorCodes.INVALID_FIELD);
      expect(err.field).toBe(field);
      expect(err.message.startsWith(`${field}:`)).toBe(true);
    }
  });

  it('signature must be 128 lowercase hex', () => {
    for (const bad of ['ab'.repeat(32), 'AB'.repeat(64), 'ab'.repeat(65), 'zz'.repeat(64)]) {
      const err = errorOf(() => parseBlock(withField('send', 'signature', bad)));
      expect(err.field).toBe('signature');
    }
  });

  it('previous may be "0" but no other short form', () => {
    expect(parseBlock(withField('receive', 'previous', '0')).previous).toBe('0');
    for (const bad of ['00', '', 0n]) expect(errorOf(() => parseBlock(withField('receive', 'previous', bad))).field).toBe('previous');
  });
});

describe('parseBlock integers', () => {
  const u64Fields: [BlockType, string][] = [
    ['send', 'balance'],
    ['send', 'amount'],
    ['send', 'pow_nonce'],
    ['lease', 'vcpus'],
    ['lease', 'memory_mb'],
    ['lease', 'disk_gb'],
    ['lease', 'duration'],
    ['lease_accept', 'amount'],
    ['lease_accept', 'locked_r'],
    ['lease_settle', 'amount'],
    ['genesis', 'lease_settle_grace_ns'],
    ['genesis', 'max_attestation_skew_ns'],
  ];

  it.each(u64Fields)('%s.%s keeps 0 and 18446744073709551615 exact', (type, field) => {
    for (const v of ['0', '18446744073709551615', '1709500180000000001']) {
      const text = stringifyJson(withField(type, field, 0n)).replace(new RegExp(`"${field}":0`), `"${field}":${v}`);
      const b = parseBlock(text) as unknown as Record<string, unknown>;
      expect(b[field]).toBe(BigInt(v));
      expect(stringifyJson(b)).toContain(`"${field}":${v}`);
    }
  });

  it.each(u64Fields)('%s.%s rejects 2^64, -1, 1.5 and "0xAB", naming the field', (type, field) => {
    const cases: [string, string][] = [
      ['18446744073709551616', ErrorCodes.OVERFLOW],
      ['-1', ErrorCodes.INVALID_FIELD],
      ['1.5', ErrorCodes.INVALID_FIELD],
      ['"0xAB"', ErrorCodes.INVALID_FIELD],
      ['"12"', ErrorCodes.INVALID_FIELD],
      ['null', ErrorCodes.INVALID_FIELD],
      ['true', ErrorCodes.INVALID_FIELD],
    ];
    for (const [lit, code] of cases) {
      const text = stringifyJson(withField(type, field, 0n)).replace(new RegExp(`"${field}":0`), `"${field}":${lit}`);
      const err = errorOf(() => parseBlock(text));
      expect(err.code).toBe(code);
      expect(err.field).toBe(field);
      expect(err.message).toContain(field);
    }
  });

  it('accepts safe JS numbers from a value built in code, rejects unsafe ones', () => {
    expect(parseBlock(withField('send', 'amount', 5)).type).toBe('send');
    expect((parseBlock(withField('send', 'amount', 5)) as { amount: bigint }).amount).toBe(5n);
    expect(errorOf(() => parseBlock(withField('send', 'amount', 2 ** 60))).field).toBe('amount');
    expect(errorOf(() => parseBlock(withField('send', 'amount', Number.NaN))).field).toBe('amount');
    // an exponent form of a small integer is a safe number: accepted with its exact value
    const text = stringifyJson(withField('send', 'amount', 0n)).replace('"amount":0', '"amount":1e3');
    expect((parseBlock(text) as { amount: bigint }).amount).toBe(1000n);
    const big = stringifyJson(withField('send', 'amount', 0n)).replace('"amount":0', '"amount":1e19');
    expect(errorOf(() => parseBlock(big)).field).toBe('amount');
  });

  it('timestamp is an int64: negatives within range are accepted, beyond int64 rejected', () => {
    expect(parseBlock(withField('receive', 'timestamp', -5n)).timestamp).toBe(-5n);
    expect(parseBlock(withField('receive', 'timestamp', 9223372036854775807n)).timestamp).toBe(9223372036854775807n);
    for (const v of [9223372036854775808n, -9223372036854775809n]) {
      const err = errorOf(() => parseBlock(withField('receive', 'timestamp', v)));
      expect(err.code).toBe(ErrorCodes.OVERFLOW);
      expect(err.field).toBe('timestamp');
    }
  });

  it('asset must be XE or XUSD', () => {
    for (const a of ['xe', 'USD', '', 'XUSDXUSDX', 1n]) expect(errorOf(() => parseBlock(withField('send', 'asset', a))).field).toBe('asset');
  });
});

describe('memo rules (SPEC §3.1)', () => {
  it('allows 64 bytes, rejects 65 (counting UTF-8 bytes, not characters)', () => {
    expect(parseBlock(withField('send', 'memo', 'm'.repeat(64)))).toHaveProperty('memo', 'm'.repeat(64));
    expect(errorOf(() => parseBlock(withField('send', 'memo', 'm'.repeat(65)))).code).toBe(ErrorCodes.INVALID_MEMO);
    expect(memoBytes('é'.repeat(32))).toHaveLength(64);
    const err = errorOf(() => parseBlock(withField('send', 'memo', `${'é'.repeat(32)}x`)));
    expect(err.code).toBe(ErrorCodes.INVALID_MEMO);
    expect(err.field).toBe('memo');
  });

  it('allows TAB and LF, rejects every other control byte and DEL', () => {
    expect(parseBlock(withField('send', 'memo', 'a\tb\nc'))).toHaveProperty('memo', 'a\tb\nc');
    for (let c = 0; c < 0x20; c++) {
      if (c === 0x09 || c === 0x0a) continue;
      const err = errorOf(() => parseBlock(withField('send', 'memo', `x${String.fromCharCode(c)}y`)));
      expect(err.code).toBe(ErrorCodes.INVALID_MEMO);
      expect(err.field).toBe('memo');
    }
    expect(errorOf(() => parseBlock(withField('send', 'memo', 'del\x7f'))).code).toBe(ErrorCodes.INVALID_MEMO);
    expect(parseBlock(withField('send', 'memo', '~\u0080\u00ff')).type).toBe('send');
  });

  it('rejects a lone surrogate (not valid UTF-8), from text and from a value', () => {
    expect(errorOf(() => parseBlock(withField('send', 'memo', 'a\ud800b'))).code).toBe(ErrorCodes.INVALID_MEMO);
    const text = stringifyJson(withField('send', 'memo', 'PLACEHOLDER')).replace('PLACEHOLDER', '\\udc00');
    expect(errorOf(() => parseBlock(text)).code).toBe(ErrorCodes.INVALID_MEMO);
    expect(parseBlock(withField('send', 'memo', '😀'))).toHaveProperty('memo', '😀');
  });

  it('rejects a non-string memo; allows the empty memo', () => {
    expect(errorOf(() => parseBlock(withField('send', 'memo', 5n))).code).toBe(ErrorCodes.INVALID_MEMO);
    expect(parseBlock(withField('send', 'memo', ''))).toHaveProperty('memo', '');
  });
});

describe('attestations on blocks', () => {
  it('validates each attestation and names it by index', () => {
    const json = sampleJson().lease_accept;
    const atts = (json.attestations as Record<string, unknown>[]).map((a) => ({ ...a }));
    atts[1]!.timestamp = -1n;
    let err = errorOf(() => parseBlock({ ...json, attestations: atts }));
    expect(err.field).toBe('attestations[1].timestamp');
    atts[1]!.timestamp = 1n;
    atts[1]!.public_key = 'A'.repeat(64);
    err = errorOf(() => parseBlock({ ...json, attestations: atts }));
    expect(err.field).toBe('attestations[1].public_key');
    atts[1]!.public_key = 'a'.repeat(64);
    atts[1]!.extra = 1n;
    err = errorOf(() => parseBlock({ ...json, attestations: atts }));
    expect(err.code).toBe(ErrorCodes.UNKNOWN_FIELD);
    expect(err.field).toBe('attestations[1].extra');
    delete atts[1]!.extra;
    delete atts[1]!.signature;
    expect(errorOf(() => parseBlock({ ...json, attestations: atts })).code).toBe(ErrorCodes.MISSING_FIELD);
  });

  it('accepts 20 attestations and rejects 21', () => {
    const a = { public_key: 'a'.repeat(64), timestamp: 1n, signature: 'b'.repeat(128) };
    expect(parseBlock(withField('lease_settle', 'attestations', Array(20).fill(a)))).toHaveProperty('attestations');
    expect(errorOf(() => parseBlock(withField('lease_settle', 'attestations', Array(21).fill(a)))).field).toBe('attestations');
    expect(errorOf(() => parseBlock(withField('lease_settle', 'attestations', {}))).field).toBe('attestations');
  });

  it('parseAttestation stands alone', () => {
    const a = parseAttestation({ public_key: 'c'.repeat(64), timestamp: 7n, signature: 'd'.repeat(128) });
    expect(a.timestamp).toBe(7n);
    expect(errorOf(() => parseAttestation(null)).code).toBe(ErrorCodes.INVALID_FIELD);
  });
});

describe('parseCertificate and parseNodeRecord', () => {
  it('parses the vector certificate and rejects bad fields by name', () => {
    const cert = (parseJson(vectorText('lease-lifecycle.json')) as { certificate: Record<string, unknown> }).certificate;
    const c = parseCertificate(cert);
    expect(c.expires_at).toBe(1782404800000000000n);
    expect(errorOf(() => parseCertificate({ ...cert, score: -1n })).field).toBe('certificate.score');
    expect(errorOf(() => parseCertificate({ ...cert, more: 1n })).code).toBe(ErrorCodes.UNKNOWN_FIELD);
    expect(errorOf(() => parseCertificate({ ...cert, hash: 'x' })).field).toBe('certificate.hash');
  });

  it('parses a node record and rejects unknown roles', () => {
    const rec = {
      address: 'a'.repeat(64),
      pub_key: 'b'.repeat(64),
      peer_id: '12D3KooWExample',
      multiaddrs: ['/ip4/127.0.0.1/tcp/4001'],
      roles: ['provider', 'timekeeper'],
      timestamp: 1n,
      signature: 'c'.repeat(128),
    };
    expect(parseNodeRecord(rec).roles).toEqual(['provider', 'timekeeper']);
    expect(errorOf(() => parseNodeRecord({ ...rec, roles: ['miner'] })).field).toBe('record.roles[0]');
    expect(errorOf(() => parseNodeRecord({ ...rec, multiaddrs: [5n] })).field).toBe('record.multiaddrs[0]');
  });
});
