import type { IncomingMessage } from 'node:http';
import type { Body, OperationId, Params, Query, RouteKey as ContractRouteKey } from '@xe/api-contract';
import type { JsonValue, Logger } from '@xe/core-types';
import type { Context } from 'hono';
import type { ApiDeps } from '../deps.js';
import type { HttpMetrics } from '../metrics.js';
import type { TunnelAuthenticator } from '../tunnel-auth.js';

/** Bindings the node adapter provides; absent under `app.request` in tests. */
export type ApiEnv = {
  Bindings: { incoming?: IncomingMessage };
  Variables: { route: string };
};

export type ApiContext = Context<ApiEnv>;

/**
 * Routes of the contract this server does not serve yet, each with the reason. The route
 * table test checks that the served routes are exactly the contract's `ROUTES` minus these.
 */
export const NOT_SERVED = [] as const satisfies readonly ContractRouteKey[];

type NotServedOperation = never;

/** The operationIds this server answers. */
export type ServedOperationId = Exclude<OperationId, NotServedOperation>;

export interface RouteContext {
  deps: ApiDeps;
  tunnelAuth: TunnelAuthenticator;
  metrics: HttpMetrics;
  log: Logger;
  routes: readonly RouteInfo[];
  /** `GET /openapi.json`'s text, generated once from the contract */
  openApiText: () => string;
}

/** A request's parts after the contract's schemas checked them. */
export interface RouteInput<K extends ServedOperationId> {
  params: Params<K>;
  query: Query<K>;
  /** the body as the route's schema output it (undefined when the route takes none, or an optional one is absent) */
  body: Body<K>;
  /** the body as the JSON codec read it (integers as bigint) */
  raw: JsonValue | undefined;
}

export type Handler<K extends ServedOperationId> = (c: ApiContext, x: RouteContext, input: RouteInput<K>) => Response | Promise<Response>;

/** One handler per served route of the contract: a route without a handler does not compile. */
export type Handlers = { [K in ServedOperationId]: Handler<K> };

export interface RouteInfo {
  method: 'GET' | 'POST';
  /** SPEC style: `{name}` marks a path parameter */
  path: string;
  /** `operator`: needs `Authorization: Bearer <operator token>`; `signature`: the tunnel's X-Timestamp/X-Signature */
  auth?: 'operator' | 'signature';
  description: string;
}
