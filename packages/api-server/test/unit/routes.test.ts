import { describe, expect, it } from '@jest/globals';
import { checkAnswer, openApiDocumentText, ROUTES as CONTRACT_ROUTES, matchRoute } from '@xe/api-contract';
import { type JsonValue, stringifyJson, XeError } from '@xe/core-types';
import { type ApiApp, createApp, HttpMetrics, NOT_SERVED, ROUTES, type RouteKey } from '../../src/index.js';
import { ACCESS_PUB, FakeDeps, hashOf, START_TIME, seededFake } from '../support/fake-deps.js';
import { call, expectError, expectShape, LEASE_SHAPE, TOKEN } from '../support/http.js';
import { FakeTunnelVerifier, fakeTunnelHeaders } from '../support/fake-tunnel-auth.js';
import { Gauge, Registry } from 'prom-client';

function setup(): { deps: FakeDeps; app: ApiApp } {
  const deps = seededFake();
  return { deps, app: createApp(deps, { tunnelAuth: new FakeTunnelVerifier(), operatorToken: TOKEN, rateLimit: false }) };
}

const LEASE_REQUEST = { vcpus: 1, memory_mb: 1024, disk_gb: 10, duration: 3600, access_pub_key: ACCESS_PUB };
const VM_SHAPE = { lease_hash: 'hash', status: 'string', resources: 'object', created_at: 'integer' } as const;

function sendBlock(): Record<string, unknown> {
  return {
    type: 'send',
    account: hashOf('a'),
    previous: hashOf('p'),
    balance: 18446744073709551615n,
    timestamp: START_TIME,
    asset: 'XUSD',
    destination: hashOf('d'),
    amount: 1n,
    signature: 'cd'.repeat(64),
    hash: hashOf('block'),
    pow_nonce: 12345678901234567890n,
  };
}

interface RouteCase {
  /** the success shape, field by field */
  ok: () => Promise<void>;
  /** each error status of the route */
  errors: () => Promise<void>;
}

