import { contractError, errorSchema, type RouteDef } from '@xe/api-contract';
import { parseJson, stringifyJson } from '@xe/core-types';
import type { z } from 'zod';
import { ClientErrorCodes, XeApiError } from './errors.js';

export interface CallOptions {
  /** aborts the call: the promise rejects with code ABORTED */
  signal?: AbortSignal;
  /** ms until the answer (headers and body) must be in; rejects with code TIMEOUT */
  timeoutMs?: number;
}

export interface TransportOptions {
  baseUrl: string;
  operatorToken: string | undefined;
  timeoutMs: number;
  validate: boolean;
  maxResponseBytes: number;
  fetch: typeof fetch;
  headers: Record<string, string>;
}

export interface CallInput {
  params?: Record<string, string>;
  query?: Record<string, string | number | bigint | undefined>;
  headers?: Record<string, string | undefined>;
  body?: unknown;
}

export interface Answer {
  status: number;
  value: unknown;
  headers: Headers;
}

/** A refused input as a coded, field-naming error (nothing was sent); codes as the node's 400s. */
export function inputError(what: string, error: z.ZodError, input: unknown): XeApiError {
  const e = contractError(error, input, what);
  return new XeApiError(e.code, e.message, { status: 0, retryable: false, field: e.field ?? what });
}

function check<S extends z.ZodType>(schema: S | undefined, value: unknown, what: string): unknown {
  if (schema === undefined) return value;
  const r = schema.safeParse(value);
  if (!r.success) throw inputError(what, r.error, value);
  return r.data;
}

/** The URL of a route with its path parameters (checked against the contract) and query. */
export function routeUrl(baseUrl: string, route: RouteDef, input: CallInput): URL {
  const params = check(route.params, input.params ?? {}, 'params') as Record<string, string>;
  const path = route.path.replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(params[name] ?? ''));
  const url = new URL(baseUrl.replace(/\/+$/, '') + path);
  if (input.query !== undefined) {
    const wire: Record<string, string> = {};
    for (const [k, v] of Object.entries(input.query)) if (v !== undefined) wire[k] = String(v);
    check(route.query, wire, 'query');
    for (const [k, v] of Object.entries(wire)) url.searchParams.set(k, v);
  }
  return url;
}

/**
 * A deadline and the caller's signal as one signal whose reason is a coded XeApiError
 * (TIMEOUT or ABORTED). `done()` clears the timer.
 */
export function deadline(options: CallOptions, defaultMs: number): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const ms = options.timeoutMs ?? defaultMs;
  const timer =
    ms > 0 && Number.isFinite(ms)
      ? setTimeout(
          () => controller.abort(new XeApiError(ClientErrorCodes.TIMEOUT, `no answer within ${ms} ms`, { status: 0, retryable: true })),
          ms,
        )
      : undefined;
  const user = options.signal;
  const onAbort = () => controller.abort(new XeApiError(ClientErrorCodes.ABORTED, 'call aborted', { status: 0, retryable: false, cause: user?.reason }));
  if (user?.aborted) onAbort();
  else user?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    done: () => {
      if (timer !== undefined) clearTimeout(timer);
      user?.removeEventListener('abort', onAbort);
    },
  };
}

