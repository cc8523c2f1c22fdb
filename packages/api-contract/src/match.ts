import type { z } from 'zod';
import { contractError } from './issues.js';
import type { RouteDef } from './route.js';
import { COMMON_ERRORS, ROUTE_DEFS, type Route } from './routes.js';

const COMPILED = ROUTE_DEFS.map((route) => {
  const names: string[] = [];
  const source = route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{([^}]+)\\?\}/g, (_m, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { route, names, pattern: new RegExp(`^${source}$`) };
});

/**
 * The route a request reaches, in registration order (so `/blocks/recent` wins over
 * `/blocks/{hash}`), with its raw path parameters; undefined when none matches.
 */
export function matchRoute(method: string, pathname: string): { route: Route; params: Record<string, string> } | undefined {
  for (const { route, names, pattern } of COMPILED) {
    if (route.method !== method.toUpperCase()) continue;
    const m = pattern.exec(pathname);
    if (m === null) continue;
    const params: Record<string, string> = {};
    names.forEach((n, i) => {
      params[n] = decodeURIComponent(m[i + 1]!);
    });
    return { route, params };
  }
  return undefined;
}

export type AnswerCheck = { ok: true; value: unknown } | { ok: false; problem: string };

/**
 * Checks an answer against the contract: `value` is the body as core-types' `parseJson`
 * read it (or the text, for text/plain and event streams). A status the route does not
 * list (nor 413/429/500) is a problem too. For tests that watch real traffic.
 */
export function checkAnswer(route: RouteDef, status: number, value: unknown): AnswerCheck {
  const def = route.responses[status] ?? route.errors[status] ?? COMMON_ERRORS[status];
  if (def === undefined) return { ok: false, problem: `${route.method} ${route.path}: status ${status} is not in the contract` };
  if (def.mediaType !== 'application/json' || def.schema === undefined) {
    return typeof value === 'string' || def.mediaType === undefined
      ? { ok: true, value }
      : { ok: false, problem: `${route.method} ${route.path} ${status}: expected ${def.mediaType} text` };
  }
  const r = (def.schema as z.ZodType).safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, problem: `${route.method} ${route.path} ${status}: ${contractError(r.error, value, 'body').message}` };
}