/** One case per route of the table: a route without a case does not compile. */
const cases = {
  'GET /': {
    ok: async () => {
      const { app } = setup();
      const r = await call(app, 'GET', '/');
      expect(r.status).toBe(200);
      const o = expectShape(r.body, {
        name: 'string',
        version: 'string',
        network_id: 'string',
        address: 'hash',
        peer_id: 'string',
        node_id: 'string',
        routes: 'array',
        endpoints: 'array',
      });
      expect(o.node_id).toBe(o.peer_id);
      const routes = o.routes as { [k: string]: JsonValue }[];
      expect(routes.map((x) => `${x.method} ${x.path}`)).toEqual(ROUTES.map((x) => `${x.method} ${x.path}`));
      for (const x of routes) expectShape(x, { method: 'string', path: 'string', auth: 'string', description: 'string' });
      expect(routes.find((x) => x.path === '/lease/request')?.auth).toBe('operator');
      const endpoints = o.endpoints as { [k: string]: JsonValue }[];
      expect(endpoints).toEqual(routes.map(({ method, path, description }) => ({ method, path, description })));
    },
    errors: async () => {
      const { app } = setup();
      expectError(await call(app, 'POST', '/'), 405, 'METHOD_NOT_ALLOWED', 'POST');
    },
  },
  'GET /node': {
    ok: async () => {
      const { app } = setup();
      const r = await call(app, 'GET', '/node');
      expect(r.status).toBe(200);
      const o = expectShape(r.body, {
        name: 'string',
        version: 'string',
        network_id: 'string',
        address: 'hash',
        peer_id: 'string',
        roles: 'array',
        peers: 'integer',
        multiaddrs: 'array',
        counts: 'object',
        certificate: 'object',
        id: 'string',
        public_key: 'hash',
        peer_count: 'integer',
        pow_difficulty: 'string',
        lease_timing: 'object',
        pow_algorithm: 'string',
        finality: 'object',
      });
      expect([o.id, o.peer_count, o.pow_difficulty, o.pow_algorithm]).toEqual([o.peer_id, o.peers, 'ff00000000000000', 'blake3']);
      expectShape(o.lease_timing, {
        min_duration_secs: 'integer',
        settle_grace_ns: 'integer',
        force_settle_gap_ns: 'integer',
        escrow_expiry_ns: 'integer',
        archive_gap_ns: 'integer',
        max_attestation_skew_ns: 'integer',
      });
      expectShape(o.finality, {
        quorum_pct: 'integer',
        total_weight: 'integer',
        online_weight: 'integer',
        representatives: 'integer',
        online_representatives: 'integer',
        confirmed_blocks: 'integer',
        unconfirmed_blocks: 'integer',
        open_conflicts: 'integer',
      });
      expect(r.text).toContain('"total_weight":18446744073709551615');
      expectShape(o.counts, { blocks: 'integer', accounts: 'integer', leases: 'integer', vms: 'integer' });
      expectShape(o.certificate, { hash: 'hash', expires_at: 'integer', valid: 'boolean' });
      expect(r.text).toContain('"expires_at":1710104980000000001');
    },
    errors: async () => {
      const { app } = setup();
      expectError(await call(app, 'POST', '/node'), 405, 'METHOD_NOT_ALLOWED');
    },
  },
  'GET /health': {
    ok: async () => {
      const { app } = setup();
      const r = await call(app, 'GET', '/health');
      expect(r.status).toBe(200);
      expectShape(r.body, { status: 'string' });
    },
    errors: async () => {
      const { app } = setup();
      expectError(await call(app, 'DELETE', '/health'), 405, 'METHOD_NOT_ALLOWED');
    },
  },
  'GET /ready': {
    ok: async () => {
      const { app } = setup();
      const r = await call(app, 'GET', '/ready');
      expect(r.status).toBe(200);
      expect(expectShape(r.body, { ready: 'boolean', synced: 'boolean', peered: 'boolean', timekeepers_reachable: 'boolean' }).ready).toBe(true);
    },
    errors: async () => {
      const { app, deps } = setup();
      deps.ready = { synced: false, peered: true, timekeepers_reachable: true, ready: false };
      const r = await call(app, 'GET', '/ready');
      expect(r.status).toBe(503);
      expect(r.body).toEqual({ ready: false, synced: false, peered: true, timekeepers_reachable: true });
    },
  },
  'GET /metrics': {
    ok: async () => {
      // The node registers its own families in the registry it hands the API.
      const registry = new Registry();
      new Gauge({ name: 'xe_ledger_blocks', help: 'Blocks in the ledger', registers: [registry] }).set(42);
      const deps = seededFake();
      const app = createApp(deps, { tunnelAuth: new FakeTunnelVerifier(), rateLimit: false, metrics: new HttpMetrics(registry) });
      await call(app, 'GET', '/leases');
      const r = await call(app, 'GET', '/metrics');
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toContain('text/plain');
      expect(r.text).toContain('xe_ledger_blocks 42');
      expect(r.text).toContain('xe_api_http_requests_total{method="GET",route="GET /leases",status="200"} 1');
      expect(r.text).toMatch(/xe_api_http_request_duration_seconds_count\{method="GET",route="GET \/leases"\} 1/);
      // Every family has its HELP and TYPE lines (the node's e2e test parses the whole output with a Prometheus parser).
      const families = [...r.text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]);
      expect(families.map(([name]) => name).sort()).toEqual(
        [
          'xe_api_http_request_duration_seconds',
          'xe_api_http_requests_total',
          'xe_api_tunnel_bytes_total',
          'xe_api_tunnels_active',
          'xe_api_tunnels_opened_total',
          'xe_ledger_blocks',
        ].sort(),
      );
      for (const [name] of families) expect(r.text).toMatch(new RegExp(`^# HELP ${name} \\S`, 'm'));
    },
    errors: async () => {
      const { app } = setup();
      expectError(await call(app, 'POST', '/metrics'), 405, 'METHOD_NOT_ALLOWED');
    },
  },
  'GET /leases': {
    ok: async () => {
      const { app, deps } = setup();
      const r = await call(app, 'GET', '/leases');
      expect(r.status).toBe(200);
      const list = r.body as JsonValue[];
      expect(list).toHaveLength(deps.leases.length);
      for (const l of list) expectShape(l, LEASE_SHAPE);
      expect(r.text).toContain('"start_time":1709500180000000001');
      expect(r.text).toContain('"cost":18446744073709551615');
      expect(r.text).toBe(stringifyJson(deps.leases));
      const accepted = await call(app, 'GET', '/leases?state=accepted&offset=0&limit=1');
      expect((accepted.body as { state: string }[]).map((l) => l.state)).toEqual(['accepted']);
      const page = await call(app, 'GET', '/leases?offset=2&limit=2');
      expect((page.body as { lease_hash: string }[]).map((l) => l.lease_hash)).toEqual(deps.leases.slice(2, 4).map((l) => l.lease_hash));
    },
    errors: async () => {
      const { app } = setup();
      expectError(await call(app, 'GET', '/leases?state=bogus'), 400, 'INVALID_QUERY', 'state');
      expectError(await call(app, 'GET', '/leases?limit=1001'), 400, 'INVALID_QUERY', 'limit');
    },
  },
  'GET /leases/{hash}': {
    ok: async () => {
      const { app, deps } = setup();
      const l = deps.leases[1]!;
      const r = await call(app, 'GET', `/leases/${l.lease_hash}`);
      expect(r.status).toBe(200);
      const o = expectShape(r.body, LEASE_SHAPE);
      expect(o.start_time).toBe(1709500180000000001n);
      expect(r.text).toContain('"start_time":1709500180000000001,');
      expect(o.settled).toBe(false);
      expect(o.state).toBe('accepted');
    },
    errors: async () => {
      const { app } = setup();
      expectError(await call(app, 'GET', '/leases/xyz'), 400, 'INVALID_FIELD', 'hash');
      expectError(await call(app, 'GET', `/leases/${hashOf('nope')}`), 404, 'LEASE_NOT_FOUND');
    },
  },
  'POST /lease/request': {
    ok: async () => {
      const { app, deps } = setup();
      const r = await call(app, 'POST', '/lease/request', { body: stringifyJson(LEASE_REQUEST), auth: true });
      expect(r.status).toBe(200);
      expectShape(r.body, { lease_hash: 'hash' });
      expect(deps.calls.requestLease).toEqual([LEASE_REQUEST]);
    },
    errors: async () => {
      const { app, deps } = setup();
      const body = stringifyJson(LEASE_REQUEST);
      expectError(await call(app, 'POST', '/lease/request', { body }), 401, 'UNAUTHORIZED');
      expectError(await call(app, 'POST', '/lease/request', { body, headers: { authorization: 'Bearer wrong' } }), 401, 'UNAUTHORIZED');
      const noToken = createApp(deps, { tunnelAuth: new FakeTunnelVerifier(), rateLimit: false });
      expectError(await call(noToken, 'POST', '/lease/request', { body, auth: true }), 403, 'OPERATOR_TOKEN_NOT_CONFIGURED');
      expectError(await call(app, 'POST', '/lease/request', { body: '{}', auth: true }), 400, 'MISSING_FIELD', 'duration');
      deps.fail.requestLease = new XeError('NO_PROVIDERS', 'no providers');
      expectError(await call(app, 'POST', '/lease/request', { body, auth: true }), 400, 'NO_PROVIDERS', 'no providers');
      deps.fail.requestLease = new XeError('INSUFFICIENT_BALANCE', 'insufficient XUSD: need 2584, have 10');
      expectError(await call(app, 'POST', '/lease/request', { body, auth: true }), 400, 'INSUFFICIENT_BALANCE', 'XUSD');
      const pending = hashOf('pending lease');
      deps.fail.requestLease = new XeError('ACCEPT_TIMEOUT', 'no accept within 600 s', { details: { lease_hash: pending } });
      const r = await call(app, 'POST', '/lease/request', { body, auth: true });
      expect(r.status).toBe(504);
      expect(expectShape(r.body, { error: 'string', code: 'string', retryable: 'boolean', lease_hash: 'hash' }).lease_hash).toBe(pending);
    },
  },
  'POST /leases/{hash}/cancel': {
    ok: async () => {
      const { app, deps } = setup();
      const created = deps.leases.find((l) => l.state === 'created')!;
      const r = await call(app, 'POST', `/leases/${created.lease_hash}/cancel`, { auth: true });
      expect(r.status).toBe(200);
      expect(expectShape(r.body, { lease_hash: 'hash', state: 'string', block_hash: 'hash' }).state).toBe('cancelled');
      expect(deps.calls.cancels).toEqual([created.lease_hash]);
    },
    errors: async () => {
      const { app, deps } = setup();
      const accepted = deps.leases.find((l) => l.state === 'accepted')!;
      expectError(await call(app, 'POST', `/leases/${accepted.lease_hash}/cancel`), 401, 'UNAUTHORIZED');
      expectError(await call(createApp(deps, { tunnelAuth: new FakeTunnelVerifier(), rateLimit: false }), 'POST', `/leases/${accepted.lease_hash}/cancel`, { auth: true }), 403, 'OPERATOR_TOKEN_NOT_CONFIGURED');
      expectError(await call(app, 'POST', '/leases/ABC/cancel', { auth: true }), 400, 'INVALID_FIELD', 'hash');
      expectError(await call(app, 'POST', `/leases/${accepted.lease_hash}/cancel`, { auth: true, body: '{"x":1}' }), 400, 'UNKNOWN_FIELD', 'x: field not allowed');
      expectError(await call(app, 'POST', `/leases/${accepted.lease_hash}/cancel`, { auth: true, body: ' '.repeat(2 * 1024 * 1024) }), 413, 'BODY_TOO_LARGE');
      expectError(await call(app, 'POST', `/leases/${hashOf('none')}/cancel`, { auth: true }), 404, 'LEASE_NOT_FOUND');
      expectError(await call(app, 'POST', `/leases/${accepted.lease_hash}/cancel`, { auth: true }), 409, 'LEASE_NOT_CANCELLABLE');
      deps.fail.cancelLease = new XeError('LEASE_NOT_OWN', 'only the consumer node of a lease can cancel it');
      expectError(await call(app, 'POST', `/leases/${accepted.lease_hash}/cancel`, { auth: true }), 403, 'LEASE_NOT_OWN');
      deps.fail.cancelLease = new XeError('LEASE_NOT_CANCELLABLE', 'too early', { retryable: true, details: { opens_at: 1709500180000000001n } });
      const early = await call(app, 'POST', `/leases/${accepted.lease_hash}/cancel`, { auth: true });
      expect([early.status, early.body]).toEqual([409, { error: 'too early', code: 'LEASE_NOT_CANCELLABLE', retryable: true, opens_at: 1709500180000000001n }]);
      expect(early.text).toContain('"opens_at":1709500180000000001');
    },
  },
  'GET /providers': {
    ok: async () => {
      const { app } = setup();
      const r = await call(app, 'GET', '/providers');
      expect(r.status).toBe(200);
      const list = r.body as JsonValue[];
      expect(list).toHaveLength(1);
      expectShape(list[0], {
        address: 'hash',
        vcpus: 'integer',
        memory_mb: 'integer',
        disk_gb: 'integer',
        active_leases: 'integer',
        available_vcpus: 'integer',
        available_memory_mb: 'integer',
        available_disk_gb: 'integer',
        account: 'hash',
        used_vcpus: 'integer',
        used_memory_mb: 'integer',
        used_disk_gb: 'integer',
        total_leases: 'integer',
      });
    },
    errors: async () => {
      const { app } = setup();
      expectError(await call(app, 'POST', '/providers', { body: '{}' }), 405, 'METHOD_NOT_ALLOWED');
    },
  },
  'POST /attestation/request': {
    ok: async () => {
      const { app, deps } = setup();
      const r = await call(app, 'POST', '/attestation/request', { body: stringifyJson({ lease_hash: deps.leases[0]!.lease_hash }) });
      expect(r.status).toBe(200);
      const o = expectShape(r.body, { public_key: 'hash', timestamp: 'integer', signature: 'string' });
      expect(o.timestamp).toBe(START_TIME);
      expect(o.signature).toMatch(/^[0-9a-f]{128}$/);
    },
    errors: async () => {
      const { app, deps } = setup();
      expectError(await call(app, 'POST', '/attestation/request', { body: '{"lease_hash":"12"}' }), 400, 'INVALID_FIELD', 'lease_hash');
      expectError(await call(app, 'POST', '/attestation/request', { body: stringifyJson({ lease_hash: hashOf('x') }) }), 404, 'LEASE_NOT_FOUND');
      deps.fail.requestAttestation = new XeError('TIMEKEEPER_UNAVAILABLE', 'no timekeeper answered', { retryable: true });
      const body = stringifyJson({ lease_hash: deps.leases[0]!.lease_hash });
      expectError(await call(app, 'POST', '/attestation/request', { body }), 503, 'TIMEKEEPER_UNAVAILABLE');
      // a timekeeper's refusal of a lease whose state allows no attestation is a 409, not a 500
      deps.fail.requestAttestation = new XeError('LEASE_NOT_ATTESTABLE', 'lease is settled; only created or accepted leases are attested');
      expectError(await call(app, 'POST', '/attestation/request', { body }), 409, 'LEASE_NOT_ATTESTABLE');
      deps.fail.requestAttestation = new XeError('UNKNOWN_LEASE', 'unknown lease');
      expectError(await call(app, 'POST', '/attestation/request', { body }), 404, 'UNKNOWN_LEASE');
    },
  },
  'GET /vms': {
    ok: async () => {
      const { app } = setup();
      const r = await call(app, 'GET', '/vms');
      expect(r.status).toBe(200);
      const list = r.body as JsonValue[];
      expect(list).toHaveLength(1);
      const vm = expectShape(list[0], VM_SHAPE);
      expectShape(vm.resources, { vcpus: 'integer', memory_mb: 'integer', disk_gb: 'integer' });
    },
    errors: async () => {
      const { app } = setup();
      expectError(await call(app, 'PUT', '/vms'), 405, 'METHOD_NOT_ALLOWED');
    },
  },
  'GET /vms/{leaseHash}': {
    ok: async () => {
      const { app, deps } = setup();
      const r = await call(app, 'GET', `/vms/${deps.vms[0]!.lease_hash}`);
      expect(r.status).toBe(200);
      const vm = expectShape(r.body, VM_SHAPE);
      expect(vm.created_at).toBe(START_TIME);
      expect(vm.status).toBe('running');
    },
    errors: async () => {
      const { app } = setup();
      expectError(await call(app, 'GET', '/vms/1234'), 400, 'INVALID_FIELD', 'leaseHash');
      expectError(await call(app, 'GET', `/vms/${hashOf('no vm')}`), 404, 'VM_NOT_FOUND');
    },
  },
  'POST /vms/{leaseHash}/exec': {
    ok: async () => {
      const { app, deps } = setup();
      const hash = deps.vms[0]!.lease_hash;
      const r = await call(app, 'POST', `/vms/${hash}/exec`, { body: '{"command":"uname -a","timeout_ms":5000}', auth: true });
      expect(r.status).toBe(200);
      expect(expectShape(r.body, { exit_code: 'integer', stdout: 'string', stderr: 'string' }).stdout).toBe('ran: uname -a\n');
      expect(deps.calls.exec.map((e) => [e.hash, e.command, e.options.timeoutMs])).toEqual([[hash, 'uname -a', 5000]]);
    },
    errors: async () => {
      const { app, deps } = setup();
      const hash = deps.vms[0]!.lease_hash;
      const body = '{"command":"true"}';
      expectError(await call(app, 'POST', `/vms/${hash}/exec`, { body }), 401, 'UNAUTHORIZED');
      expectError(await call(createApp(deps, { tunnelAuth: new FakeTunnelVerifier(), rateLimit: false }), 'POST', `/vms/${hash}/exec`, { body, auth: true }), 403, 'OPERATOR_TOKEN_NOT_CONFIGURED');
      expectError(await call(app, 'POST', `/vms/${hash}/exec`, { body: '{}', auth: true }), 400, 'MISSING_FIELD', 'command');
      expectError(await call(app, 'POST', `/vms/${hashOf('none')}/exec`, { body, auth: true }), 404, 'VM_NOT_FOUND');
    },
  },
  'POST /tunnel/{leaseHash}/tcp': {
    ok: async () => {
      // A plain request with good credentials is told to upgrade (the upgrade itself is in test/e2e).
      const { app, deps } = setup();
      const hash = deps.leases.find((l) => l.state === 'accepted')!.lease_hash;
      const ts = BigInt(Date.now()) * 1_000_000n;
      const r = await call(app, 'POST', `/tunnel/${hash}/tcp`, { headers: fakeTunnelHeaders(ACCESS_PUB, hash, ts) });
      expectError(r, 426, 'UPGRADE_REQUIRED', 'Upgrade: tcp');
      expect(r.headers.get('upgrade')).toBe('tcp');
    },
    errors: async () => {
      const { app, deps } = setup();
      const accepted = deps.leases.find((l) => l.state === 'accepted')!.lease_hash;
      const created = deps.leases.find((l) => l.state === 'created')!.lease_hash;
      expectError(await call(app, 'POST', '/tunnel/zz/tcp'), 400, 'INVALID_FIELD', 'leaseHash');
      expectError(await call(app, 'POST', `/tunnel/${hashOf('none')}/tcp`), 404, 'LEASE_NOT_FOUND');
      expectError(await call(app, 'POST', `/tunnel/${created}/tcp`), 410, 'LEASE_NOT_ACCEPTED');
      expectError(await call(app, 'POST', `/tunnel/${accepted}/tcp`), 401, 'TUNNEL_AUTH_MISSING', 'X-Timestamp');
      const now = BigInt(Date.now()) * 1_000_000n;
      expectError(
        await call(app, 'POST', `/tunnel/${accepted}/tcp`, { headers: { 'x-timestamp': String(now), 'x-signature': 'ab'.repeat(64) } }),
        403,
        'TUNNEL_SIGNATURE_INVALID',
      );
    },
  },
  'GET /accounts/{address}': {
    ok: async () => {
      const { app } = setup();
      const r = await call(app, 'GET', `/accounts/${hashOf('account')}`);
      expect(r.status).toBe(200);
      const o = expectShape(r.body, { address: 'hash', balances: 'object', pending: 'object', frontier: 'hash', block_count: 'integer', head: 'object' });
      expectShape(o.balances, { XE: 'integer', XUSD: 'integer' });
      expectShape(o.pending, { XE: 'integer', XUSD: 'integer' });
      expectShape(o.head, { frontier: 'hash', height: 'integer', balances: 'object' });
      expect(o.head).toEqual({ frontier: hashOf('head'), height: 8n, balances: { XE: 12345678901234567890n, XUSD: 4000000n } });
      expect(r.text).toContain('"XE":12345678901234567890');
    },
    errors: async () => {
      const { app } = setup();
      expectError(await call(app, 'GET', `/accounts/${hashOf('account').toUpperCase()}`), 400, 'INVALID_FIELD', 'address');
      expectError(await call(app, 'GET', `/accounts/${hashOf('nobody')}`), 404, 'ACCOUNT_NOT_FOUND');
    },
  },
  'POST /blocks': {
    ok: async () => {
      const { app, deps } = setup();
      const body = stringifyJson(sendBlock());
      const first = await call(app, 'POST', '/blocks', { body });
      expect(first.status).toBe(201);
      expect(expectShape(first.body, { status: 'string', hash: 'hash' }).status).toBe('accepted');
      const again = await call(app, 'POST', '/blocks', { body });
      expect(again.status).toBe(200);
      expect((again.body as { status: string }).status).toBe('duplicate');
      expect(deps.calls.blocks[0]!.balance).toBe(18446744073709551615n);
      expect(deps.calls.blocks[0]!.pow_nonce).toBe(12345678901234567890n);
    },
    errors: async () => {
      const { app, deps } = setup();
      const bad = await call(app, 'POST', '/blocks', { body: stringifyJson({ ...sendBlock(), vcpus: 1n }) });
      expect(bad.status).toBe(400);
      expect(expectShape(bad.body, { error: 'string', code: 'string', retryable: 'boolean' })).toMatchObject({ code: 'UNKNOWN_FIELD', retryable: false });
      expect((bad.body as { error: string }).error).toContain('vcpus');
      deps.rejectBlocks = { code: 'UNKNOWN_SOURCE', message: 'source not yet known', retryable: true };
      const later = await call(app, 'POST', '/blocks', { body: stringifyJson(sendBlock()) });
      expect(later.status).toBe(503);
      expect(later.body).toEqual({ error: 'source not yet known', code: 'UNKNOWN_SOURCE', retryable: true });
      deps.rejectBlocks = { code: 'POW_INVALID', message: 'work below difficulty', retryable: false };
      const refused = await call(app, 'POST', '/blocks', { body: stringifyJson(sendBlock()) });
      expect(refused.status).toBe(400);
      expect(refused.body).toEqual({ error: 'work below difficulty', code: 'POW_INVALID', retryable: false });
    },
  },
  'GET /conflicts': {
    ok: async () => {
      const { app } = setup();
      const r = await call(app, 'GET', '/conflicts');
      expect(r.status).toBe(200);
      const list = r.body as JsonValue[];
      expect(list).toHaveLength(1);
      expectShape(list[0], { account: 'hash', previous: 'hash', kept: 'hash', rejected: 'hash', detected_at: 'integer' });
    },
    errors: async () => {
      const { app } = setup();
      expectError(await call(app, 'POST', '/conflicts'), 405, 'METHOD_NOT_ALLOWED');
    },
  },
  'GET /events': {
    ok: async () => {
      const { deps, app } = setup();
      deps.eventFrames.push('id: 1\nevent: lease\ndata: {"a":1}\n\n', 'id: 2\nevent: vm\ndata: {"b":2}\n\n');
      const r = await app.request('/events');
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(r.headers.get('cache-control')).toBe('no-cache');
      // the preamble, then each piece of the subscription's text in order; the fake's stream ends after the last
      expect(await r.text()).toBe(`retry: 2000\n: xe-node events\n\n${deps.eventFrames.join('')}`);
      const resumed = await app.request('/events', { headers: { 'last-event-id': '1' } });
      expect(await resumed.text()).toBe(`retry: 2000\n: xe-node events\n\n${deps.eventFrames[1]}`);
      expect(deps.lastEventIds).toEqual([undefined, 1n]);
    },
    errors: async () => {
      const { deps, app } = setup();
      // a malformed Last-Event-ID reads as none: a fresh subscription, not an error
      for (const bad of ['x', '-1', '123456789012345678901']) expect((await app.request('/events', { headers: { 'last-event-id': bad } })).status).toBe(200);
      expect(deps.lastEventIds).toEqual([undefined, undefined, undefined]);
      expectError(await call(app, 'POST', '/events'), 405, 'METHOD_NOT_ALLOWED');
    },
  },
  'GET /openapi.json': {
    ok: async () => {
      const { app } = setup();
      const r = await call(app, 'GET', '/openapi.json');
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toContain('application/json');
      expect(r.text).toBe(openApiDocumentText());
      expect(Object.keys((r.body as { paths: object }).paths)).toContain('/blocks/{type}');
    },
    errors: async () => {
      const { app } = setup();
      expectError(await call(app, 'POST', '/openapi.json'), 405, 'METHOD_NOT_ALLOWED');
    },
  },
  'GET /accounts/{address}/balance': {
    ok: async () => {
      const { app } = setup();
      const r = await call(app, 'GET', `/accounts/${hashOf('account')}/balance`);
      expect(r.status).toBe(200);
      const o = expectShape(r.body, { address: 'hash', balances: 'object', spendable: 'object', final_height: 'integer', head: 'object' });
      expectShape(o.spendable, { XE: 'integer', XUSD: 'integer' });
      expect(r.text).toContain('"XE":12345678901234567890');
      expect([o.final_height, o.spendable]).toEqual([7n, { XE: 12345678901234567890n, XUSD: 4000000n }]);
      expect(o.head).toEqual({ frontier: hashOf('head'), height: 8n, balances: { XE: 12345678901234567890n, XUSD: 4000000n } });
      const none = await call(app, 'GET', `/accounts/${hashOf('nobody')}/balance`);
      expect(none.status).toBe(200);
      expect(none.body).toEqual({
        address: hashOf('nobody'),
        balances: { XE: 0n, XUSD: 0n },
        spendable: { XE: 0n, XUSD: 0n },
        final_height: 0n,
        head: { frontier: '0', height: 0n, balances: { XE: 0n, XUSD: 0n } },
      });
    },
    errors: async () => {
      const { app } = setup();
      expectError(await call(app, 'GET', '/accounts/xyz/balance'), 400, 'INVALID_FIELD', 'address');
    },
  },
  'GET /accounts/{address}/chain': {
    ok: async () => {
      const { app } = setup();
      const body = stringifyJson({ ...sendBlock(), account: hashOf('account') });
      expect((await call(app, 'POST', '/blocks', { body })).status).toBe(201);
      const r = await call(app, 'GET', `/accounts/${hashOf('account')}/chain`);
      expect(r.status).toBe(200);
      const o = expectShape(r.body, { address: 'hash', total: 'integer', blocks: 'array' });
      expect(o.total).toBe(2n);
      const blocks = o.blocks as { hash: string; confirmed: boolean }[];
      expect(blocks.map((b) => [b.hash, b.confirmed])).toEqual([
        [hashOf('block'), false],
        [hashOf('stored send'), true],
      ]);
      const page = await call(app, 'GET', `/accounts/${hashOf('account')}/chain?offset=1&limit=1`);
      expect((page.body as { blocks: { hash: string }[] }).blocks.map((b) => b.hash)).toEqual([hashOf('stored send')]);
      expect(page.text).toContain('"pow_nonce":12345678901234567890');
    },
    errors: async () => {
      const { app } = setup();
      expectError(await call(app, 'GET', `/accounts/${hashOf('account')}/chain?limit=0`), 400, 'INVALID_QUERY', 'limit');
      expectError(await call(app, 'GET', `/accounts/${hashOf('account')}/chain?order=asc`), 400, 'INVALID_QUERY', 'order');
      expectError(await call(app, 'GET', '/accounts/ABC/chain'), 400, 'INVALID_FIELD', 'address');
    },
  },
  'GET /pending/{address}': {
    ok: async () => {
      const { app } = setup();
      const r = await call(app, 'GET', `/pending/${hashOf('provider 0')}`);
      expect(r.status).toBe(200);
      const o = expectShape(r.body, { address: 'hash', pending: 'array' });
      const list = o.pending as JsonValue[];
      expect(list).toHaveLength(1);
      expectShape(list[0], { SendHash: 'hash', Source: 'hash', Destination: 'hash', Amount: 'integer', Asset: 'string' });
      expect(r.text).toContain('"Amount":18446744073709551615');
      expect((await call(app, 'GET', `/pending/${hashOf('nobody')}`)).body).toEqual({ address: hashOf('nobody'), pending: [] });
    },
    errors: async () => {
      const { app } = setup();
      expectError(await call(app, 'GET', '/pending/12'), 400, 'INVALID_FIELD', 'address');
    },
  },
  'POST /blocks/{type}': {
    ok: async () => {
      const { app, deps } = setup();
      const body = stringifyJson(sendBlock());
      const first = await call(app, 'POST', '/blocks/send', { body });
      expect(first.status).toBe(201);
      const stored = expectShape(first.body, { ...Object.fromEntries(Object.keys(sendBlock()).map((k) => [k, 'string' as const])), balance: 'integer', timestamp: 'integer', amount: 'integer', pow_nonce: 'integer', account: 'hash', previous: 'hash', destination: 'hash', hash: 'hash', confirmed: 'boolean' });
      expect([stored.balance, stored.pow_nonce, stored.confirmed]).toEqual([18446744073709551615n, 12345678901234567890n, false]);
      const again = await call(app, 'POST', '/blocks/send', { body });
      expect(again.status).toBe(200);
      // A missing pow_nonce reads as 0 (XE).
      const noNonce: Record<string, unknown> = { ...sendBlock(), hash: hashOf('no nonce') };
      delete noNonce.pow_nonce;
      expect((await call(app, 'POST', '/blocks/send', { body: stringifyJson(noNonce) })).status).toBe(201);
      expect(deps.calls.blocks.at(-1)!.pow_nonce).toBe(0n);
      // A body without `type` takes the path's; any content type is read as JSON.
      const untyped: Record<string, unknown> = { ...sendBlock(), hash: hashOf('untyped') };
      delete untyped.type;
      const r = await call(app, 'POST', '/blocks/send', { body: stringifyJson(untyped), headers: { 'content-type': 'text/plain' } });
      expect([r.status, (r.body as { type: string }).type]).toEqual([201, 'send']);
    },
    errors: async () => {
      const { app, deps } = setup();
      const body = stringifyJson(sendBlock());
      const mismatch = await call(app, 'POST', '/blocks/receive', { body });
      expectError(mismatch, 400, 'BLOCK_TYPE_MISMATCH', 'block type mismatch');
      expectError(await call(app, 'POST', '/blocks/genesis', { body }), 400, 'INVALID_FIELD', 'type');
      expectError(await call(app, 'POST', '/blocks/send', { body: stringifyJson({ ...sendBlock(), memo: 'a\u0000b' }) }), 400, 'INVALID_MEMO', 'memo');
      deps.rejectBlocks = { code: 'UNKNOWN_SOURCE', message: 'source not yet known', retryable: true };
      expectError(await call(app, 'POST', '/blocks/send', { body }), 503, 'UNKNOWN_SOURCE', 'source', true);
      deps.rejectBlocks = { code: 'POW_INVALID', message: 'work below difficulty', retryable: false };
      expectError(await call(app, 'POST', '/blocks/send', { body }), 400, 'POW_INVALID', 'work', false);
      expect(deps.calls.blocks).toHaveLength(2);
    },
  },
  'GET /blocks/recent': {
    ok: async () => {
      const { app } = setup();
      expect((await call(app, 'POST', '/blocks', { body: stringifyJson({ ...sendBlock(), timestamp: START_TIME + 5n }) })).status).toBe(201);
      const r = await call(app, 'GET', '/blocks/recent');
      expect(r.status).toBe(200);
      expect((r.body as { hash: string }[]).map((b) => b.hash)).toEqual([hashOf('block'), hashOf('stored send')]);
      const since = await call(app, 'GET', `/blocks/recent?limit=5&since=${START_TIME}`);
      expect((since.body as { hash: string }[]).map((b) => b.hash)).toEqual([hashOf('block')]);
    },
    errors: async () => {
      const { app } = setup();
      expectError(await call(app, 'GET', '/blocks/recent?limit=1001'), 400, 'INVALID_QUERY', 'limit');
      expectError(await call(app, 'GET', '/blocks/recent?since=-5'), 400, 'INVALID_QUERY', 'since');
    },
  },
  'GET /blocks/{hash}': {
    ok: async () => {
      const { app } = setup();
      const r = await call(app, 'GET', `/blocks/${hashOf('stored send')}`);
      expect(r.status).toBe(200);
      expect((r.body as { confirmed: boolean }).confirmed).toBe(true);
      expect(r.text).toContain('"balance":18446744073709551615');
    },
    errors: async () => {
      const { app } = setup();
      expectError(await call(app, 'GET', `/blocks/${hashOf('none')}`), 404, 'BLOCK_NOT_FOUND');
      expectError(await call(app, 'GET', '/blocks/zz'), 400, 'INVALID_FIELD', 'hash');
    },
  },
  'GET /certificate/{provider}': {
    ok: async () => {
      const { app } = setup();
      const r = await call(app, 'GET', `/certificate/${hashOf('provider 0')}`);
      expect(r.status).toBe(200);
      const o = expectShape(r.body, {
        provider: 'hash',
        provider_pub_key: 'hash',
        score: 'integer',
        price_multiplier_milli: 'integer',
        issued_at: 'integer',
        expires_at: 'integer',
        signature: 'string',
        hash: 'hash',
      });
      expect(o.hash).toBe(hashOf('cert 0'));
    },
    errors: async () => {
      const { app, deps } = setup();
      expectError(await call(app, 'GET', `/certificate/${hashOf('provider 1')}`), 404, 'CERTIFICATE_NOT_FOUND');
      deps.now = START_TIME + 604800000000000n;
      expectError(await call(app, 'GET', `/certificate/${hashOf('provider 0')}`), 404, 'CERTIFICATE_NOT_FOUND', 'unexpired');
      expectError(await call(app, 'GET', '/certificate/nope'), 400, 'INVALID_FIELD', 'provider');
    },
  },
  'GET /certificate/hash/{hash}': {
    ok: async () => {
      const { app, deps } = setup();
      deps.now = START_TIME + 604800000000000n; // expired ones too
      const r = await call(app, 'GET', `/certificate/hash/${hashOf('cert 0')}`);
      expect(r.status).toBe(200);
      expect((r.body as { provider: string }).provider).toBe(hashOf('provider 0'));
    },
    errors: async () => {
      const { app } = setup();
      expectError(await call(app, 'GET', `/certificate/hash/${hashOf('none')}`), 404, 'CERTIFICATE_NOT_FOUND');
      expectError(await call(app, 'GET', '/certificate/hash/Z'), 400, 'INVALID_FIELD', 'hash');
    },
  },
} satisfies Record<RouteKey, RouteCase>;

