import { describe, expect, it } from '@jest/globals';
import { MAX_DISK_GB, MAX_HTTP_BODY_BYTES, MAX_MEMORY_MB, MAX_VCPUS, MAX_LEASE_DURATION_SECS, stringifyJson } from '@xe/core-types';
import { createApp } from '../../src/index.js';
import { ACCESS_PUB, type FakeDeps, hashOf, network, seededFake } from '../support/fake-deps.js';
import { call, expectError, TOKEN } from '../support/http.js';
import { FakeTunnelVerifier } from '../support/fake-tunnel-auth.js';

const GOOD = { vcpus: 1, memory_mb: 1024, disk_gb: 10, duration: 3600, access_pub_key: ACCESS_PUB };

/** The body of GOOD with `field` replaced by raw JSON text (or removed with `undefined`). */
function withField(field: string, raw: string | undefined): string {
  const parts = Object.entries(GOOD)
    .filter(([k]) => k !== field)
    .map(([k, v]) => `${JSON.stringify(k)}:${stringifyJson(v)}`);
  if (raw !== undefined) parts.push(`${JSON.stringify(field)}:${raw}`);
  return `{${parts.join(',')}}`;
}

interface Bad {
  name: string;
  body: string;
  status: number;
  code: string;
  /** the message must contain this (the field, or the problem) */
  says: string;
}

const U64_PLUS_1 = '18446744073709551616';

const leaseRequestCases: Bad[] = [
  // A missing vcpus, memory_mb or disk_gb reads as 0 (XE; SPEC §11), tested below.
  ...(['duration', 'access_pub_key'] as const).map((f) => ({
    name: `missing ${f}`,
    body: withField(f, undefined),
    status: 400,
    code: 'MISSING_FIELD',
    says: f,
  })),
  ...(['vcpus', 'memory_mb', 'disk_gb', 'duration'] as const).flatMap((f) => [
    { name: `${f} a string`, body: withField(f, '"1"'), status: 400, code: 'INVALID_FIELD', says: f },
    { name: `${f} a boolean`, body: withField(f, 'true'), status: 400, code: 'INVALID_FIELD', says: f },
    { name: `${f} null`, body: withField(f, 'null'), status: 400, code: 'INVALID_FIELD', says: f },
    { name: `${f} negative`, body: withField(f, '-1'), status: 400, code: 'INVALID_FIELD', says: `${f}: must` },
    { name: `${f} a float`, body: withField(f, '1.5'), status: 400, code: 'INVALID_FIELD', says: `${f}: expected an integer` },
    { name: `${f} 1.0`, body: withField(f, '1.0'), status: 400, code: 'INVALID_FIELD', says: `${f}: expected an integer` },
    { name: `${f} 1e3`, body: withField(f, '1e3'), status: 400, code: 'INVALID_FIELD', says: `${f}: expected an integer` },
    { name: `${f} above u64`, body: withField(f, U64_PLUS_1), status: 400, code: 'INVALID_FIELD', says: `${f}: must be at most` },
  ]),
  { name: 'vcpus above MAX_VCPUS', body: withField('vcpus', String(MAX_VCPUS + 1)), status: 400, code: 'INVALID_FIELD', says: `vcpus: must be at most ${MAX_VCPUS}` },
  { name: 'memory_mb above max', body: withField('memory_mb', String(MAX_MEMORY_MB + 1)), status: 400, code: 'INVALID_FIELD', says: 'memory_mb' },
  { name: 'disk_gb above max', body: withField('disk_gb', String(MAX_DISK_GB + 1)), status: 400, code: 'INVALID_FIELD', says: 'disk_gb' },
  {
    name: 'all resources zero',
    body: stringifyJson({ ...GOOD, vcpus: 0, memory_mb: 0, disk_gb: 0 }),
    status: 400,
    code: 'INVALID_RESOURCES',
    says: 'at least one must be greater than 0',
  },
  { name: 'duration one above the maximum', body: withField('duration', String(MAX_LEASE_DURATION_SECS + 1)), status: 400, code: 'INVALID_FIELD', says: 'duration: must be at most' },
  { name: 'access_pub_key of 63 chars', body: withField('access_pub_key', JSON.stringify(ACCESS_PUB.slice(1))), status: 400, code: 'INVALID_FIELD', says: 'access_pub_key: expected 64 lowercase hex chars' },
  { name: 'access_pub_key of 65 chars', body: withField('access_pub_key', JSON.stringify(`${ACCESS_PUB}a`)), status: 400, code: 'INVALID_FIELD', says: 'access_pub_key: expected 64 lowercase hex chars' },
  { name: 'access_pub_key upper-case', body: withField('access_pub_key', JSON.stringify(ACCESS_PUB.toUpperCase())), status: 400, code: 'INVALID_FIELD', says: 'access_pub_key: expected 64 lowercase hex chars' },
  { name: 'access_pub_key a number', body: withField('access_pub_key', '12'), status: 400, code: 'INVALID_FIELD', says: 'access_pub_key' },
  { name: 'an unknown extra field', body: withField('gpu', '1'), status: 400, code: 'UNKNOWN_FIELD', says: 'gpu' },
  { name: 'an empty body', body: '', status: 400, code: 'INVALID_JSON', says: 'body: empty' },
  { name: 'a non-JSON body', body: 'vcpus=1&memory_mb=2', status: 400, code: 'INVALID_JSON', says: 'body: invalid JSON' },
  { name: 'truncated JSON', body: '{"vcpus":1,', status: 400, code: 'INVALID_JSON', says: 'body: invalid JSON' },
  { name: 'duplicate keys', body: '{"vcpus":1,"vcpus":2}', status: 400, code: 'INVALID_JSON', says: 'duplicate key' },
  { name: 'a JSON array', body: '[1,2]', status: 400, code: 'INVALID_FIELD', says: 'body: Invalid input: expected object' },
  { name: 'a JSON string', body: '"hello"', status: 400, code: 'INVALID_FIELD', says: 'body: Invalid input: expected object' },
  { name: 'JSON null', body: 'null', status: 400, code: 'INVALID_FIELD', says: 'body: Invalid input: expected object' },
];

