import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ErrorCodes } from '@xe/core-types';
import { XeApiError, XeClient } from '../../src/index.js';
import { H, hashOf, lease, text } from '../support/bodies.js';
import { Peer } from '../support/peer.js';

const peer = new Peer();
let client: XeClient;

beforeAll(async () => {
  await peer.start();
  client = new XeClient({ baseUrl: peer.url, operatorToken: 't', timeoutMs: 5000 });
});
afterAll(() => peer.stop());

async function failure(p: Promise<unknown>): Promise<XeApiError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(XeApiError);
    return err as XeApiError;
  }
  throw new Error('expected the call to fail');
}

const REQUEST = { vcpus: 1, duration: 60, access_pub_key: hashOf('k') };

describe('errors are typed, with the node’s code and retryable', () => {
  it('404 LEASE_NOT_FOUND', async () => {
    peer.json('GET', `/leases/${H}`, 404, `{"error":"lease ${H} not found","code":"LEASE_NOT_FOUND","retryable":false}`);
    const err = await failure(client.getLease(H));
    expect([err.status, err.code, err.retryable, err.message]).toEqual([404, 'LEASE_NOT_FOUND', false, `lease ${H} not found`]);
  });

  it('503 from a block refusal is retryable', async () => {
    peer.json('POST', '/blocks', 503, '{"error":"source not yet known","code":"UNKNOWN_SOURCE","retryable":true}');
    const { sendBlock } = await import('../support/bodies.js');
    const err = await failure(client.submitBlock(sendBlock() as never));
    expect([err.status, err.code, err.retryable]).toEqual([503, 'UNKNOWN_SOURCE', true]);
  });

  it('504 of a lease request carries lease_hash', async () => {
    peer.json('POST', '/lease/request', 504, `{"error":"no accept within 600 s","code":"ACCEPT_TIMEOUT","retryable":false,"lease_hash":"${H}"}`);
    const err = await failure(client.requestLease(REQUEST));
    expect([err.status, err.code, err.lease_hash]).toEqual([504, 'ACCEPT_TIMEOUT', H]);
  });

  it('409 of an early cancel carries opens_at exactly', async () => {
    peer.json('POST', `/leases/${H}/cancel`, 409, '{"error":"cancel window opens later","code":"LEASE_NOT_CANCELLABLE","retryable":true,"opens_at":1709500180000000001}');
    const err = await failure(client.cancelLease(H));
    expect([err.status, err.code, err.retryable, err.opens_at]).toEqual([409, 'LEASE_NOT_CANCELLABLE', true, 1709500180000000001n]);
  });

  it('an error body without retryable (an older node) reads retryable from the status', async () => {
    peer.json('GET', '/providers', 429, '{"error":"rate limited","code":"RATE_LIMITED"}');
    const err = await failure(client.listProviders());
    expect([err.status, err.code, err.retryable]).toEqual([429, 'RATE_LIMITED', true]);
  });

  it('a proxy’s page is HTTP_ERROR', async () => {
    peer.on('GET', '/vms', { status: 502, body: '<html>bad gateway</html>', contentType: 'text/html' });
    const err = await failure(client.listVms());
    expect([err.status, err.code, err.retryable]).toEqual([502, 'HTTP_ERROR', true]);
  });

  it('an answer off the contract is INVALID_RESPONSE; with validate: false it is returned as read', async () => {
    peer.json('GET', `/leases/${H}`, 200, text({ ...lease(), cost: -1 }));
    const err = await failure(client.getLease(H));
    expect([err.status, err.code]).toEqual([200, 'INVALID_RESPONSE']);
    expect(err.message).toContain('cost');
    const lenient = new XeClient({ baseUrl: peer.url, validate: false });
    expect((await lenient.getLease(H)).cost).toBe(-1n);
    peer.json('GET', `/leases/${H}`, 200, '{"lease_hash": nope}');
    expect((await failure(lenient.getLease(H))).code).toBe('INVALID_RESPONSE');
  });

  it('an input the contract refuses is a coded error naming the field (as the node would answer), and nothing is sent', async () => {
    const before = peer.received.length;
    const bad = await failure(client.getLease(H.toUpperCase()));
    expect([bad.status, bad.code, bad.field]).toEqual([0, ErrorCodes.INVALID_FIELD, 'hash']);
    const zero = await failure(client.requestLease({ duration: 60, access_pub_key: hashOf('k') }));
    expect([zero.code, zero.field]).toEqual([ErrorCodes.INVALID_RESOURCES, 'vcpus']);
    const unknown = await failure(client.exec(H, { command: 'true', gpu: 1 } as never));
    expect([unknown.code, unknown.field]).toEqual([ErrorCodes.UNKNOWN_FIELD, 'gpu']);
    const limit = await failure(client.listLeases({ limit: 1001 }));
    expect([limit.code, limit.field]).toEqual([ErrorCodes.INVALID_FIELD, 'limit']);
    expect(peer.received.length).toBe(before);
  });

  it('an answer over maxResponseBytes is RESPONSE_TOO_LARGE', async () => {
    peer.json('GET', '/conflicts', 200, `[${'{},'.repeat(10_000)}{}]`);
    const small = new XeClient({ baseUrl: peer.url, maxResponseBytes: 1024 });
    expect((await failure(small.listConflicts())).code).toBe('RESPONSE_TOO_LARGE');
  });

  it('the operator token goes to operator routes only', async () => {
    peer.json('POST', '/lease/request', 200, `{"lease_hash":"${H}"}`);
    await client.requestLease(REQUEST);
    expect(peer.last().headers.authorization).toBe('Bearer t');
    peer.json('GET', '/health', 200, '{"status":"ok"}');
    await client.health();
    expect(peer.last().headers.authorization).toBeUndefined();
  });
});

describe('abort and timeout', () => {
  it('a call past its timeout rejects with TIMEOUT (retryable)', async () => {
    peer.on('GET', '/node', { status: 200, hang: true });
    const started = Date.now();
    const err = await failure(client.node({ timeoutMs: 150 }));
    expect([err.status, err.code, err.retryable]).toEqual([0, ErrorCodes.TIMEOUT, true]);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('an aborted call rejects with ABORTED, before or during the request', async () => {
    peer.on('GET', '/node', { status: 200, hang: true });
    const controller = new AbortController();
    const pending = client.node({ signal: controller.signal });
    setImmediate(() => controller.abort());
    const err = await failure(pending);
    expect([err.code, err.retryable]).toEqual([ErrorCodes.ABORTED, false]);
    expect((await failure(client.node({ signal: AbortSignal.abort() }))).code).toBe(ErrorCodes.ABORTED);
  });

  it('no server is NETWORK_ERROR (retryable)', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const err = await failure(new XeClient({ baseUrl: `http://127.0.0.1:${port}` }).health());
    expect([err.status, err.code, err.retryable]).toEqual([0, 'NETWORK_ERROR', true]);
  });
});
