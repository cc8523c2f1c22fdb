import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { XeError, waitUntil } from '@xe/core-types';
import type { GossipNode } from '../../src/index.js';
import { keyFor } from '../support/chain.mjs';
import { Nodes } from '../support/nodes.js';

function collect(duplex: Duplex, bytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    duplex.on('data', (d: Buffer) => {
      parts.push(d);
      n += d.length;
      if (n >= bytes) resolve(Buffer.concat(parts));
    });
    duplex.on('error', reject);
    duplex.on('end', () => resolve(Buffer.concat(parts)));
  });
}

describe('request/response and raw streams', () => {
  const nodes = new Nodes();
  let a: GossipNode;
  let b: GossipNode;

  beforeAll(async () => {
    a = nodes.make('RA');
    a.handle('/xe/vminfo/1.0.0', async (req) => ({ echo: req }));
    a.handle('/test/slow/1.0.0', (_req, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))), { timeoutMs: 60_000 });
    a.handle('/test/big/1.0.0', async () => ({ blob: 'x'.repeat(200_000) }));
    a.handle('/test/limited/1.0.0', async () => 'ok', { ratePerMinute: 2 });
    a.handle('/test/coded/1.0.0', async () => {
      throw new XeError('UNKNOWN_LEASE', 'lease not known here');
    });
    a.handle('/test/crash/1.0.0', async () => {
      throw new Error('secret internals');
    });
    a.handleStream('/xe/tunnel/1.0.0', (duplex) => {
      duplex.pipe(duplex);
    });
    await a.start();
    b = await nodes.start('RB', { bootstrap: a.multiaddrs(), redialMinMs: 100 });
    await waitUntil(() => b.helloPeerIds().includes(a.peerId), { timeoutMs: 15_000, what: 'hello' });
  });

  afterAll(() => nodes.stopAll());

  it('round-trips JSON with exact integers', async () => {
    const big = 2n ** 63n + 7n;
    expect(await b.request(a.peerId, '/xe/vminfo/1.0.0', { n: big, s: 'é' })).toEqual({ echo: { n: big, s: 'é' } });
  });

  it('times out, honours an AbortSignal, and caps the response size', async () => {
    await expect(b.request(a.peerId, '/test/slow/1.0.0', {}, { timeoutMs: 300 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    const ac = new AbortController();
    const p = b.request(a.peerId, '/test/slow/1.0.0', {}, { signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(b.request(a.peerId, '/test/big/1.0.0', {}, { maxResponseBytes: 100_000 })).rejects.toMatchObject({ code: 'RESPONSE_TOO_LARGE' });
    expect(await b.request(a.peerId, '/test/big/1.0.0', {}, { maxResponseBytes: 300_000 })).toMatchObject({ blob: expect.any(String) });
  });

  it('rate-limits per peer and carries coded remote errors', async () => {
    expect(await b.request(a.peerId, '/test/limited/1.0.0', {})).toBe('ok');
    expect(await b.request(a.peerId, '/test/limited/1.0.0', {})).toBe('ok');
    await expect(b.request(a.peerId, '/test/limited/1.0.0', {})).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    await expect(b.request(a.peerId, '/test/coded/1.0.0', {})).rejects.toMatchObject({
      code: 'REMOTE_ERROR',
      remoteCode: 'UNKNOWN_LEASE',
      remoteMessage: 'lease not known here',
    });
    const crash = b.request(a.peerId, '/test/crash/1.0.0', {});
    await expect(crash).rejects.toMatchObject({ code: 'REMOTE_ERROR', remoteCode: 'INTERNAL', remoteMessage: 'internal error' });
    expect(a.counter('xe_requests_served_total', { protocol: '/test/limited/1.0.0', result: 'rate_limited' })).toBe(1);
  });

  it('reports unreachable targets with codes', async () => {
    await expect(b.request(keyFor('nobody').address, '/xe/vminfo/1.0.0', {})).rejects.toMatchObject({ code: 'NODE_NOT_FOUND' });
    const ghost = nodes.make('ghost');
    await ghost.start();
    const ghostId = ghost.peerId;
    await ghost.stop();
    await expect(b.request(ghostId, '/xe/vminfo/1.0.0', {}, { timeoutMs: 3000 })).rejects.toMatchObject({ code: 'PEER_UNREACHABLE' });
    await expect(b.request(a.peerId, '/not/handled/1.0.0', {})).rejects.toMatchObject({ code: 'PEER_UNREACHABLE' });
  });

  it('redials a bootstrap peer when the connection drops', async () => {
    const helloAgain = new Promise((resolve) => b.once('peer:hello', resolve));
    await a.hangUp(b.peerId);
    expect(await helloAgain).toMatchObject({ peerId: a.peerId });
    expect(b.helloPeerIds()).toEqual([a.peerId]);
  });

  it('carries 10 MB byte-exact both ways through a tunnel stream', async () => {
    const payload = randomBytes(10 * 1024 * 1024);
    const duplex = await b.openStream(a.peerId, '/xe/tunnel/1.0.0');
    const received = collect(duplex, payload.length);
    let offset = 0;
    const chunk = 64 * 1024;
    await new Promise<void>((resolve, reject) => {
      const pump = () => {
        while (offset < payload.length) {
          const ok = duplex.write(payload.subarray(offset, offset + chunk));
          offset += chunk;
          if (!ok) {
            duplex.once('drain', pump);
            return;
          }
        }
        duplex.end(resolve);
      };
      duplex.once('error', reject);
      pump();
    });
    const echoed = await received;
    expect(echoed.length).toBe(payload.length);
    expect(echoed.equals(payload)).toBe(true);
    await new Promise<void>((resolve) => (duplex.readableEnded ? resolve() : duplex.once('end', () => resolve())));
  });
});
