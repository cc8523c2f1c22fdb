import { describe, expect, it } from '@jest/globals';
import { ErrorCodes, type JsonValue, parseJson, stringifyJson, } from '../../src/index.js';
import { vectorText, errorOf } from '../support/fixtures.js';

const codeOf = (fn: () => unknown): string => errorOf(fn).code;

describe('parseJson / stringifyJson', () => {
  it('keeps integers above 2^53 exact, as bigint inside and plain numbers outside', () => {
    const text = '{"a":1709500180000000001,"b":18446744073709551615,"c":[0,-5,123456789012345678901234567890]}';
    const v = parseJson(text) as { a: bigint; b: bigint; c: bigint[] };
    expect(v.a).toBe(1709500180000000001n);
    expect(v.b).toBe(18446744073709551615n);
    expect(v.c).toEqual([0n, -5n, 123456789012345678901234567890n]);
    expect(stringifyJson(v)).toBe(text);
    expect(stringifyJson(parseJson('1709500180000000001'))).toBe('1709500180000000001');
    expect(stringifyJson(parseJson('18446744073709551615'))).toBe('18446744073709551615');
  });

  it('parses non-integers as numbers and prints them back', () => {
    const v = parseJson('{"x":1.5,"y":-2e3,"z":0.25E+1}') as Record<string, number>;
    expect(v).toEqual({ x: 1.5, y: -2000, z: 2.5 });
    expect(stringifyJson(v)).toBe('{"x":1.5,"y":-2000,"z":2.5}');
  });

  it('round-trips strings with escapes, unicode, nested structures and literals', () => {
    const text = '{"s":"a\\"b\\\\c\\n\\t\\u00e9\\ud83d\\ude00","t":true,"f":false,"n":null,"arr":[[],{},[{"k":"v"}]]}';
    const v = parseJson(text);
    expect(v).toEqual({ s: 'a"b\\c\n\té😀', t: true, f: false, n: null, arr: [[], {}, [{ k: 'v' }]] });
    expect(parseJson(stringifyJson(v))).toEqual(v);
  });

  it('round-trips every shared vector file with every integer literal intact', () => {
    for (const name of ['blocks.json', 'lease-lifecycle.json', 'xe-embedded-ledger-genesis.json', 'xe-testnet-0003-ledger-genesis.json']) {
      const text = vectorText(name);
      const v = parseJson(text);
      const printed = stringifyJson(v);
      expect(parseJson(printed)).toEqual(v);
      const literals = text.match(/(?<=[:[,]\s*)-?\d+(?=\s*[,\]}])/g) ?? [];
      expect(literals.length).toBeGreaterThanOrEqual(2);
      for (const lit of literals) expect(printed).toMatch(new RegExp(`[:\\[,]${lit}[,\\]}]`));
    }
  });

  it('indents like JSON.stringify while keeping bigints exact', () => {
    const v = { a: 18446744073709551615n, b: [1n, 'x'], c: {} , d: []};
    expect(stringifyJson(v, 2)).toBe('{\n  "a": 18446744073709551615,\n  "b": [\n    1,\n    "x"\n  ],\n  "c": {},\n  "d": []\n}');
  });

  it('skips undefined and functions in objects, writes null for them in arrays, uses toJSON', () => {
    expect(stringifyJson({ a: undefined, b: () => 1, c: 1n })).toBe('{"c":1}');
    expect(stringifyJson([undefined, () => 1, 2n])).toBe('[null,null,2]');
    expect(stringifyJson({ d: new Date(0) })).toBe('{"d":"1970-01-01T00:00:00.000Z"}');
  });

  it('refuses non-finite numbers with a coded error', () => {
    expect(codeOf(() => stringifyJson({ x: Number.NaN }))).toBe(ErrorCodes.INVALID_FIELD);
    expect(codeOf(() => stringifyJson(Number.POSITIVE_INFINITY))).toBe(ErrorCodes.INVALID_FIELD);
  });

  it('rejects duplicate keys', () => {
    expect(codeOf(() => parseJson('{"a":1,"a":2}'))).toBe(ErrorCodes.INVALID_JSON);
    expect(codeOf(() => parseJson('{"x":{"b":1,"c":2,"b":3}}'))).toBe(ErrorCodes.INVALID_JSON);
  });

  it('keeps a "__proto__" key as data without touching the prototype', () => {
    const v = parseJson('{"__proto__":{"polluted":1}}') as Record<string, JsonValue>;
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
  });

  it('limits nesting depth', () => {
    expect(parseJson(`${'['.repeat(256)}${']'.repeat(256)}`)).toBeDefined();
    expect(codeOf(() => parseJson(`${'['.repeat(257)}${']'.repeat(257)}`))).toBe(ErrorCodes.INVALID_JSON);
    expect(codeOf(() => parseJson(`${'{"a":'.repeat(300)}1${'}'.repeat(300)}`))).toBe(ErrorCodes.INVALID_JSON);
    expect(codeOf(() => parseJson('['.repeat(100_000)))).toBe(ErrorCodes.INVALID_JSON);
  });

  it.each([
    [''],
    ['   '],
    ['{'],
    ['{"a"}'],
    ['{"a":1,}'],
    ['[1,]'],
    ['[1 2]'],
    ['{a:1}'],
    ["{'a':1}"],
    ['01'],
    ['-'],
    ['1.'],
    ['.5'],
    ['1e'],
    ['+1'],
    ['NaN'],
    ['Infinity'],
    ['tru'],
    ['nul'],
    ['"abc'],
    ['"a\nb"'],
    ['"\\x41"'],
    ['"\\u12"'],
    ['{} {}'],
    ['1 2'],
    ['[1]x'],
  ])('malformed text %j → INVALID_JSON', (text) => {
    expect(codeOf(() => parseJson(text))).toBe(ErrorCodes.INVALID_JSON);
  });

  it('rejects a non-string input with a coded error', () => {
    expect(codeOf(() => parseJson(undefined as unknown as string))).toBe(ErrorCodes.INVALID_JSON);
  });

  it('accepts surrounding whitespace and all JSON whitespace characters', () => {
    expect(parseJson(' \t\r\n{ "a" : [ 1 , 2 ] }\n')).toEqual({ a: [1n, 2n] });
  });
});
