import { openApiDocumentText } from '@xe/api-contract';
import { type Clock, isXeError, type Logger, silentLogger, systemClock } from '@xe/core-types';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import type { ApiDeps } from './deps.js';
import { ApiError, ApiErrorCodes, errorReply } from './errors.js';
import { checkOperatorToken, clientIp, json, operatorTokenDigest } from './http.js';
import { HttpMetrics } from './metrics.js';
import { DEFAULT_RATE_LIMITS, ipLimiter, type RateLimitOptions } from './rate-limit.js';
import { PREPARE, ROUTES } from './routes/table.js';
import type { ApiEnv, RouteContext, RouteInfo, RouteInput, ServedOperationId } from './routes/types.js';
import { TunnelAuthenticator, type TunnelAuthVerifier } from './tunnel-auth.js';
import { checkRequest } from './validate.js';

export interface ApiOptions {
  /** `Authorization: Bearer <token>` for operator routes; none → those routes answer 403. */
  operatorToken?: string | undefined;
  /** Per-IP limits; `false` turns them off. Default `DEFAULT_RATE_LIMITS`. */
  rateLimit?: RateLimitOptions | false;
  /** `Access-Control-Allow-Origin`; none → no CORS headers. */
  corsOrigin?: string | string[];
  logger?: Logger;
  /** The clock of the rate limits; system clock by default. */
  clock?: Clock;
  /** The tunnel signature checks and replay cache; pass the same one to `startApiServer`. */
  tunnelAuth: TunnelAuthVerifier;
  /** The HTTP metrics in the node's registry (`GET /metrics` serves the registry); share one with `startApiServer`. */
  metrics?: HttpMetrics;
}

export type ApiApp = Hono<ApiEnv>;

/** `{hash}` → `:hash` */
function honoPath(path: string): string {
  return path.replace(/\{([A-Za-z_]+)\}/g, ':$1');
}

function pathPattern(path: string): RegExp {
  return new RegExp(`^${path.replace(/\{[A-Za-z_]+\}/g, '[^/]+')}$`);
}


/** The HTTP API of a node (SPEC §11) over `deps`. */
export function createApp(deps: ApiDeps, options: ApiOptions): ApiApp {
  const log = (options.logger ?? silentLogger).child('api');
  const metrics = options.metrics ?? new HttpMetrics();
  const tunnelAuth = new TunnelAuthenticator(deps, options.tunnelAuth);
  const token = operatorTokenDigest(options.operatorToken);
  const routes: readonly RouteInfo[] = ROUTES.map(({ method, path, description, auth }) =>
    auth === undefined ? { method, path, description } : { method, path, description, auth },
  );
  let openApiText: string | undefined;
  const ctx: RouteContext = { deps, tunnelAuth, metrics, log, routes, openApiText: () => (openApiText ??= openApiDocumentText()) };
  const patterns = ROUTES.map((r) => ({ method: r.method, re: pathPattern(r.path) }));

  const app = new Hono<ApiEnv>();

  app.use('*', async (c, next) => {
    const start = performance.now();
    await next();
    metrics.observe(c.req.method, c.get('route') ?? 'unmatched', c.res.status, (performance.now() - start) / 1000);
  });

  if (options.corsOrigin !== undefined) {
    app.use(
      '*',
      cors({
        origin: options.corsOrigin,
        allowMethods: ['GET', 'POST', 'OPTIONS'],
        allowHeaders: ['Authorization', 'Content-Type', 'X-Timestamp', 'X-Signature'],
        maxAge: 600,
      }),
    );
  }

  const limits = options.rateLimit === undefined ? DEFAULT_RATE_LIMITS : options.rateLimit;
  if (limits !== false) {
    const clock = options.clock ?? systemClock;
    const reads = ipLimiter(limits.reads, limits, clock);
    const writes = ipLimiter(limits.writes, limits, clock);
    app.use('*', async (c, next) => {
      const m = c.req.method;
      const limiter = m === 'GET' || m === 'HEAD' || m === 'OPTIONS' ? reads : writes;
      const wait = limiter.take(clientIp(c));
      if (wait > 0) {
        c.header('Retry-After', String(wait));
        throw new ApiError(ApiErrorCodes.RATE_LIMITED, `rate limited; retry in ${wait}s`);
      }
      await next();
    });
  }

  // Every route of the contract, in its order; each request checked by the route's schemas.
  for (const r of ROUTES) {
    const prepare = PREPARE[r.operationId];
    app.on(r.method, honoPath(r.path), async (c) => {
      c.set('route', r.key);
      if (r.auth === 'operator') checkOperatorToken(token, c.req.header('authorization'));
      const params = c.req.param() as Record<string, string>;
      const input = await checkRequest(r.def, c.req.raw, params, prepare === undefined ? undefined : (raw) => prepare(raw, params));
      return r.handler(c, ctx, input as RouteInput<ServedOperationId>);
    });
  }

  app.notFound((c) => {
    const path = c.req.path;
    const allowed = patterns.filter((p) => p.re.test(path)).map((p) => p.method);
    if (allowed.length > 0) {
      c.header('Allow', [...new Set(allowed)].join(', '));
      return json(c, { error: `method ${c.req.method} not allowed on ${path}; allowed: ${allowed.join(', ')}`, code: ApiErrorCodes.METHOD_NOT_ALLOWED, retryable: false }, 405);
    }
    return json(c, { error: `no route ${c.req.method} ${path.slice(0, 200)}`, code: ApiErrorCodes.ROUTE_NOT_FOUND, retryable: false }, 404);
  });

  app.onError((err, c) => {
    const reply = errorReply(err);
    if (reply.unexpected) {
      log.error('request failed', { method: c.req.method, route: c.get('route') ?? 'unmatched', err, stack: err instanceof Error ? err.stack : undefined });
    }
    const body: Record<string, unknown> = { ...reply.body };
    if (isXeError(err) && err.code === ApiErrorCodes.ACCEPT_TIMEOUT && typeof err.details?.lease_hash === 'string') {
      body.lease_hash = err.details.lease_hash;
    }
    if (isXeError(err) && err.code === ApiErrorCodes.LEASE_NOT_CANCELLABLE && typeof err.details?.opens_at === 'bigint') {
      body.opens_at = err.details.opens_at;
    }
    return json(c, body, reply.status);
  });

  return app;
}