/** The signal's coded reason, or the error itself when the call failed on its own. */
export function failure(err: unknown, signal: AbortSignal): XeApiError {
  if (signal.aborted && signal.reason instanceof XeApiError) return signal.reason;
  if (err instanceof XeApiError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new XeApiError(ClientErrorCodes.NETWORK_ERROR, `request failed: ${message}`, { status: 0, retryable: true, cause: err });
}

/** Reads a body up to `max` bytes (a hostile or broken peer cannot grow memory without bound). */
export async function readBody(response: Response, max: number): Promise<string> {
  const length = Number(response.headers.get('content-length') ?? Number.NaN);
  if (length > max) {
    await response.body?.cancel();
    throw new XeApiError(ClientErrorCodes.RESPONSE_TOO_LARGE, `answer of ${length} bytes exceeds ${max}`, { status: response.status, retryable: false });
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      throw new XeApiError(ClientErrorCodes.RESPONSE_TOO_LARGE, `answer exceeds ${max} bytes`, { status: response.status, retryable: false });
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function errorFrom(route: RouteDef, status: number, text: string, statusText: string): XeApiError {
  let body: unknown;
  try {
    body = parseJson(text);
  } catch {
    body = undefined;
  }
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const o = body as Record<string, unknown>;
    if (typeof o.code === 'string' && typeof o.error === 'string') {
      // Extras (lease_hash, opens_at) parsed by the route's error schema where it fits.
      const parsed = errorSchema(route, status).safeParse(o);
      const value = (parsed.success ? parsed.data : o) as Record<string, unknown>;
      const retryable = typeof o.retryable === 'boolean' ? o.retryable : status === 429 || status === 503;
      return new XeApiError(o.code, o.error, { status, retryable, body: value });
    }
  }
  const retryable = status === 429 || status === 502 || status === 503 || status === 504;
  return new XeApiError(ClientErrorCodes.HTTP_ERROR, `HTTP ${status} ${statusText}`.trim(), { status, retryable });
}

/** One call of a route: URL, auth, body through the codec, answer checked against the contract. */
export async function call(options: TransportOptions, route: RouteDef, input: CallInput, callOptions: CallOptions = {}): Promise<Answer> {
  const url = routeUrl(options.baseUrl, route, input);
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  for (const [k, v] of Object.entries(input.headers ?? {})) if (v !== undefined) headers[k] = v;
  if (route.auth === 'operator' && options.operatorToken !== undefined) headers.authorization = `Bearer ${options.operatorToken}`;
  let body: string | undefined;
  if (input.body !== undefined) {
    // Checked against the contract, then sent as the caller wrote it (field order, exact integers).
    check(route.body, input.body, 'body');
    body = stringifyJson(input.body);
    headers['content-type'] = 'application/json';
  } else if (route.body !== undefined && route.bodyOptional !== true) {
    throw new XeApiError(ClientErrorCodes.INVALID_FIELD, 'body: is required', { status: 0, retryable: false, field: 'body' });
  }
  const { signal, done } = deadline(callOptions, options.timeoutMs);
  try {
    const init: RequestInit = { method: route.method, headers, signal };
    if (body !== undefined) init.body = body;
    const response = await options.fetch(url, init);
    const text = await readBody(response, options.maxResponseBytes);
    const def = route.responses[response.status];
    if (def === undefined) {
      if (response.status >= 400) throw errorFrom(route, response.status, text, response.statusText);
      throw new XeApiError(ClientErrorCodes.INVALID_RESPONSE, `${route.method} ${route.path}: unexpected status ${response.status}`, {
        status: response.status,
        retryable: false,
      });
    }
    if (def.mediaType !== 'application/json') return { status: response.status, value: text, headers: response.headers };
    return { status: response.status, value: decode(options, route, response.status, text, def.schema), headers: response.headers };
  } catch (err) {
    throw failure(err, signal);
  } finally {
    done();
  }
}

function decode(options: TransportOptions, route: RouteDef, status: number, text: string, schema: z.ZodType | undefined): unknown {
  let raw: unknown;
  try {
    raw = parseJson(text);
  } catch (err) {
    throw new XeApiError(ClientErrorCodes.INVALID_RESPONSE, `${route.method} ${route.path}: the answer is not JSON`, { status, retryable: false, cause: err });
  }
  if (schema === undefined) return raw;
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  if (!options.validate) return raw;
  const issue = r.error.issues[0];
  const where = issue === undefined ? '' : `${issue.path.join('.') || 'body'}: ${issue.message}`;
  throw new XeApiError(ClientErrorCodes.INVALID_RESPONSE, `${route.method} ${route.path}: the answer does not match the contract (${where})`, {
    status,
    retryable: false,
    cause: r.error,
  });
}
