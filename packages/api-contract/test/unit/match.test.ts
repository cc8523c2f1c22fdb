import { describe, expect, it } from '@jest/globals';
import { parseJson } from '@xe/core-types';
import { checkAnswer, matchRoute, ROUTE_DEFS, ROUTES_BY_ID } from '../../src/index.js';
import { hashOf, lease, wire } from './fixtures.js';

const h = hashOf('x');

describe('matchRoute', () => {
  it('finds every route from a concrete path, /blocks/recent before /blocks/{hash}', () => {
    for (const r of ROUTE_DEFS) {
      const concrete = r.path.replace(/\{type\}/, 'send').replace(/\{[^}]+\}/g, h);
      expect(matchRoute(r.method, concrete)?.route.operationId).toBe(r.operationId);
    }
    expect(matchRoute('GET', '/blocks/recent')?.route.operationId).toBe('recentBlocks');
    expect(matchRoute('GET', `/blocks/${h}`)).toEqual({ route: ROUTES_BY_ID.getBlock, params: { hash: h } });
    expect(matchRoute('POST', '/blocks/receive')?.params).toEqual({ type: 'receive' });
    expect(matchRoute('GET', '/openapi.json')?.route.operationId).toBe('openapi');
    expect(matchRoute('GET', '/openapiXjson')).toBeUndefined();
    expect(matchRoute('DELETE', '/leases')).toBeUndefined();
    expect(matchRoute('GET', `/leases/${h}/extra`)).toBeUndefined();
  });
});

describe('checkAnswer', () => {
  it('checks success bodies, error bodies, text and unknown statuses', () => {
    const answer = checkAnswer(ROUTES_BY_ID.getLease, 200, wire(lease()));
    expect(answer.ok && (answer.value as { cost: bigint }).cost).toBe(18446744073709551615n);
    expect(checkAnswer(ROUTES_BY_ID.getLease, 200, { ...lease(), cost: '18446744073709551615' })).toEqual({
      ok: false,
      problem: 'GET /leases/{hash} 200: cost: expected an integer',
    });
    const good = checkAnswer(ROUTES_BY_ID.listLeases, 200, parseJson('[]'));
    expect(good).toEqual({ ok: true, value: [] });
    expect(checkAnswer(ROUTES_BY_ID.getLease, 404, parseJson('{"error":"no","code":"LEASE_NOT_FOUND","retryable":false}')).ok).toBe(true);
    expect(checkAnswer(ROUTES_BY_ID.getLease, 404, parseJson('{"error":"no","code":"LEASE_NOT_FOUND"}'))).toEqual({
      ok: false,
      problem: 'GET /leases/{hash} 404: retryable: is required',
    });
    expect(checkAnswer(ROUTES_BY_ID.health, 429, parseJson('{"error":"slow down","code":"RATE_LIMITED","retryable":true}')).ok).toBe(true);
    expect(checkAnswer(ROUTES_BY_ID.metrics, 200, 'xe_up 1\n').ok).toBe(true);
    expect(checkAnswer(ROUTES_BY_ID.health, 418, {})).toEqual({ ok: false, problem: 'GET /health: status 418 is not in the contract' });
  });
});
