import { describe, expect, it } from '@jest/globals';
import { I64_MIN, stringifyJson, U64_MAX } from '@xe/core-types';
import {
  decodeAccount,
  decodeChainEntry,
  decodePending,
  decodeSupply,
  decodeUndo,
  encodeAccount,
  encodeChainEntry,
  encodeJson,
  encodePending,
  encodeSupply,
  encodeUndo,
  summarizeChainEntry,
} from '../../src/codec.js';
import type { AccountState, PendingSend, SupplyCounters, UndoRecord } from '../../src/types.js';

const H1 = 'a1'.repeat(32);
const H2 = '0f'.repeat(32);
const H3 = 'ff'.repeat(32);

const account = (over: Partial<AccountState> = {}): AccountState => ({
  address: H1,
  pub_key: H2,
  frontier: H3,
  height: 7n,
  balances: { XE: 0n, XUSD: U64_MAX },
  last_timestamp: -5n,
  ...over,
});

describe('binary records', () => {
  it('round-trips account heads exactly, binary where it can', () => {
    for (const a of [account(), account({ frontier: '0', height: 0n, last_timestamp: I64_MIN }), account({ last_timestamp: (1n << 63n) - 1n })]) {
      const bytes = encodeAccount(a);
      expect(bytes[0]).toBe(0x01);
      expect(decodeAccount(bytes)).toEqual(a);
    }
  });

  it('falls back to JSON for values the binary form cannot hold', () => {
    for (const a of [
      account({ address: 'A1'.repeat(32) }),
      account({ frontier: 'xyz' }),
      account({ height: U64_MAX + 1n }),
      account({ balances: { XE: -1n, XUSD: 0n } }),
      account({ last_timestamp: I64_MIN - 1n }),
    ]) {
      const bytes = encodeAccount(a);
      expect(bytes[0]).toBe(0x7b);
      expect(decodeAccount(bytes)).toEqual(a);
    }
  });

  it('round-trips supply counters and pending sends', () => {
    const s: SupplyCounters = { genesis: U64_MAX, emitted: 1n, burned: 2n, forfeited: 3n, locked: 4n, pending: 0n };
    expect(encodeSupply(s)[0]).toBe(0x02);
    expect(decodeSupply(encodeSupply(s))).toEqual(s);
    const big = { ...s, emitted: U64_MAX + 5n };
    expect(encodeSupply(big)[0]).toBe(0x7b);
    expect(decodeSupply(encodeSupply(big))).toEqual(big);
    for (const asset of ['XE', 'XUSD'] as const) {
      const p: PendingSend = { hash: H1, from: H2, to: H3, asset, amount: 12345n };
      expect(encodePending(p)[0]).toBe(0x03);
      expect(decodePending(encodePending(p))).toEqual(p);
    }
    const odd = { hash: H1, from: H2, to: H3, asset: 'ABC', amount: 1n } as unknown as PendingSend;
    expect(decodePending(encodePending(odd))).toEqual(odd);
  });

  it('writes block JSON exactly as stringifyJson does', () => {
    const values: unknown[] = [
      { type: 'send', hash: H1, amount: 10n, n: 1.5, ok: true, none: null, skip: undefined, list: [1n, 'a"b\u2028', undefined] },
      { nested: { a: [{ b: -3n }] }, unicode: 'é😀\u0000' },
      [],
      {},
      { date: new Date(0), deep: [[[{ k: 'x'.repeat(5000) }]]], esc: 'tab\there\\ "q" \ud800', n: -0, e: 1e21 },
      'top',
      7n,
    ];
    for (const v of values) expect(new TextDecoder().decode(encodeJson(v))).toBe(stringifyJson(v));
    expect(() => encodeJson({ bad: Number.NaN })).toThrow();
    const block = { type: 'send', hash: H1, account: H2, amount: 3n, note: 'é' } as never;
    const digest = new Uint8Array(32).map((_, i) => i + 1);
    const stored = encodeChainEntry(digest, block);
    expect(stored.subarray(0, 32)).toEqual(digest);
    expect(new TextDecoder().decode(stored.subarray(32))).toBe(stringifyJson(block));
    expect(decodeChainEntry(stored)).toEqual({ digest, block });
  });
});

