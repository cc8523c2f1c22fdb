import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ErrorCodes } from '@xe/core-types';
import { XeApiError, XeClient, type XeEvent } from '../../src/index.js';
import { H, lease, sendBlock, text, U64_MAX, vm } from '../support/bodies.js';
import { Peer } from '../support/peer.js';

const peer = new Peer();
let client: XeClient;

beforeAll(async () => {
  await peer.start();
  client = new XeClient({ baseUrl: peer.url, timeoutMs: 5000 });
});
afterAll(() => peer.stop());

const SSE = 'text/event-stream';

describe('GET /events', () => {
  it('yields checked events in order, across split chunks, skipping kinds it does not know', async () => {
    const blockLine = `id: 1\nevent: block\ndata: ${text({ ...sendBlock(), confirmed: false })}\n\n`;
    const cut = Math.floor(blockLine.length / 2);
    peer.on('GET', '/events', {
      status: 200,
      contentType: SSE,
      chunks: [
        ': hello\n\n',
        blockLine.slice(0, cut),
        blockLine.slice(cut),
        `id: 2\nevent: confirmed\ndata: {"hash":"${H}","account":"${H}"}\n\n`,
        'id: 3\nevent: gossip-stats\ndata: {"x":1}\n\n',
        `id: 4\nevent: lease\ndata: ${text(lease())}\n\nid: 5\nevent: vm\ndata: ${text(vm())}\n\n`,
      ],
    });
    const controller = new AbortController();
    const seen: XeEvent[] = [];
    for await (const e of client.events({ signal: controller.signal, lastEventId: '0' })) {
      seen.push(e);
      if (seen.length === 4) break;
    }
    expect(peer.last().headers['last-event-id']).toBe('0');
    expect(peer.last().headers.accept).toBe(SSE);
    expect(seen.map((e) => [e.id, e.event])).toEqual([
      ['1', 'block'],
      ['2', 'confirmed'],
      ['4', 'lease'],
      ['5', 'vm'],
    ]);
    const block = seen[0]!;
    if (block.event !== 'block') throw new Error('expected a block event');
    expect(block.data.balance).toBe(U64_MAX);
    const l = seen[2]!;
    if (l.event !== 'lease') throw new Error('expected a lease event');
    expect(l.data.start_time).toBe(1709500180000000001n);
  });

  it('an abort during the stream ends the iterator with ABORTED', async () => {
    peer.on('GET', '/events', { status: 200, contentType: SSE, chunks: [`id: 9\nevent: vm\ndata: ${text(vm())}\n\n`] });
    const controller = new AbortController();
    const events = client.events({ signal: controller.signal });
    const first = await events.next();
    expect(first.done).toBe(false);
    const second = events.next();
    controller.abort();
    await expect(second).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
  });

  it('a refused stream is a typed error; a stream that does not open in time is TIMEOUT', async () => {
    peer.json('GET', '/events', 429, '{"error":"too many streams","code":"RATE_LIMITED","retryable":true}');
    await expect(client.events().next()).rejects.toMatchObject({ status: 429, code: 'RATE_LIMITED', retryable: true });
    peer.on('GET', '/events', { status: 200, hang: true });
    await expect(client.events({ timeoutMs: 100 }).next()).rejects.toMatchObject({ code: ErrorCodes.TIMEOUT });
  });

  it('an event whose data breaks the contract is INVALID_RESPONSE', async () => {
    peer.on('GET', '/events', { status: 200, contentType: SSE, chunks: ['id: 1\nevent: lease\ndata: {"lease_hash":"x"}\n\n'] });
    const err = await client
      .events()
      .next()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XeApiError);
    expect((err as XeApiError).code).toBe('INVALID_RESPONSE');
  });

  it('with resume, reconnects after the stream ends, sending the last id seen as Last-Event-ID', async () => {
    const vmLine = (id: number) => `id: ${id}\nevent: vm\ndata: ${text(vm())}\n\n`;
    peer.on('GET', '/events', { status: 200, contentType: SSE, chunks: [vmLine(7), 'event: overflow\ndata: {}\n\n'], end: true });
    const before = peer.received.length;
    const controller = new AbortController();
    const seen: XeEvent[] = [];
    for await (const e of client.events({ signal: controller.signal, resume: { delayMs: 10 } })) {
      seen.push(e);
      if (seen.length === 6) break;
    }
    expect(seen.map((e) => [e.id, e.event])).toEqual([
      ['7', 'vm'],
      [undefined, 'overflow'],
      ['7', 'vm'],
      [undefined, 'overflow'],
      ['7', 'vm'],
      [undefined, 'overflow'],
    ]);
    // the first request without Last-Event-ID, each reconnect with the id of the last event (overflow has none)
    expect(peer.received.slice(before).map((r) => r.headers['last-event-id'])).toEqual([undefined, '7', '7']);
  });

  it('with resume, gives up after `attempts` retryable failures in a row with the last error; a non-retryable one ends it at once', async () => {
    peer.json('GET', '/events', 503, '{"error":"starting","code":"NOT_READY","retryable":true}');
    const before = peer.received.length;
    await expect(client.events({ resume: { attempts: 2, delayMs: 10 } }).next()).rejects.toMatchObject({ status: 503, code: 'NOT_READY' });
    expect(peer.received.length - before).toBe(3);
    peer.json('GET', '/events', 400, '{"error":"bad","code":"INVALID_FIELD","retryable":false}');
    const again = peer.received.length;
    await expect(client.events({ resume: { attempts: 5, delayMs: 10 } }).next()).rejects.toMatchObject({ status: 400 });
    expect(peer.received.length - again).toBe(1);
    // an abort while waiting to reconnect ends it with ABORTED
    peer.json('GET', '/events', 503, '{"error":"starting","code":"NOT_READY","retryable":true}');
    const controller = new AbortController();
    const pending = client.events({ signal: controller.signal, resume: { delayMs: 60_000 } }).next();
    await new Promise((r) => setTimeout(r, 100));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
  });
});

describe('POST /tunnel/{leaseHash}/tcp', () => {
  const credentials = { timestamp: 1709500180000000001n, signature: 'ab'.repeat(64) };

  it('answers 101 and hands over the raw byte stream', async () => {
    peer.upgradeEcho = true;
    const socket: Duplex = await client.openTunnel(H, credentials);
    const got = peer.last();
    expect([got.method, got.url, got.headers['x-timestamp'], got.headers['x-signature'], got.headers.upgrade]).toEqual([
      'POST',
      `/tunnel/${H}/tcp`,
      '1709500180000000001',
      'ab'.repeat(64),
      'tcp',
    ]);
    const echoed = new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString())));
    socket.write('SSH-2.0-test\r\n');
    expect(await echoed).toBe('SSH-2.0-test\r\n');
    socket.destroy();
  });

  it('a refusal is a typed error with the node’s code', async () => {
    peer.upgradeEcho = false;
    await expect(client.openTunnel(H, credentials)).rejects.toMatchObject({ status: 401, code: 'TUNNEL_AUTH_MISSING', retryable: false });
    await expect(client.openTunnel(H, { ...credentials, signature: 'zz' })).rejects.toMatchObject({ code: ErrorCodes.INVALID_FIELD, status: 0 });
  });
});
