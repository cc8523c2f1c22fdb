import { leaseRoutes } from './leases.js';
import { nodeRoutes } from './node.js';
import { accountRoutes, attestationRoutes, blockRoutes, conflictRoutes, providerRoutes, tunnelRoutes, vmRoutes } from './resources.js';
import type { RouteDef } from './types.js';

/** The route table, one group (sub-app) per resource. `GET /` lists it. */
export const ROUTE_GROUPS = {
  node: nodeRoutes,
  leases: leaseRoutes,
  providers: providerRoutes,
  attestation: attestationRoutes,
  vms: vmRoutes,
  tunnel: tunnelRoutes,
  accounts: accountRoutes,
  blocks: blockRoutes,
  conflicts: conflictRoutes,
} as const satisfies Record<string, readonly RouteDef[]>;

export const ROUTES = [
  ...nodeRoutes,
  ...leaseRoutes,
  ...providerRoutes,
  ...attestationRoutes,
  ...vmRoutes,
  ...tunnelRoutes,
  ...accountRoutes,
  ...blockRoutes,
  ...conflictRoutes,
] as const;

type KeyOf<R> = R extends { method: infer M extends string; path: infer P extends string } ? `${M} ${P}` : never;

/** `"GET /leases"`, `"POST /vms/{leaseHash}/exec"`, …: one key per route of the table. */
export type RouteKey = KeyOf<(typeof ROUTES)[number]>;

export function routeKey(r: { method: string; path: string }): string {
  return `${r.method} ${r.path}`;
}
