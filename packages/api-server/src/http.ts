import { createHash, timingSafeEqual } from 'node:crypto';
import { type JsonValue, MAX_HTTP_BODY_BYTES, parseJson, stringifyJson } from '@xe/core-types';
import type { Context } from 'hono';
import { ApiError, ApiErrorCodes } from './errors.js';

/** The client's IP (the socket's remote address; X-Forwarded-For is not trusted). */
export function clientIp(c: Context): string {
  return (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress ?? 'local';
}

export const JSON_HEADERS = { 'content-type': 'application/json' } as const;

/** A JSON response through the exact-integer codec. */
export function json(c: Context, value: unknown, status = 200): Response {
  return c.body(stringifyJson(value), status as 200, JSON_HEADERS);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a request body of at most `MAX_HTTP_BODY_BYTES` (413 past it, checked against
 * Content-Length first and counted while reading) and parses it with the core-types
 * codec (integers as bigint). Empty, non-UTF-8 or malformed → 400 INVALID_JSON.
 */
export async function readJsonBody(req: Request, limit = MAX_HTTP_BODY_BYTES): Promise<JsonValue> {
  const value = await readOptionalJsonBody(req, limit);
  if (value === undefined) throw new ApiError(ApiErrorCodes.INVALID_JSON, 'body: empty; expected a JSON object');
  return value;
}

/** Like `readJsonBody`, but an empty (or whitespace) body is `undefined`. */
export async function readOptionalJsonBody(req: Request, limit = MAX_HTTP_BODY_BYTES): Promise<JsonValue | undefined> {
  const declared = req.headers.get('content-length');
  if (declared !== null && /^[0-9]+$/.test(declared) && Number(declared) > limit) {
    throw new ApiError(ApiErrorCodes.BODY_TOO_LARGE, `body: ${declared} bytes is over the ${limit}-byte limit`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (req.body !== null) {
    const reader = req.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        await reader.cancel().catch(() => undefined);
        throw new ApiError(ApiErrorCodes.BODY_TOO_LARGE, `body: over the ${limit}-byte limit`);
      }
      chunks.push(value);
    }
  }
  if (total === 0) return undefined;
  const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new ApiError(ApiErrorCodes.INVALID_JSON, 'body: not valid UTF-8');
  }
  if (text.trim() === '') return undefined;
  try {
    return parseJson(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : 'invalid JSON';
    throw new ApiError(ApiErrorCodes.INVALID_JSON, `body: ${message}`);
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * The operator token check (SPEC §11): none configured → 403, missing or wrong → 401.
 * Compares SHA-256 digests with `timingSafeEqual`, so the time does not depend on
 * where the strings differ or on their lengths.
 */
export function checkOperatorToken(configured: Buffer | undefined, authorization: string | undefined): void {
  if (configured === undefined) {
    throw new ApiError(ApiErrorCodes.OPERATOR_TOKEN_NOT_CONFIGURED, 'operator routes are disabled: no operator token is configured on this node');
  }
  const m = authorization === undefined ? null : /^Bearer[ \t]+(.+)$/i.exec(authorization.trim());
  if (m === null) throw new ApiError(ApiErrorCodes.UNAUTHORIZED, 'Authorization: expected "Bearer <operator token>"');
  if (!timingSafeEqual(digest(m[1]!), configured)) throw new ApiError(ApiErrorCodes.UNAUTHORIZED, 'Authorization: wrong operator token');
}

/** The digest the operator token is kept as. */
export function operatorTokenDigest(token: string | undefined): Buffer | undefined {
  return token === undefined || token === '' ? undefined : digest(token);
}