describe('stored block summaries (what serving sync reads)', () => {
  const att = (t: bigint) => ({ public_key: H1, timestamp: t, signature: 'ab'.repeat(64) });
  const stored = (block: object) => encodeChainEntry(new Uint8Array(32).fill(7), block as never);

  it('reads type, the top-level timestamp and the certificate without parsing the rest', () => {
    // attestations (with timestamps of their own) come before and after the block's timestamp
    const accept = { type: 'lease_accept', attestations: [att(99n), att(98n)], account: H1, timestamp: 1_800_000_000_000_000_000n, certificate_hash: H3, memo: 'x"}]{,\\' };
    const s = summarizeChainEntry(stored(accept));
    expect(s).toEqual({ json: stored(accept).subarray(32), type: 'lease_accept', timestamp: 1_800_000_000_000_000_000n, certificateHash: H3 });
    const send = { type: 'send', account: H1, nested: { timestamp: 5n, list: [[{}], []] }, timestamp: -7n, amount: 1n };
    expect(summarizeChainEntry(stored(send))).toEqual({ json: stored(send).subarray(32), type: 'send', timestamp: -7n });
  });

  it('parses the whole block when the scan meets what it does not expect', () => {
    // an escaped type, a timestamp that is not an integer literal, no timestamp at all
    const escaped = { type: 'a"b', timestamp: 4n };
    expect(summarizeChainEntry(stored(escaped)).type).toBe('a"b');
    const text = (t: string) => {
      const body = new TextEncoder().encode(t);
      const out = new Uint8Array(32 + body.length);
      out.set(body, 32);
      return out;
    };
    expect(summarizeChainEntry(text('{"type":"send","timestamp":12}'))).toMatchObject({ type: 'send', timestamp: 12n });
    expect(summarizeChainEntry(text('{"type":"send","timestamp":12 }')).timestamp).toBe(12n);
    expect(() => summarizeChainEntry(text('{"type":"send"'))).toThrow();
  });
});

describe('undo records', () => {
  const deltas: SupplyCounters = { genesis: 0n, emitted: 5n, burned: 0n, forfeited: 0n, locked: -(10n ** 20n), pending: 1n };
  const record: UndoRecord = {
    seq: 2n ** 63n + 9n,
    writes: [
      [new Uint8Array([1, 2, 3]), encodeAccount(account())],
      [new Uint8Array(300).fill(0xfe), null],
      [new Uint8Array([9]), new Uint8Array(0)],
    ],
    supply: [['XUSD', deltas]],
  };

  it('round-trips binary: images as they are, absent apart from empty', () => {
    const bytes = encodeUndo(record);
    expect(bytes[0]).toBe(0x04);
    expect(decodeUndo(bytes)).toEqual(record);
    // the images travel as bytes: far smaller than the hex JSON form of earlier versions
    expect(bytes.length).toBeLessThan(stringifyJson(record.writes.map(([k, v]) => [Buffer.from(k).toString('hex'), v && Buffer.from(v).toString('hex')])).length);
  });

  it('writes only the supply counters that changed, and reads every counter back', () => {
    const zero: SupplyCounters = { genesis: 0n, emitted: 0n, burned: 0n, forfeited: 0n, locked: 0n, pending: 0n };
    const bytes = encodeUndo({ ...record, supply: [['XE', zero], ['XUSD', { ...zero, pending: 7n }]] });
    expect(new TextDecoder().decode(bytes).endsWith('[["XUSD",{"pending":7}]]')).toBe(true);
    expect(decodeUndo(bytes).supply).toEqual([['XUSD', { ...zero, pending: 7n }]]);
    // the binary form of the previous version carried all six counters of every asset
    const full = new TextEncoder().encode(stringifyJson(record.supply));
    const earlier = new Uint8Array([...encodeUndo({ ...record, supply: [] }).subarray(0, -2), ...full]);
    expect(decodeUndo(earlier)).toEqual(record);
  });

  it('reads the JSON form earlier versions wrote', () => {
    const legacy = {
      seq: record.seq,
      writes: record.writes.map(([k, v]) => [Buffer.from(k).toString('hex'), v === null ? null : Buffer.from(v).toString('hex')]),
      supply: record.supply,
    };
    expect(decodeUndo(new TextEncoder().encode(stringifyJson(legacy)))).toEqual(record);
  });

  it('refuses a truncated or unknown record', () => {
    const bytes = encodeUndo(record);
    expect(() => decodeUndo(bytes.subarray(0, 40))).toThrow();
    expect(() => decodeUndo(new Uint8Array([0x09, 0, 0]))).toThrow('unknown form');
  });
});
