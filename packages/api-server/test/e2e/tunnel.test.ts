import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseJson } from '@xe/core-types';
import { type ApiServer, createApp, HttpMetrics, startApiServer } from '../../src/index.js';
import { ACCESS_PUB, type FakeDeps, hashOf, makeLease, network, seededFake } from '../support/fake-deps.js';
import { FakeTunnelVerifier, fakeTunnelHeaders, fakeTunnelSignature } from '../support/fake-tunnel-auth.js';

type Outcome = { kind: 'upgrade'; socket: Socket; head: Buffer; headers: IncomingHttpHeaders } | { kind: 'response'; status: number; body: unknown };

const sockets = new Set<Socket>();

/** Sends the upgrade request; resolves with the upgraded socket or the refusal. */
function upgrade(base: string, path: string, headers: Record<string, string>, upgradeTo = 'tcp'): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method: 'POST', headers: { Connection: 'Upgrade', Upgrade: upgradeTo, ...headers } });
    req.once('upgrade', (res, socket, head) => {
      sockets.add(socket);
      resolve({ kind: 'upgrade', socket, head, headers: res.headers });
    });
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve({ kind: 'response', status: res.statusCode ?? 0, body: parseJson(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.once('error', reject);
    req.end();
  });
}

function expectRefused(o: Outcome, status: number, code: string): void {
  expect(o.kind === 'response' ? { status: o.status, code: (o.body as { code: string }).code } : 'upgraded').toEqual({ status, code });
}

/** Reads exactly `n` bytes from the socket. */
function readBytes(socket: Socket, n: number, first: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [first];
    let got = first.length;
    const onData = (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= n) {
        socket.off('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    if (got >= n) return resolve(Buffer.concat(chunks));
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => got < n && reject(new Error(`socket closed after ${got} of ${n} bytes`)));
  });
}

function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

