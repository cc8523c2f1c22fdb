import type { IncomingMessage } from 'node:http';
import type { Logger } from '@xe/core-types';
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

export interface RouteContext {
  deps: ApiDeps;
  tunnelAuth: TunnelAuthenticator;
  metrics: HttpMetrics;
  log: Logger;
  routes: readonly RouteInfo[];
}

export interface RouteInfo {
  method: 'GET' | 'POST';
  /** SPEC style: `{name}` marks a path parameter */
  path: string;
  /** `operator`: needs `Authorization: Bearer <operator token>` */
  auth?: 'operator';
  description: string;
}

export interface RouteDef extends RouteInfo {
  handler: (c: ApiContext, x: RouteContext) => Response | Promise<Response>;
}
