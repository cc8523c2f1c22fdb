import { describe, expect, it } from '@jest/globals';
import { type Block, BLOCK_FIELDS, BLOCK_TYPES, type BlockType, ErrorCodes, parseBlock, stringifyJson, } from '@xe/core-types';
import { encodeAux, encodeCanonical, hashBlock, signBlock, verifyBlockSignature } from '../../src/index.js';
import { consumer, keyOf, NETWORK_ID, signedBlocks, unsignedBlocks, errorOf } from '../support/fixtures.js';

type Mutable = Record<string, unknown>;

function bump(value: unknown): unknown {
  if (typeof value === 'bigint') return value + 1n;
  if (value === '0') return 'f'.repeat(64);
  if (typeof value === 'string' && /^[0-9a-f]+$/.test(value)) return value.slice(0, -1) + (value.endsWith('0') ? '1' : '0');
  if (value === 'XE') return 'XUSD';
  if (value === 'XUSD') return 'XE';
  if (typeof value === 'string') return `${value}!`;
  throw new Error(`no mutation for ${String(value)}`);
}

/** Every hash-bound top-level field of a block (SPEC §3.1 canonical bytes and §3.2 aux). */
function hashBoundFields(type: BlockType): string[] {
  const own = [...BLOCK_FIELDS[type].required, ...BLOCK_FIELDS[type].optional].filter((f) => f !== 'attestations');
  return ['account', 'previous', 'balance', 'timestamp', 'asset', 'representative', 'pub_key', ...own];
}



describe('the sample blocks', () => {
  it.each(BLOCK_TYPES)('a %s block passes parseBlock, hashes to its hash and its signature verifies', (type) => {
    const b = signedBlocks()[type];
    const parsed = parseBlock(stringifyJson(b));
    expect(parsed).toEqual(b);
    expect(hashBlock(parsed, NETWORK_ID)).toBe(b.hash);
    expect(verifyBlockSignature(parsed, keyOf(b).pubKeyHex, NETWORK_ID)).toBe(true);
  });

  it('canonical bytes have the layout lengths of SPEC §3.1', () => {
    const u = unsignedBlocks();
    const memoLen = new TextEncoder().encode((u.send as { memo: string }).memo).length;
    const expected: Record<BlockType, number> = {
      send: 90 + 40 + 32 + 1 + memoLen,
      receive: 90 + 32 + 32,
      lease: 90 + 104 + 32,
      lease_accept: 90 + 64 + 32,
      lease_settle: 90 + 40 + 32,
      genesis: 90 + 32 + 48,
      lease_cancel: 90 + 32 + 32,
      lease_force_settle: 90 + 32 + 32,
    };
    for (const type of BLOCK_TYPES) {
      const bytes = encodeCanonical(u[type]);
      expect([type, bytes.length]).toEqual([type, expected[type]]);
      expect(bytes[0]).toBe(0x02);
    }
    const { memo: _m, ...noMemo } = u.send as Mutable;
    expect(encodeCanonical(noMemo as unknown as Block).length).toBe(90 + 40 + 32 + 1);
    const g = { ...u.genesis } as Mutable;
    for (const f of BLOCK_FIELDS.genesis.optional) g[f] = 0n;
    expect(encodeCanonical(g as unknown as Block).length).toBe(90 + 32);
    // lease_accept's two reserved words are zero
    expect([...encodeCanonical(u.lease_accept).subarray(90 + 48, 90 + 64)].every((x) => x === 0)).toBe(true);
  });
});

