import type { z } from 'zod';

/** What a response body is: JSON checked by a schema, Prometheus text, or an SSE stream. */
export type MediaType = 'application/json' | 'text/plain' | 'text/event-stream';

export interface ResponseDef {
  description: string;
  /** absent for a bodyless response (101) */
  mediaType?: MediaType;
  /** the JSON body's schema (application/json) */
  schema?: z.ZodType;
}

/**
 * One route of the HTTP API. `responses` are the statuses a caller treats as an answer
 * (2xx, and `GET /ready`'s 503, whose body is the same readiness object); `errors` are the
 * statuses answered with an error body. Every route may also answer 429, 500 and, with a
 * body, 413 (`COMMON_ERRORS`), which are listed in the OpenAPI document too.
 */
export interface RouteDef {
  method: 'GET' | 'POST';
  /** OpenAPI style: `{name}` marks a path parameter */
  path: string;
  /** the client's method name and the OpenAPI operationId */
  operationId: string;
  summary: string;
  description?: string;
  /** where the route comes from: the seed's table, XE's clients, or ours */
  origin: 'seed' | 'xe' | 'ours';
  /** `operator`: `Authorization: Bearer <token>`; `signature`: the tunnel's X-Timestamp/X-Signature */
  auth?: 'operator' | 'signature';
  params?: z.ZodObject;
  query?: z.ZodObject;
  headers?: z.ZodObject;
  body?: z.ZodType;
  /** the body may be absent (POST /leases/{hash}/cancel takes none, or `{}`) */
  bodyOptional?: boolean;
  responses: Readonly<Record<number, ResponseDef>>;
  errors: Readonly<Record<number, ResponseDef>>;
}

/** `"GET /leases/{hash}"`: a route's key. */
export type KeyOf<R extends { method: string; path: string }> = `${R['method']} ${R['path']}`;

export function routeKey(r: { method: string; path: string }): string {
  return `${r.method} ${r.path}`;
}
