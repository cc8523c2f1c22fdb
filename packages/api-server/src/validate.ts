import { contractError, type RouteDef } from '@xe/api-contract';
import { durationBounds, fields, type JsonValue, type NetworkParams } from '@xe/core-types';
import type { z } from 'zod';
import { ApiError, ApiErrorCodes } from './errors.js';
import { readJsonBody, readOptionalJsonBody } from './http.js';

/**
 * Request validation with the contract's schemas (`@xe/api-contract`), the same ones the
 * OpenAPI document and the client are made from. Each failure is a coded 400 whose
 * message starts with the field (`contractError`).
 */

export interface CheckedInput {
  params: unknown;
  query: unknown;
  body: unknown;
  raw: JsonValue | undefined;
}

function queryError(field: string, message: string): ApiError {
  return new ApiError(ApiErrorCodes.INVALID_QUERY, `${field}: ${message}`, { field });
}

/**
 * The query string against the route's query schema: an unknown or repeated parameter is
 * 400 INVALID_QUERY, as is a value the schema refuses. Routes without a query schema
 * ignore the query string.
 */
export function checkQuery(schema: z.ZodObject | undefined, url: string): unknown {
  if (schema === undefined) return {};
  const q = url.indexOf('?');
  const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const allowed = Object.keys(schema.shape);
  const raw: Record<string, string> = {};
  for (const [key, value] of params) {
    if (!allowed.includes(key)) throw queryError(key.slice(0, 40), `unknown query parameter; allowed: ${allowed.join(', ')}`);
    if (Object.hasOwn(raw, key)) throw queryError(key, 'given more than once');
    raw[key] = value;
  }
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const err = contractError(r.error, raw, 'query');
  throw queryError(err.field ?? 'query', err.message.replace(/^[^:]*: /, ''));
}

/**
 * The codec reads an integer literal as a `bigint` and any other number (`1.5`, `1.0`,
 * `1e3`) as a `number`; every number in the API is an integer, so a `number` in a body
 * is refused here, even when its value is whole (the schemas accept safe-integer numbers
 * from typed callers).
 */
export function refuseNonIntegerLiterals(value: JsonValue, path: string[] = []): void {
  if (typeof value === 'number') {
    const field = path.length === 0 ? 'body' : path.join('.');
    throw fields.invalid(field, `expected an integer, got the number ${value} (fraction or exponent)`);
  }
  if (value === null || typeof value !== 'object') return;
  const entries: [string, JsonValue | undefined][] = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  for (const [k, v] of entries) if (v !== undefined) refuseNonIntegerLiterals(v, [...path, k]);
}

/** Runs `schema` over `value`; a failure is the contract's coded 400. */
export function checkValue<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw contractError(r.error, value, what);
  return r.data;
}

/**
 * A request's path parameters, query and body checked by the route's schemas. The body is
 * read with the 1 MiB cap and core-types' codec (u64 exact) whatever the content type.
 * `prepare` may adjust the raw body before the schema sees it (`POST /blocks/{type}`).
 */
export async function checkRequest(
  route: RouteDef,
  req: Request,
  params: Record<string, string>,
  prepare?: (raw: JsonValue) => JsonValue,
): Promise<CheckedInput> {
  const checkedParams = route.params === undefined ? {} : checkValue(route.params, params, 'params');
  const query = checkQuery(route.query, req.url);
  if (route.body === undefined) return { params: checkedParams, query, body: undefined, raw: undefined };
  let raw = route.bodyOptional === true ? await readOptionalJsonBody(req) : await readJsonBody(req);
  if (raw === undefined) return { params: checkedParams, query, body: undefined, raw: undefined };
  if (prepare !== undefined) raw = prepare(raw);
  refuseNonIntegerLiterals(raw);
  return { params: checkedParams, query, body: checkValue(route.body, raw, 'body'), raw };
}

/** `duration` within the network's bounds (SPEC §4), which the contract's schema cannot know. */
export function checkDuration(duration: number, network: Pick<NetworkParams, 'lease'>): void {
  const { min, max } = durationBounds(network);
  if (duration < min || duration > max) throw fields.invalid('duration', `must be between ${min} and ${max}, got ${duration}`);
}