describe('hash binding (mutation)', () => {
  it.each(BLOCK_TYPES)('changing any hash-bound field of a %s block changes its hash', (type) => {
    const base = signedBlocks()[type] as unknown as Mutable;
    const h0 = hashBlock(base as unknown as Block, NETWORK_ID);
    const fields = hashBoundFields(type);
    for (const f of fields) {
      expect([type, f, base[f] !== undefined]).toEqual([type, f, true]);
      const m = { ...base, [f]: bump(base[f]) };
      expect([f, hashBlock(m as unknown as Block, NETWORK_ID)]).not.toEqual([f, h0]);
      expect(verifyBlockSignature(m as unknown as Block, keyOf(base as unknown as Block).pubKeyHex, NETWORK_ID)).toBe(false);
    }
    // removing pub_key (present → absent) is a change too
    const { pub_key: _p, ...noKey } = base;
    expect(hashBlock(noKey as unknown as Block, NETWORK_ID)).not.toBe(h0);
  });

  it.each(['lease_accept', 'lease_settle', 'lease_force_settle'] as const)(
    'changing any attestation public_key, timestamp or signature of a %s block changes its hash',
    (type) => {
      const base = signedBlocks()[type] as unknown as Block & { attestations: Mutable[] };
      const h0 = hashBlock(base, NETWORK_ID);
      expect(base.attestations.length).toBe(3);
      for (let i = 0; i < base.attestations.length; i++) {
        for (const f of ['public_key', 'timestamp', 'signature']) {
          const atts = base.attestations.map((a, j) => (j === i ? { ...a, [f]: bump(a[f]) } : a));
          expect(hashBlock({ ...base, attestations: atts } as unknown as Block, NETWORK_ID)).not.toBe(h0);
        }
      }
      expect(hashBlock({ ...base, attestations: base.attestations.slice(1) } as unknown as Block, NETWORK_ID)).not.toBe(h0);
    },
  );

  it('the attestation order does not matter', () => {
    for (const type of ['lease_accept', 'lease_settle', 'lease_force_settle'] as const) {
      const base = signedBlocks()[type] as unknown as Block & { attestations: unknown[] };
      const reversed = { ...base, attestations: [...base.attestations].reverse() } as unknown as Block;
      const rotated = { ...base, attestations: [...base.attestations.slice(1), base.attestations[0]] } as unknown as Block;
      expect(hashBlock(reversed, NETWORK_ID)).toBe(base.hash);
      expect(hashBlock(rotated, NETWORK_ID)).toBe(base.hash);
      expect(verifyBlockSignature(reversed, keyOf(base).pubKeyHex, NETWORK_ID)).toBe(true);
    }
  });

  it('two attestations with the same key are a coded error', () => {
    for (const type of ['lease_accept', 'lease_settle', 'lease_force_settle'] as const) {
      const base = signedBlocks()[type] as unknown as Block & { attestations: Mutable[] };
      const dup = [...base.attestations, { ...base.attestations[0]!, timestamp: 1n }];
      const err = errorOf(() => hashBlock({ ...base, attestations: dup } as unknown as Block, NETWORK_ID));
      expect(err.code).toBe('ATTESTATIONS_DUPLICATE_KEY');
      expect(verifyBlockSignature({ ...base, attestations: dup } as unknown as Block, keyOf(base).pubKeyHex, NETWORK_ID)).toBe(false);
    }
  });

  it.each(BLOCK_TYPES)('pow_nonce, signature and hash of a %s block are not hash-bound', (type) => {
    const base = signedBlocks()[type] as unknown as Mutable;
    const h0 = hashBlock(base as unknown as Block, NETWORK_ID);
    for (const [f, v] of [
      ['pow_nonce', 999n],
      ['signature', 'ab'.repeat(64)],
      ['hash', 'cd'.repeat(32)],
    ] as const) {
      expect(hashBlock({ ...base, [f]: v } as unknown as Block, NETWORK_ID)).toBe(h0);
    }
    const { pow_nonce: _n, ...noNonce } = base;
    expect(hashBlock(noNonce as unknown as Block, NETWORK_ID)).toBe(h0);
  });

  it('the type byte is bound: a receive and a lease_cancel with the same fields differ', () => {
    const r = { ...unsignedBlocks().lease_cancel, type: 'receive' } as unknown as Block;
    expect(hashBlock(r, NETWORK_ID)).not.toBe(hashBlock(unsignedBlocks().lease_cancel, NETWORK_ID));
  });

  it('the network id is bound for every type but genesis', () => {
    for (const type of BLOCK_TYPES) {
      const b = unsignedBlocks()[type];
      const same = hashBlock(b, NETWORK_ID) === hashBlock(b, `${NETWORK_ID}x`);
      expect([type, same]).toEqual([type, type === 'genesis']);
      expect(hashBlock(b, '') === hashBlock(b, NETWORK_ID)).toBe(type === 'genesis');
    }
  });

  it('absent optional values encode as their zero forms (SPEC §3, "a missing optional number means zero")', () => {
    const u = unsignedBlocks();
    const send = u.send as Mutable;
    expect(hashBlock({ ...send, memo: '' } as unknown as Block, NETWORK_ID)).toBe(hashBlock({ ...send, memo: undefined } as unknown as Block, NETWORK_ID));
    const acc = u.lease_accept as Mutable;
    expect(hashBlock({ ...acc, amount: 0n } as unknown as Block, NETWORK_ID)).toBe(hashBlock({ ...acc, amount: undefined } as unknown as Block, NETWORK_ID));
    expect(hashBlock({ ...acc, representative: '0'.repeat(64) } as unknown as Block, NETWORK_ID)).toBe(
      hashBlock({ ...acc, representative: undefined } as unknown as Block, NETWORK_ID),
    );
    expect(encodeAux({ ...u.receive, pub_key: undefined } as unknown as Block).length).toBe(0);
    expect(encodeAux({ ...u.lease, pub_key: undefined } as unknown as Block).length).toBe(8 + 64 + 8);
    expect(encodeAux(u.lease).length).toBe(8 + 18 + 8 + 64 + 8 + 64 + 8);
  });

  it.each(BLOCK_TYPES)('parseBlock rejects each field a signed %s block may not carry (UNKNOWN_FIELD, named)', (type) => {
    const b = signedBlocks()[type] as unknown as Mutable;
    const allowed = new Set(Object.keys(b));
    for (const f of [...BLOCK_FIELDS[type].required, ...BLOCK_FIELDS[type].optional]) allowed.add(f);
    const all = new Set(BLOCK_TYPES.flatMap((t) => [...BLOCK_FIELDS[t].required, ...BLOCK_FIELDS[t].optional]));
    const forbidden = [...all].filter((f) => !allowed.has(f));
    if (type === 'genesis') forbidden.push('pow_nonce');
    expect(forbidden.length).toBeGreaterThan(0);
    for (const f of forbidden) {
      const err = errorOf(() => parseBlock({ ...b, [f]: f === 'attestations' ? [] : 1n }));
      expect([err.code, err.field]).toEqual([ErrorCodes.UNKNOWN_FIELD, f]);
    }
  });
});

