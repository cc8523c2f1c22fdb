import { ROUTE_DEFS, type RouteDef as ContractRouteDef } from '@xe/api-contract';
import type { JsonValue } from '@xe/core-types';
import { eventHandlers } from './events.js';
import { leaseHandlers } from './leases.js';
import { nodeHandlers } from './node.js';
import { accountHandlers, blockHandlers, prepareTypedBlock, providerHandlers, vmHandlers } from './resources.js';
import { type Handler, type Handlers, NOT_SERVED, type RouteInfo, type ServedOperationId } from './types.js';

/** One handler per route the contract defines (but `NOT_SERVED`): a missing one does not compile. */
export const HANDLERS: Handlers = {
  ...nodeHandlers,
  ...eventHandlers,
  ...leaseHandlers,
  ...providerHandlers,
  ...vmHandlers,
  ...accountHandlers,
  ...blockHandlers,
};

/** Adjusts a raw body before the route's schema sees it. */
export const PREPARE: Partial<Record<ServedOperationId, (raw: JsonValue, params: Record<string, string>) => JsonValue>> = {
  submitTypedBlock: prepareTypedBlock,
};

type ServedDef = Extract<(typeof ROUTE_DEFS)[number], { operationId: ServedOperationId }>;

/** `"GET /leases"`, `"POST /blocks/{type}"`, …: one key per served route. */
export type RouteKey = ServedDef extends infer R ? (R extends { method: infer M extends string; path: infer P extends string } ? `${M} ${P}` : never) : never;

export interface ServedRoute extends RouteInfo {
  key: RouteKey;
  def: ContractRouteDef;
  operationId: ServedOperationId;
  handler: Handler<ServedOperationId>;
}

function isServed(r: (typeof ROUTE_DEFS)[number]): r is ServedDef {
  return !(NOT_SERVED as readonly string[]).includes(`${r.method} ${r.path}`);
}

/** The served routes in the contract's registration order (`/blocks/recent` before `/blocks/{hash}`). */
export const ROUTES: readonly ServedRoute[] = ROUTE_DEFS.filter(isServed).map((def) => {
  const auth = 'auth' in def ? def.auth : undefined;
  const info: ServedRoute = {
    key: `${def.method} ${def.path}` as RouteKey,
    method: def.method,
    path: def.path,
    description: def.summary,
    def,
    operationId: def.operationId,
    handler: HANDLERS[def.operationId] as Handler<ServedOperationId>,
  };
  if (auth !== undefined) info.auth = auth;
  return info;
});

export function routeKey(r: { method: string; path: string }): string {
  return `${r.method} ${r.path}`;
}
