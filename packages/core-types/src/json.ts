import { ErrorCodes, ValidationError } from './errors.js';

/**
 * The one JSON codec. Integers (no fraction, no exponent) parse as `bigint` at any
 * size, so 64-bit values never pass through `Number`; other numbers parse as
 * `number`. `stringifyJson` prints `bigint` as a plain JSON number.
 */
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue };

const MAX_DEPTH = 256;

class Parser {
  pos = 0;
  constructor(readonly text: string) {}

  fail(message: string): never {
    throw new ValidationError(ErrorCodes.INVALID_JSON, `invalid JSON at position ${this.pos}: ${message}`);
  }

  ws(): void {
    const t = this.text;
    let p = this.pos;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 32 || c === 10 || c === 13 || c === 9) p++;
      else break;
    }
    this.pos = p;
  }

  value(depth: number): JsonValue {
    this.ws();
    const c = this.text.charCodeAt(this.pos);
    if (c === 123) return this.object(depth + 1);
    if (c === 91) return this.array(depth + 1);
    if (c === 34) return this.string();
    if (c === 45 || (c >= 48 && c <= 57)) return this.number();
    if (this.text.startsWith('true', this.pos)) {
      this.pos += 4;
      return true;
    }
    if (this.text.startsWith('false', this.pos)) {
      this.pos += 5;
      return false;
    }
    if (this.text.startsWith('null', this.pos)) {
      this.pos += 4;
      return null;
    }
    return this.fail(Number.isNaN(c) ? 'unexpected end of input' : `unexpected character ${JSON.stringify(this.text[this.pos])}`);
  }

  object(depth: number): { [key: string]: JsonValue } {
    if (depth > MAX_DEPTH) this.fail('nesting too deep');
    this.pos++;
    const out: { [key: string]: JsonValue } = {};
    this.ws();
    if (this.text.charCodeAt(this.pos) === 125) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.text.charCodeAt(this.pos) !== 34) this.fail('expected a string key');
      const key = this.string();
      if (Object.hasOwn(out, key)) this.fail(`duplicate key ${JSON.stringify(key)}`);
      this.ws();
      if (this.text.charCodeAt(this.pos) !== 58) this.fail('expected ":"');
      this.pos++;
      const v = this.value(depth);
      if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      else out[key] = v;
      this.ws();
      const c = this.text.charCodeAt(this.pos);
      if (c === 44) {
        this.pos++;
        continue;
      }
      if (c === 125) {
        this.pos++;
        return out;
      }
      this.fail('expected "," or "}"');
    }
  }

  array(depth: number): JsonValue[] {
    if (depth > MAX_DEPTH) this.fail('nesting too deep');
    this.pos++;
    const out: JsonValue[] = [];
    this.ws();
    if (this.text.charCodeAt(this.pos) === 93) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth));
      this.ws();
      const c = this.text.charCodeAt(this.pos);
      if (c === 44) {
        this.pos++;
        continue;
      }
      if (c === 93) {
        this.pos++;
        return out;
      }
      this.fail('expected "," or "]"');
    }
  }

  string(): string {
    const t = this.text;
    const start = this.pos + 1;
    let p = start;
    // Fast path: no escapes.
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 34) {
        this.pos = p + 1;
        return t.slice(start, p);
      }
      if (c === 92) break;
      if (c < 32 || Number.isNaN(c)) {
        this.pos = p;
        this.fail(Number.isNaN(c) ? 'unterminated string' : 'control character in string');
      }
      p++;
    }
    // Slow path with escapes.
    let end = p;
    for (;;) {
      const c = t.charCodeAt(end);
      if (Number.isNaN(c)) {
        this.pos = end;
        this.fail('unterminated string');
      }
      if (c < 32) {
        this.pos = end;
        this.fail('control character in string');
      }
      if (c === 92) {
        end += 2;
        continue;
      }
      if (c === 34) break;
      end++;
    }
    const raw = t.slice(this.pos, end + 1);
    try {
      const s = JSON.parse(raw) as string;
      this.pos = end + 1;
      return s;
    } catch {
      return this.fail('bad escape in string');
    }
  }

  number(): number | bigint {
    const t = this.text;
    const start = this.pos;
    let p = start;
    if (t.charCodeAt(p) === 45) p++;
    const intStart = p;
    while (t.charCodeAt(p) >= 48 && t.charCodeAt(p) <= 57) p++;
    if (p === intStart) {
      this.pos = p;
      this.fail('bad number');
    }
    if (t.charCodeAt(intStart) === 48 && p - intStart > 1) {
      this.pos = intStart;
      this.fail('leading zero in number');
    }
    let isInt = true;
    if (t.charCodeAt(p) === 46) {
      isInt = false;
      p++;
      const f = p;
      while (t.charCodeAt(p) >= 48 && t.charCodeAt(p) <= 57) p++;
      if (p === f) {
        this.pos = p;
        this.fail('bad fraction');
      }
    }
    const e = t.charCodeAt(p);
    if (e === 101 || e === 69) {
      isInt = false;
      p++;
      const s = t.charCodeAt(p);
      if (s === 43 || s === 45) p++;
      const f = p;
      while (t.charCodeAt(p) >= 48 && t.charCodeAt(p) <= 57) p++;
      if (p === f) {
        this.pos = p;
        this.fail('bad exponent');
      }
    }
    this.pos = p;
    const lit = t.slice(start, p);
    return isInt ? BigInt(lit) : Number(lit);
  }
}

