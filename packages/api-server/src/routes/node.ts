import { json } from '../http.js';
import type { Handlers } from './types.js';

export const nodeHandlers = {
  root: (c, { deps, routes }) => {
    const n = deps.nodeInfo();
    return json(c, {
      name: n.name,
      version: n.version,
      network_id: n.network_id,
      address: n.address,
      peer_id: n.peer_id,
      node_id: n.peer_id,
      routes: routes.map((r) => ({ method: r.method, path: r.path, auth: r.auth ?? 'none', description: r.description })),
      endpoints: routes.map((r) => ({ method: r.method, path: r.path, description: r.description })),
    });
  },

  node: (c, { deps }) => json(c, deps.nodeInfo()),

  health: (c) => json(c, { status: 'ok' }),

  ready: async (c, { deps }) => {
    const r = await deps.readiness();
    return json(c, { ready: r.ready, synced: r.synced, peered: r.peered, timekeepers_reachable: r.timekeepers_reachable }, r.ready ? 200 : 503);
  },

  metrics: async (c, { metrics }) => c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }),

  openapi: (c, { openApiText }) => c.body(openApiText(), 200, { 'content-type': 'application/json' }),
} satisfies Partial<Handlers>;