function durationCases(minSecs: number): Bad[] {
  return [
    { name: `duration ${minSecs - 1} (one below the minimum ${minSecs})`, body: withField('duration', String(minSecs - 1)), status: 400, code: 'INVALID_FIELD', says: `duration: must be between ${minSecs} and ${MAX_LEASE_DURATION_SECS}` },
    { name: `duration ${MAX_LEASE_DURATION_SECS + 1} (one above the maximum)`, body: withField('duration', String(MAX_LEASE_DURATION_SECS + 1)), status: 400, code: 'INVALID_FIELD', says: `duration: must be at most ${MAX_LEASE_DURATION_SECS}` },
  ];
}

function appWith(deps: FakeDeps) {
  return createApp(deps, { tunnelAuth: new FakeTunnelVerifier(), operatorToken: TOKEN, rateLimit: false });
}

describe('POST /lease/request refuses bad input with a 4xx naming the problem', () => {
  const app = appWith(seededFake());
  it.each(leaseRequestCases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const r = await call(app, 'POST', '/lease/request', { body: c.body, auth: true });
    expectError(r, c.status, c.code, c.says);
  });

  for (const minSecs of [60, 5]) {
    describe(`on a network with a ${minSecs} s minimum duration`, () => {
      const deps = seededFake();
      deps.params = network(BigInt(minSecs));
      const netApp = appWith(deps);
      it.each(durationCases(minSecs).map((c) => [c.name, c] as const))('%s', async (_name, c) => {
        expectError(await call(netApp, 'POST', '/lease/request', { body: c.body, auth: true }), c.status, c.code, c.says);
      });
      it(`accepts exactly ${minSecs} and exactly the maximum`, async () => {
        for (const d of [minSecs, MAX_LEASE_DURATION_SECS]) {
          const r = await call(netApp, 'POST', '/lease/request', { body: withField('duration', String(d)), auth: true });
          expect(r.status).toBe(200);
        }
        expect(deps.calls.requestLease.map((x) => x.duration)).toEqual([minSecs, MAX_LEASE_DURATION_SECS]);
      });
    });
  }

  it('answers 413 for a 2 MiB body, streamed or declared', async () => {
    const big = `{"command":"${'x'.repeat(2 * 1024 * 1024)}"}`;
    expectError(await call(app, 'POST', '/lease/request', { body: big, auth: true }), 413, 'BODY_TOO_LARGE', 'body');
    const stream = new ReadableStream<Uint8Array>({
      start(ctrl) {
        for (let i = 0; i < 32; i++) ctrl.enqueue(new Uint8Array(64 * 1024).fill(32));
        ctrl.close();
      },
    });
    const res = await app.request('/lease/request', {
      method: 'POST',
      body: stream,
      headers: { authorization: `Bearer ${TOKEN}` },
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    const declared = await call(app, 'POST', '/blocks', { body: '{}', headers: { 'content-length': String(MAX_HTTP_BODY_BYTES + 1) } });
    expect(declared.status).toBe(413);
  });

  it('reads a missing vcpus, memory_mb or disk_gb as 0 (XE)', async () => {
    const deps = seededFake();
    const xe = appWith(deps);
    for (const f of ['vcpus', 'memory_mb', 'disk_gb']) {
      expect((await call(xe, 'POST', '/lease/request', { body: withField(f, undefined), auth: true })).status).toBe(200);
    }
    expect(deps.calls.requestLease.map((r) => [r.vcpus, r.memory_mb, r.disk_gb])).toEqual([
      [0, 1024, 10],
      [1, 0, 10],
      [1, 1024, 0],
    ]);
  });

  it('accepts a body of exactly the limit (padding whitespace)', async () => {
    const body = stringifyJson(GOOD);
    const padded = body + ' '.repeat(MAX_HTTP_BODY_BYTES - body.length);
    const r = await call(app, 'POST', '/lease/request', { body: padded, auth: true });
    expect(r.status).toBe(200);
  });

  it('refuses a body that is not UTF-8', async () => {
    expectError(await call(app, 'POST', '/lease/request', { body: new Uint8Array([0x7b, 0xff, 0x7d]), auth: true }), 400, 'INVALID_JSON', 'UTF-8');
  });
});

describe('other bodies, queries and paths', () => {
  const deps = seededFake();
  const app = appWith(deps);
  const vm = deps.vms[0]!.lease_hash;
  const cases: { name: string; method: string; path: string; body?: string; auth?: boolean; status: number; code: string; says: string; retryable?: boolean }[] = [
    { name: 'exec: command not a string', method: 'POST', path: `/vms/${vm}/exec`, body: '{"command":5}', auth: true, status: 400, code: 'INVALID_FIELD', says: 'command' },
    { name: 'exec: command empty', method: 'POST', path: `/vms/${vm}/exec`, body: '{"command":"  "}', auth: true, status: 400, code: 'INVALID_FIELD', says: 'command: must not be empty' },
    { name: 'exec: timeout_ms float', method: 'POST', path: `/vms/${vm}/exec`, body: '{"command":"ls","timeout_ms":1.5}', auth: true, status: 400, code: 'INVALID_FIELD', says: 'timeout_ms' },
    { name: 'exec: timeout_ms 0', method: 'POST', path: `/vms/${vm}/exec`, body: '{"command":"ls","timeout_ms":0}', auth: true, status: 400, code: 'INVALID_FIELD', says: 'timeout_ms' },
    { name: 'exec: extra field', method: 'POST', path: `/vms/${vm}/exec`, body: '{"command":"ls","env":{}}', auth: true, status: 400, code: 'UNKNOWN_FIELD', says: 'env' },
    { name: 'exec: empty body', method: 'POST', path: `/vms/${vm}/exec`, body: '', auth: true, status: 400, code: 'INVALID_JSON', says: 'body' },
    { name: 'attestation: missing lease_hash', method: 'POST', path: '/attestation/request', body: '{}', status: 400, code: 'MISSING_FIELD', says: 'lease_hash' },
    { name: 'attestation: upper-case hash', method: 'POST', path: '/attestation/request', body: `{"lease_hash":"${hashOf('a').toUpperCase()}"}`, status: 400, code: 'INVALID_FIELD', says: 'lease_hash' },
    { name: 'attestation: non-JSON', method: 'POST', path: '/attestation/request', body: 'lease', status: 400, code: 'INVALID_JSON', says: 'body' },
    { name: 'blocks: empty body', method: 'POST', path: '/blocks', body: '', status: 400, code: 'INVALID_JSON', says: 'body', retryable: false },
    { name: 'blocks: unknown type', method: 'POST', path: '/blocks', body: '{"type":"mint"}', status: 400, code: 'UNKNOWN_BLOCK_TYPE', says: 'type', retryable: false },
    { name: 'leases: negative offset', method: 'GET', path: '/leases?offset=-1', status: 400, code: 'INVALID_QUERY', says: 'offset' },
    { name: 'leases: float offset', method: 'GET', path: '/leases?offset=1.5', status: 400, code: 'INVALID_QUERY', says: 'offset' },
    { name: 'leases: limit 0', method: 'GET', path: '/leases?limit=0', status: 400, code: 'INVALID_QUERY', says: 'limit' },
    { name: 'leases: limit 1001', method: 'GET', path: '/leases?limit=1001', status: 400, code: 'INVALID_QUERY', says: 'limit: expected an integer between 1 and 1000' },
    { name: 'leases: limit not a number', method: 'GET', path: '/leases?limit=ten', status: 400, code: 'INVALID_QUERY', says: 'limit' },
    { name: 'leases: offset above u64', method: 'GET', path: '/leases?offset=18446744073709551616', status: 400, code: 'INVALID_QUERY', says: 'offset' },
    { name: 'leases: unknown state', method: 'GET', path: '/leases?state=running', status: 400, code: 'INVALID_QUERY', says: 'state: Invalid option: expected one of "created"' },
    { name: 'leases: unknown parameter', method: 'GET', path: '/leases?sort=asc', status: 400, code: 'INVALID_QUERY', says: 'sort' },
    { name: 'leases: repeated parameter', method: 'GET', path: '/leases?limit=1&limit=2', status: 400, code: 'INVALID_QUERY', says: 'limit: given more than once' },
    { name: 'lease: 63-char hash', method: 'GET', path: `/leases/${hashOf('a').slice(1)}`, status: 400, code: 'INVALID_FIELD', says: 'hash: expected 64 lowercase hex chars' },
    { name: 'lease: 65-char hash', method: 'GET', path: `/leases/${hashOf('a')}0`, status: 400, code: 'INVALID_FIELD', says: 'hash: expected 64 lowercase hex chars' },
    { name: 'lease: upper-case hash', method: 'GET', path: `/leases/${hashOf('a').toUpperCase()}`, status: 400, code: 'INVALID_FIELD', says: 'hash: expected 64 lowercase hex chars' },
    { name: 'lease: non-hex hash', method: 'GET', path: `/leases/${'g'.repeat(64)}`, status: 400, code: 'INVALID_FIELD', says: 'hash' },
    { name: 'vm: malformed hash', method: 'GET', path: '/vms/%00', status: 400, code: 'INVALID_FIELD', says: 'leaseHash' },
    { name: 'account: malformed address', method: 'GET', path: '/accounts/0x12', status: 400, code: 'INVALID_FIELD', says: 'address' },
    { name: 'unknown route', method: 'GET', path: '/nope', status: 404, code: 'ROUTE_NOT_FOUND', says: 'GET /nope' },
    { name: 'unknown nested route', method: 'GET', path: '/leases/a/b/c', status: 404, code: 'ROUTE_NOT_FOUND', says: '/leases/a/b/c' },
    { name: 'trailing slash', method: 'GET', path: '/leases/', status: 404, code: 'ROUTE_NOT_FOUND', says: '/leases/' },
    { name: 'unknown method on a route', method: 'DELETE', path: '/leases', status: 405, code: 'METHOD_NOT_ALLOWED', says: 'DELETE' },
    { name: 'GET on a POST route', method: 'GET', path: '/lease/request', status: 405, code: 'METHOD_NOT_ALLOWED', says: 'allowed: POST' },
    { name: 'PATCH on a parameterised route', method: 'PATCH', path: `/leases/${hashOf('a')}`, status: 405, code: 'METHOD_NOT_ALLOWED', says: 'PATCH' },
  ];
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const opts = c.body === undefined ? { auth: c.auth ?? false } : { body: c.body, auth: c.auth ?? false };
    expectError(await call(app, c.method, c.path, opts), c.status, c.code, c.says, c.retryable);
  });

  it('gives a 405 an Allow header', async () => {
    const r = await call(app, 'GET', '/blocks');
    expect(r.headers.get('allow')).toBe('POST');
  });

  it('never answers 5xx to any of a batch of garbage requests', async () => {
    const garbage = ['{', '}', '[]', '{"a":', '\u0000', '{"vcpus":1e999}', '{"vcpus":-0}', '{"vcpus":01}', `{"x":${'['.repeat(300)}}`, '\ud800', '{"__proto__":{"a":1}}'];
    const paths = ['/lease/request', '/attestation/request', `/vms/${vm}/exec`, '/blocks', `/leases/${deps.leases[0]!.lease_hash}/cancel`];
    for (const p of paths) {
      for (const body of garbage) {
        const r = await call(app, 'POST', p, { body, auth: true });
        expect([p, body, r.status < 500]).toEqual([p, body, true]);
        expect([p, body, r.status >= 400]).toEqual([p, body, true]);
      }
    }
  });
});