/** Parses JSON text; integers come back as `bigint`. Malformed text → INVALID_JSON. */
export function parseJson(text: string): JsonValue {
  if (typeof text !== 'string') throw new ValidationError(ErrorCodes.INVALID_JSON, 'invalid JSON: expected text');
  const p = new Parser(text);
  const v = p.value(0);
  p.ws();
  if (p.pos !== text.length) p.fail('trailing characters');
  return v;
}

function write(value: unknown, out: string[]): void {
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return;
    case 'bigint':
      out.push(value.toString());
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new ValidationError(ErrorCodes.INVALID_FIELD, `cannot encode ${value} as JSON`);
      out.push(String(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'object': {
      if (value === null) {
        out.push('null');
        return;
      }
      const toJSON = (value as { toJSON?: () => unknown }).toJSON;
      if (typeof toJSON === 'function') {
        write(toJSON.call(value), out);
        return;
      }
      if (Array.isArray(value)) {
        out.push('[');
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out.push(',');
          const item = value[i];
          write(item === undefined || typeof item === 'function' ? null : item, out);
        }
        out.push(']');
        return;
      }
      out.push('{');
      let first = true;
      for (const key in value as Record<string, unknown>) {
        if (!Object.hasOwn(value, key)) continue;
        const v = (value as Record<string, unknown>)[key];
        if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
        if (!first) out.push(',');
        first = false;
        out.push(JSON.stringify(key), ':');
        write(v, out);
      }
      out.push('}');
      return;
    }
    default:
      out.push('null');
  }
}

/** Prints JSON; `bigint` as plain digits. `space` indents like JSON.stringify. */
export function stringifyJson(value: unknown, space?: number): string {
  const out: string[] = [];
  write(value, out);
  const compact = out.join('');
  if (!space) return compact;
  // Re-indent by parsing our own output: exact for bigints, used only for human output.
  return indent(parseJson(compact), space, 0);
}

function indent(value: JsonValue, space: number, level: number): string {
  const pad = ' '.repeat(space * (level + 1));
  const end = ' '.repeat(space * level);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => pad + indent(v, space, level + 1)).join(',\n')}\n${end}]`;
  }
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 0) return '{}';
    return `{\n${keys.map((k) => `${pad}${JSON.stringify(k)}: ${indent(value[k]!, space, level + 1)}`).join(',\n')}\n${end}}`;
  }
  return typeof value === 'bigint' ? value.toString() : JSON.stringify(value);
}