describe('bad input is a coded error, never an untyped one', () => {
  const send = () => ({ ...unsignedBlocks().send }) as Mutable;
  const cases: [string, () => Mutable, string, string][] = [
    ['malformed hex', () => ({ ...send(), destination: 'zz'.repeat(32) }), ErrorCodes.INVALID_FIELD, 'destination'],
    ['upper-case hex', () => ({ ...send(), account: 'AB'.repeat(32) }), ErrorCodes.INVALID_FIELD, 'account'],
    ['short hex', () => ({ ...send(), destination: 'ab'.repeat(31) }), ErrorCodes.INVALID_FIELD, 'destination'],
    ['long hex', () => ({ ...send(), representative: 'ab'.repeat(33) }), ErrorCodes.INVALID_FIELD, 'representative'],
    ['odd hex', () => ({ ...send(), previous: 'a'.repeat(63) }), ErrorCodes.INVALID_FIELD, 'previous'],
    ['missing field', () => ({ ...send(), destination: undefined }), ErrorCodes.INVALID_FIELD, 'destination'],
    ['short pub_key', () => ({ ...send(), pub_key: 'ab' }), ErrorCodes.INVALID_FIELD, 'pub_key'],
    ['unknown block type', () => ({ ...send(), type: 'transfer' }), ErrorCodes.UNKNOWN_BLOCK_TYPE, 'type'],
    ['forbidden memo byte', () => ({ ...send(), memo: 'a\u0000b' }), ErrorCodes.INVALID_MEMO, 'memo'],
    ['DEL in memo', () => ({ ...send(), memo: 'a\u007f' }), ErrorCodes.INVALID_MEMO, 'memo'],
    ['memo over 64 bytes', () => ({ ...send(), memo: 'x'.repeat(65) }), ErrorCodes.INVALID_MEMO, 'memo'],
    ['lone surrogate memo', () => ({ ...send(), memo: '\ud800' }), ErrorCodes.INVALID_MEMO, 'memo'],
    ['amount above u64', () => ({ ...send(), amount: 1n << 64n }), ErrorCodes.OVERFLOW, 'amount'],
    ['negative balance', () => ({ ...send(), balance: -1n }), ErrorCodes.INVALID_FIELD, 'balance'],
    ['timestamp beyond int64', () => ({ ...send(), timestamp: 1n << 63n }), ErrorCodes.OVERFLOW, 'timestamp'],
    ['non-integer amount', () => ({ ...send(), amount: 1.5 }), ErrorCodes.INVALID_FIELD, 'amount'],
    ['asset over 8 bytes', () => ({ ...send(), asset: 'XUSDXUSDX' }), ErrorCodes.INVALID_FIELD, 'asset'],
    [
      'bad attestation key',
      () => ({ ...unsignedBlocks().lease_settle, attestations: [{ public_key: 'x', timestamp: 1n, signature: 'ab'.repeat(64) }] }) as Mutable,
      ErrorCodes.INVALID_FIELD,
      'attestations[0].public_key',
    ],
    ['attestations not a list', () => ({ ...unsignedBlocks().lease_settle, attestations: 5n }) as Mutable, ErrorCodes.INVALID_FIELD, 'attestations'],
    ['missing certificate_hash', () => ({ ...unsignedBlocks().lease, certificate_hash: undefined }) as Mutable, ErrorCodes.INVALID_FIELD, 'certificate_hash'],
  ];

  it.each(cases)('%s', (_name, make, code, field) => {
    const err = errorOf(() => hashBlock(make() as unknown as Block, NETWORK_ID));
    expect([err.code, err.field]).toEqual([code, field]);
    const signErr = errorOf(() => signBlock(make() as unknown as Block, consumer, NETWORK_ID));
    expect(signErr.code).toBe(code);
    expect(verifyBlockSignature({ ...make(), hash: 'a'.repeat(64), signature: 'b'.repeat(128) } as unknown as Block, consumer.pubKeyHex, NETWORK_ID)).toBe(false);
  });

  it('a non-object is a coded error', () => {
    for (const v of [null, undefined, 5, 'send']) expect(errorOf(() => hashBlock(v as unknown as Block, NETWORK_ID)).code).toMatch(/^[A-Z_]+$/);
  });
});
