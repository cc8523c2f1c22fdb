import { checkAnswer, matchRoute } from '@xe/api-contract';
import { type JsonValue, parseJson } from '@xe/core-types';
import { expect } from '@jest/globals';
import type { ApiApp } from '../../src/index.js';

export const TOKEN = 'operator-secret-token';

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: JsonValue;
}

export interface CallOptions {
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  /** send `Authorization: Bearer TOKEN` */
  auth?: boolean;
  /** skip the contract check of the answer (a route the contract has but the server does not serve) */
  unchecked?: boolean;
}

/**
 * One in-process request; the body is parsed with the exact-integer codec when it is JSON.
 * Every answer of a route the contract defines is checked against the contract's schema for
 * its status (`checkAnswer`); an answer off the contract fails the test.
 */
export async function call(app: ApiApp, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.auth) headers.authorization = `Bearer ${TOKEN}`;
  const init: RequestInit = { method, headers };
  if (options.body !== undefined) init.body = options.body;
  const res = await app.request(path, init);
  const text = await res.text();
  const isJson = (res.headers.get('content-type') ?? '').startsWith('application/json');
  const body = isJson ? parseJson(text) : null;
  const route = options.unchecked ? undefined : matchRoute(method, new URL(path, 'http://x').pathname);
  if (route !== undefined && res.status !== 405) {
    const check = checkAnswer(route.route, res.status, isJson ? body : text);
    if (!check.ok) throw new Error(`answer off the contract: ${check.problem}\n${text.slice(0, 500)}`);
  }
  return { status: res.status, headers: res.headers, text, body };
}

export type JsonType = 'string' | 'integer' | 'boolean' | 'hash' | 'object' | 'array' | 'null' | 'hash|null';

/** The value is an object with exactly these fields, each of this JSON type. */
export function expectShape(value: JsonValue | undefined, shape: Record<string, JsonType>): { [k: string]: JsonValue } {
  expect(value !== null && typeof value === 'object' && !Array.isArray(value)).toBe(true);
  const o = value as { [k: string]: JsonValue };
  expect(Object.keys(o).sort()).toEqual(Object.keys(shape).sort());
  for (const [field, type] of Object.entries(shape)) {
    const v = o[field];
    const isHash = typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
    const ok = type === 'hash' ? isHash : type === 'hash|null' ? v === null || isHash : jsonType(v) === type;
    expect([field, ok ? type : `${jsonType(v)} ${String(v)}`]).toEqual([field, type]);
  }
  return o;
}

function jsonType(v: JsonValue | undefined): string {
  if (v === null) return 'null';
  if (typeof v === 'bigint') return 'integer';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** `{error, code, retryable}` with this status and code (`retryable` false unless given). */
export function expectError(reply: Reply, status: number, code: string, messageIncludes?: string, retryable = status === 429 || status === 503): void {
  expect({ status: reply.status, code: (reply.body as { code?: unknown } | null)?.code }).toEqual({ status, code });
  const o = expectShape(reply.body, { error: 'string', code: 'string', retryable: 'boolean' });
  expect(o.retryable).toBe(retryable);
  if (messageIncludes !== undefined) expect(o.error).toContain(messageIncludes);
}

export const LEASE_SHAPE: Record<string, JsonType> = {
  lease_hash: 'hash',
  consumer: 'hash',
  provider: 'hash',
  vcpus: 'integer',
  memory_mb: 'integer',
  disk_gb: 'integer',
  duration: 'integer',
  access_pub_key: 'hash',
  cost: 'integer',
  stake: 'integer',
  start_time: 'integer',
  certificate_hash: 'hash',
  settled: 'boolean',
  state: 'string',
};
