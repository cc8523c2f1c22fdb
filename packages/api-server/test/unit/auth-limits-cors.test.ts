import { describe, expect, it } from '@jest/globals';
import { stringifyJson } from '@xe/core-types';
import { createApp, STATUS_BY_CODE } from '../../src/index.js';
import { ACCESS_PUB, seededFake } from '../support/fake-deps.js';
import { call, expectError, TOKEN } from '../support/http.js';
import { FakeTunnelVerifier } from '../support/fake-tunnel-auth.js';

const body = stringifyJson({ vcpus: 1, memory_mb: 0, disk_gb: 0, duration: 60, access_pub_key: ACCESS_PUB });

describe('operator token', () => {
  const deps = seededFake();
  const app = createApp(deps, { tunnelAuth: new FakeTunnelVerifier(), operatorToken: TOKEN, rateLimit: false });

  it.each([
    ['no header', undefined],
    ['empty bearer', 'Bearer '],
    ['another scheme', `Basic ${TOKEN}`],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, -1)}`],
    ['the token and more', `Bearer ${TOKEN}x`],
    ['a very long token', `Bearer ${'x'.repeat(10_000)}`],
  ])('%s → 401 and the route does not run', async (_name, header) => {
    const r = await call(app, 'POST', '/lease/request', header === undefined ? { body } : { body, headers: { authorization: header } });
    expectError(r, 401, 'UNAUTHORIZED', 'Authorization');
    expect(deps.calls.requestLease).toHaveLength(0);
  });

  it('accepts the token, case-insensitive scheme', async () => {
    expect((await call(app, 'POST', '/lease/request', { body, headers: { authorization: `bearer ${TOKEN}` } })).status).toBe(200);
  });

  it('with none configured (also an empty one), operator routes answer 403 even with a token', async () => {
    for (const operatorToken of [undefined, '']) {
      const open = createApp(deps, { tunnelAuth: new FakeTunnelVerifier(), rateLimit: false, operatorToken });
      expectError(await call(open, 'POST', '/lease/request', { body, auth: true }), 403, 'OPERATOR_TOKEN_NOT_CONFIGURED');
    }
  });

  it('is not asked on public routes', async () => {
    expect((await call(app, 'GET', '/leases')).status).toBe(200);
  });
});

describe('rate limits', () => {
  it('answer 429 with Retry-After past the read burst, per IP, and writes have their own bucket', async () => {
    const app = createApp(seededFake(), { tunnelAuth: new FakeTunnelVerifier(), rateLimit: { reads: { ratePerSec: 0.001, burst: 3 }, writes: { ratePerSec: 0.001, burst: 1 } } });
    for (let i = 0; i < 3; i++) expect((await call(app, 'GET', '/health')).status).toBe(200);
    const limited = await call(app, 'GET', '/health');
    expectError(limited, 429, 'RATE_LIMITED', 'rate limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await call(app, 'POST', '/attestation/request', { body: '{}' })).status).toBe(400);
    expectError(await call(app, 'POST', '/attestation/request', { body: '{}' }), 429, 'RATE_LIMITED');
  });

  it('can be switched off', async () => {
    const app = createApp(seededFake(), { tunnelAuth: new FakeTunnelVerifier(), rateLimit: false });
    for (let i = 0; i < 300; i++) expect((await call(app, 'GET', '/health')).status).toBe(200);
  });
});

describe('CORS', () => {
  it('answers preflight and adds the origin when configured', async () => {
    const app = createApp(seededFake(), { tunnelAuth: new FakeTunnelVerifier(), rateLimit: false, corsOrigin: 'https://dash.example' });
    const pre = await app.request('/lease/request', {
      method: 'OPTIONS',
      headers: { origin: 'https://dash.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://dash.example');
    expect(pre.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    const get = await app.request('/leases', { headers: { origin: 'https://dash.example' } });
    expect(get.headers.get('access-control-allow-origin')).toBe('https://dash.example');
  });

  it('adds nothing when not configured', async () => {
    const app = createApp(seededFake(), { tunnelAuth: new FakeTunnelVerifier(), rateLimit: false });
    const get = await app.request('/leases', { headers: { origin: 'https://dash.example' } });
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('the status table', () => {
  it('maps each code of SPEC §11 to its status', () => {
    expect({
      LEASE_NOT_FOUND: STATUS_BY_CODE.LEASE_NOT_FOUND,
      LEASE_NOT_ACCEPTED: STATUS_BY_CODE.LEASE_NOT_ACCEPTED,
      TUNNEL_AUTH_MISSING: STATUS_BY_CODE.TUNNEL_AUTH_MISSING,
      TUNNEL_TIMESTAMP_STALE: STATUS_BY_CODE.TUNNEL_TIMESTAMP_STALE,
      TUNNEL_SIGNATURE_INVALID: STATUS_BY_CODE.TUNNEL_SIGNATURE_INVALID,
      TUNNEL_SIGNATURE_REPLAYED: STATUS_BY_CODE.TUNNEL_SIGNATURE_REPLAYED,
      PROVIDER_UNREACHABLE: STATUS_BY_CODE.PROVIDER_UNREACHABLE,
      ACCEPT_TIMEOUT: STATUS_BY_CODE.ACCEPT_TIMEOUT,
      BODY_TOO_LARGE: STATUS_BY_CODE.BODY_TOO_LARGE,
      RATE_LIMITED: STATUS_BY_CODE.RATE_LIMITED,
      TIMEKEEPER_UNAVAILABLE: STATUS_BY_CODE.TIMEKEEPER_UNAVAILABLE,
    }).toEqual({
      LEASE_NOT_FOUND: 404,
      LEASE_NOT_ACCEPTED: 410,
      TUNNEL_AUTH_MISSING: 401,
      TUNNEL_TIMESTAMP_STALE: 401,
      TUNNEL_SIGNATURE_INVALID: 403,
      TUNNEL_SIGNATURE_REPLAYED: 403,
      PROVIDER_UNREACHABLE: 502,
      ACCEPT_TIMEOUT: 504,
      BODY_TOO_LARGE: 413,
      RATE_LIMITED: 429,
      TIMEKEEPER_UNAVAILABLE: 503,
    });
  });
});
