import { describe, expect, it } from '@jest/globals';
import { ROUTE_DEFS, ROUTES, ROUTES_BY_ID, SUBMITTABLE_BLOCK_TYPES } from '../../src/index.js';

/** SPEC §11, written out by hand from its tables and text: what the node must serve. */
const SPEC_ROUTES = [
  // the seed's table
  'GET /leases',
  'GET /leases/{hash}',
  'GET /providers',
  'POST /lease/request',
  'POST /attestation/request',
  'GET /vms',
  'GET /vms/{leaseHash}',
  'POST /vms/{leaseHash}/exec',
  'POST /tunnel/{leaseHash}/tcp',
  // "More routes"
  'POST /blocks/{type}',
  'GET /blocks/{hash}',
  'GET /blocks/recent',
  'GET /accounts/{address}/balance',
  'GET /accounts/{address}/chain',
  'GET /pending/{address}',
  'GET /certificate/{provider}',
  'GET /certificate/hash/{hash}',
  'GET /node',
  'GET /',
  'GET /events',
  'POST /leases/{hash}/cancel',
  'GET /openapi.json',
  // served by the node and named elsewhere in SPEC (§3.4 conflicts and submission, operations)
  'GET /health',
  'GET /ready',
  'GET /metrics',
  'GET /accounts/{address}',
  'POST /blocks',
  'GET /conflicts',
];

describe('the route list', () => {
  it('has every route of SPEC §11 and nothing else', () => {
    expect([...ROUTES].sort()).toEqual([...SPEC_ROUTES].sort());
  });

  it('has one definition per route key and per operationId', () => {
    expect(new Set(ROUTES).size).toBe(ROUTES.length);
    expect(new Set(ROUTE_DEFS.map((r) => r.operationId)).size).toBe(ROUTE_DEFS.length);
    expect(Object.keys(ROUTES_BY_ID).sort()).toEqual(ROUTE_DEFS.map((r) => r.operationId).sort());
  });

  it('registers /blocks/recent before /blocks/{hash} (a router takes the first match)', () => {
    expect(ROUTES.indexOf('GET /blocks/recent')).toBeLessThan(ROUTES.indexOf('GET /blocks/{hash}'));
  });

  it('names every path parameter in the params schema, and no other', () => {
    for (const r of ROUTE_DEFS) {
      const inPath = [...r.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = 'params' in r ? Object.keys(r.params.shape).sort() : [];
      expect({ route: r.path, params: declared }).toEqual({ route: r.path, params: inPath });
    }
  });

  it('marks the operator routes of SPEC §11 and the tunnel signature', () => {
    const operator = ROUTE_DEFS.filter((r) => 'auth' in r && r.auth === 'operator').map((r) => `${r.method} ${r.path}`);
    expect(operator.sort()).toEqual(['POST /lease/request', 'POST /leases/{hash}/cancel', 'POST /vms/{leaseHash}/exec']);
    expect(ROUTES_BY_ID.openTunnel.auth).toBe('signature');
  });

  it('gives the 504 of /lease/request a lease_hash and the 409 of cancel an opens_at', () => {
    expect(Object.keys(ROUTES_BY_ID.requestLease.errors[504].schema.shape)).toContain('lease_hash');
    expect(Object.keys(ROUTES_BY_ID.cancelLease.errors[409].schema.shape)).toContain('opens_at');
  });

  it('lets clients submit every block type but genesis by path', () => {
    expect(SUBMITTABLE_BLOCK_TYPES).toEqual(['send', 'receive', 'lease', 'lease_accept', 'lease_settle', 'lease_cancel', 'lease_force_settle']);
  });
});