describe('the route table', () => {
  it("is exactly the contract's ROUTES, in its order", () => {
    expect(NOT_SERVED).toEqual([]);
    expect(ROUTES.map((r) => r.key)).toEqual(CONTRACT_ROUTES.filter((k) => !(NOT_SERVED as readonly string[]).includes(k)));
  });

  it('reaches the route matchRoute names for every path (registration order: /blocks/recent before /blocks/{hash})', () => {
    expect(matchRoute('GET', '/blocks/recent')?.route.operationId).toBe('recentBlocks');
    expect(checkAnswer(matchRoute('GET', '/health')!.route, 200, { status: 'ok' }).ok).toBe(true);
  });
});

describe('every route of the table', () => {
  it('has a case (also enforced by the type of `cases`)', () => {
    expect(Object.keys(cases).sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  for (const [key, c] of Object.entries(cases) as [RouteKey, RouteCase][]) {
    describe(key, () => {
      it('answers the success shape field by field', c.ok);
      it('answers each error status', c.errors);
    });
  }
});

describe('unexpected failures', () => {
  it('are a 500 {error:"internal error", code:"INTERNAL"} and logged, without the message', async () => {
    const lines: string[] = [];
    const deps = new FakeDeps();
    deps.fail.listLeases = new Error('disk on fire');
    const { createLogger } = await import('@xe/core-types');
    const app = createApp(deps, { tunnelAuth: new FakeTunnelVerifier(), rateLimit: false, logger: createLogger('test', { sink: (l) => lines.push(l) }) });
    const r = await call(app, 'GET', '/leases');
    expect(r.status).toBe(500);
    expect(r.body).toEqual({ error: 'internal error', code: 'INTERNAL', retryable: false });
    expect(lines.join('\n')).toContain('disk on fire');
  });
});
