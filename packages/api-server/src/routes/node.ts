import { json } from '../http.js';
import type { RouteDef } from './types.js';

export const nodeRoutes = [
  {
    method: 'GET',
    path: '/',
    description: 'name, version, network, identity and this route list',
    handler: (c, { deps, routes }) => {
      const n = deps.nodeInfo();
      return json(c, {
        name: n.name,
        version: n.version,
        network_id: n.network_id,
        address: n.address,
        peer_id: n.peer_id,
        routes: routes.map((r) => ({ method: r.method, path: r.path, auth: r.auth ?? 'none', description: r.description })),
      });
    },
  },
  {
    method: 'GET',
    path: '/node',
    description: 'peers, counts, roles, certificate validity',
    handler: (c, { deps }) => json(c, deps.nodeInfo()),
  },
  {
    method: 'GET',
    path: '/health',
    description: 'liveness: 200 while the process serves HTTP',
    handler: (c) => json(c, { status: 'ok' }),
  },
  {
    method: 'GET',
    path: '/ready',
    description: 'readiness: synced, peered, timekeepers reachable; 503 until ready',
    handler: async (c, { deps }) => {
      const r = await deps.readiness();
      return json(
        c,
        { ready: r.ready, synced: r.synced, peered: r.peered, timekeepers_reachable: r.timekeepers_reachable },
        r.ready ? 200 : 503,
      );
    },
  },
  {
    method: 'GET',
    path: '/metrics',
    description: 'Prometheus text: every metric of the node registry (node, gossip, HTTP)',
    handler: async (c, { metrics }) => c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }),
  },
] as const satisfies readonly RouteDef[];