describe('tunnel over a real socket', () => {
  let echo: Server;
  let deps: FakeDeps;
  let api: ApiServer;
  let metrics: HttpMetrics;
  const accepted = makeLease(1, 'accepted');
  const created = makeLease(2, 'created');

  beforeAll(async () => {
    echo = createServer((s) => {
      s.on('error', () => undefined);
      s.pipe(s);
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    deps = seededFake();
    deps.params = network(5n);
    deps.leases = [accepted, created];
    deps.tunnelPort = (echo.address() as { port: number }).port;
    const tunnelAuth = new FakeTunnelVerifier(deps.params.lease.max_attestation_skew_ns);
    metrics = new HttpMetrics();
    const app = createApp(deps, { rateLimit: false, tunnelAuth, metrics });
    api = await startApiServer(app, {
      deps,
      tunnelAuth,
      metrics,
      requestTimeoutMs: 300,
      headersTimeoutMs: 200,
      connectionsCheckingIntervalMs: 50,
    });
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await api.close();
    await new Promise<void>((r) => echo.close(() => r()));
  });

  it('upgrades, then carries 10 MB both ways byte-exact, and passes the signature on', async () => {
    const headers = fakeTunnelHeaders(ACCESS_PUB, accepted.lease_hash, nowNs());
    const o = await upgrade(api.url, `/tunnel/${accepted.lease_hash}/tcp`, headers);
    if (o.kind !== 'upgrade') throw new Error(`expected 101, got ${o.status} ${JSON.stringify(o.body)}`);
    expect(o.headers.upgrade).toBe('tcp');
    const payload = randomBytes(10 * 1024 * 1024);
    const back = readBytes(o.socket, payload.length, o.head);
    o.socket.write(payload);
    const received = await back;
    expect(received.length).toBe(payload.length);
    expect(received.equals(payload)).toBe(true);
    expect(deps.calls.tunnels.at(-1)).toEqual({
      hash: accepted.lease_hash,
      auth: { timestamp: BigInt(headers['X-Timestamp']), signature: headers['X-Signature'] },
    });
    const closed = new Promise<void>((r) => o.socket.once('close', () => r()));
    o.socket.end();
    await closed;
  });

  it('keeps an idle tunnel open past the request and headers timeouts', async () => {
    const headers = fakeTunnelHeaders(ACCESS_PUB, accepted.lease_hash, nowNs());
    const o = await upgrade(api.url, `/tunnel/${accepted.lease_hash}/tcp`, headers);
    if (o.kind !== 'upgrade') throw new Error('expected 101');
    // Idle for several timeout periods: the thing under test is elapsed time.
    await new Promise((r) => setTimeout(r, 700));
    expect(o.socket.destroyed).toBe(false);
    const back = readBytes(o.socket, 5, o.head);
    o.socket.write('hello');
    expect((await back).toString()).toBe('hello');
    o.socket.destroy();
  });

  it('refuses a replayed signature (403), a stale timestamp (401), another key (403), missing headers (401)', async () => {
    const ts = nowNs();
    const headers = fakeTunnelHeaders(ACCESS_PUB, accepted.lease_hash, ts);
    const first = await upgrade(api.url, `/tunnel/${accepted.lease_hash}/tcp`, headers);
    expect(first.kind).toBe('upgrade');
    if (first.kind === 'upgrade') first.socket.destroy();
    expectRefused(await upgrade(api.url, `/tunnel/${accepted.lease_hash}/tcp`, headers), 403, 'TUNNEL_SIGNATURE_REPLAYED');

    const skew = deps.params.lease.max_attestation_skew_ns;
    const stale = ts - skew - 1_000_000_000n;
    const staleHeaders = { 'X-Timestamp': String(stale), 'X-Signature': fakeTunnelSignature(ACCESS_PUB, accepted.lease_hash, stale) };
    expectRefused(await upgrade(api.url, `/tunnel/${accepted.lease_hash}/tcp`, staleHeaders), 401, 'TUNNEL_TIMESTAMP_STALE');

    const other = fakeTunnelHeaders(hashOf('another key'), accepted.lease_hash, nowNs());
    expectRefused(await upgrade(api.url, `/tunnel/${accepted.lease_hash}/tcp`, other), 403, 'TUNNEL_SIGNATURE_INVALID');

    expectRefused(await upgrade(api.url, `/tunnel/${accepted.lease_hash}/tcp`, {}), 401, 'TUNNEL_AUTH_MISSING');
  });

  it('refuses an unknown lease (404), an unaccepted one (410), a malformed hash (400), another upgrade or path', async () => {
    const h = (lease: string) => fakeTunnelHeaders(ACCESS_PUB, lease, nowNs());
    expectRefused(await upgrade(api.url, `/tunnel/${hashOf('nope')}/tcp`, h(hashOf('nope'))), 404, 'LEASE_NOT_FOUND');
    expectRefused(await upgrade(api.url, `/tunnel/${created.lease_hash}/tcp`, h(created.lease_hash)), 410, 'LEASE_NOT_ACCEPTED');
    expectRefused(await upgrade(api.url, '/tunnel/ABC/tcp', {}), 400, 'INVALID_FIELD');
    expectRefused(await upgrade(api.url, `/tunnel/${accepted.lease_hash}/tcp`, h(accepted.lease_hash), 'websocket'), 426, 'UPGRADE_REQUIRED');
    expectRefused(await upgrade(api.url, '/leases', {}), 404, 'ROUTE_NOT_FOUND');
  });

  it('answers 502 when the provider cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const saved = deps.tunnelPort;
    deps.tunnelPort = port;
    try {
      const headers = fakeTunnelHeaders(ACCESS_PUB, accepted.lease_hash, nowNs());
      expectRefused(await upgrade(api.url, `/tunnel/${accepted.lease_hash}/tcp`, headers), 502, 'PROVIDER_UNREACHABLE');
    } finally {
      deps.tunnelPort = saved;
    }
  });

  it('serves ordinary routes on the same server, and counts tunnels in /metrics', async () => {
    const res = await fetch(`${api.url}/leases/${accepted.lease_hash}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('"start_time":1709500180000000001');
    const m = await (await fetch(`${api.url}/metrics`)).text();
    expect(m).toMatch(/xe_api_tunnels_opened_total [1-9]/);
  });

  it('answers 413 to a 2 MiB body over the socket', async () => {
    const res = await fetch(`${api.url}/blocks`, { method: 'POST', body: 'x'.repeat(2 * 1024 * 1024) });
    expect(res.status).toBe(413);
    expect(parseJson(await res.text())).toMatchObject({ code: 'BODY_TOO_LARGE' });
  });
});

describe('close()', () => {
  it('ends open tunnels and their provider streams', async () => {
    const providerSide = new Set<Socket>();
    const echo = createServer((s) => {
      providerSide.add(s);
      s.on('error', () => undefined);
      s.pipe(s);
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const deps = seededFake();
    const lease = makeLease(1, 'accepted');
    deps.leases = [lease];
    deps.tunnelPort = (echo.address() as { port: number }).port;
    const tunnelAuth = new FakeTunnelVerifier();
    const api = await startApiServer(createApp(deps, { rateLimit: false, tunnelAuth }), { deps, tunnelAuth });
    const o = await upgrade(api.url, `/tunnel/${lease.lease_hash}/tcp`, fakeTunnelHeaders(ACCESS_PUB, lease.lease_hash, nowNs()));
    if (o.kind !== 'upgrade') throw new Error('expected 101');
    const clientClosed = new Promise<void>((r) => o.socket.once('close', () => r()));
    const providerClosed = Promise.all([...providerSide].map((s) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())))));
    await api.close();
    await clientClosed;
    await providerClosed;
    expect(o.socket.destroyed).toBe(true);
    await new Promise<void>((r) => echo.close(() => r()));
  });
});

describe('a client that goes away', () => {
  it('aborts the signal handed to ApiDeps (a pending lease request stops waiting)', async () => {
    const deps = seededFake();
    let onAbort!: (reason: unknown) => void;
    const aborted = new Promise<unknown>((r) => (onAbort = r));
    let started!: () => void;
    const waiting = new Promise<void>((r) => (started = r));
    deps.requestLease = (_req, { signal }) =>
      new Promise((_resolve, reject) => {
        started();
        signal?.addEventListener('abort', () => {
          onAbort(signal.reason);
          reject(signal.reason);
        });
      });
    const tunnelAuth = new FakeTunnelVerifier();
    const api = await startApiServer(createApp(deps, { rateLimit: false, operatorToken: 't', tunnelAuth }), { deps, tunnelAuth });
    const req = httpRequest(`${api.url}/lease/request`, { method: 'POST', headers: { authorization: 'Bearer t' } });
    req.on('error', () => undefined);
    req.end('{"vcpus":1,"memory_mb":0,"disk_gb":0,"duration":60,"access_pub_key":"' + 'a'.repeat(64) + '"}');
    await waiting;
    req.destroy();
    await aborted;
    await api.close();
  });
});
