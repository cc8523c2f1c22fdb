import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { waitUntil } from '@xe/core-types';
import { type ApiServer, createApp, type EventSubscription, HttpMetrics, startApiServer } from '../../src/index.js';
import { OVERFLOW_CLOSE_MS } from '../../src/routes/events.js';
import { FakeDeps } from '../support/fake-deps.js';
import { FakeTunnelVerifier } from '../support/fake-tunnel-auth.js';

const FRAME = `event: vm\ndata: "${'x'.repeat(16 * 1024)}"\n\n`;

/** A feed without end: every `next` answers a 16 KiB event at once. Counts what the route pulled. */
class EndlessFeed extends FakeDeps {
  pulled = 0;
  closed = 0;
  overflow: (() => void) | undefined;

  override subscribeEvents(_last: bigint | undefined, onOverflow: () => void = () => undefined): EventSubscription {
    this.overflow = onOverflow;
    let done = false;
    return {
      next: async () => {
        if (done) return undefined;
        this.pulled++;
        return FRAME;
      },
      close: () => {
        if (!done) this.closed++;
        done = true;
      },
    };
  }
}

function openStream(url: string): Promise<Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname, () => {
      s.write(`GET /events HTTP/1.1\r\nHost: ${u.host}\r\nAccept: text/event-stream\r\n\r\n`);
      resolve(s);
    });
    s.on('error', reject);
  });
}

describe('GET /events over a real socket', () => {
  let deps: EndlessFeed;
  let api: ApiServer;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    deps = new EndlessFeed();
    const tunnelAuth = new FakeTunnelVerifier(deps.params.lease.max_attestation_skew_ns);
    const metrics = new HttpMetrics();
    api = await startApiServer(createApp(deps, { rateLimit: false, tunnelAuth, metrics }), { deps, tunnelAuth, metrics });
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await api.close();
  });

  it('pulls from the feed only as fast as the client reads: a client that does not read stops the pulls', async () => {
    const s = await openStream(api.url);
    sockets.push(s);
    s.pause(); // never reads
    // the pulls fill the socket buffers, then stop: the rest stays in the feed (which bounds it)
    let last = -1;
    await waitUntil(
      async () => {
        const now = deps.pulled;
        const settled = now === last && now > 0;
        last = now;
        await new Promise((r) => setTimeout(r, 200));
        return settled;
      },
      { timeoutMs: 10_000, what: 'the pulls to stop' },
    );
    // bounded by the socket buffers (node's and the kernel's), not by the feed
    expect(deps.pulled * FRAME.length).toBeLessThan(32 * 1024 * 1024);
    const stopped = deps.pulled;
    await new Promise((r) => setTimeout(r, 300));
    expect(deps.pulled).toBe(stopped);

    // a reading client takes everything again
    let got = 0;
    s.on('data', (b: Buffer) => {
      got += b.length;
    });
    s.resume();
    await waitUntil(async () => deps.pulled > stopped + 100, { timeoutMs: 10_000, what: 'pulls after reading resumed' });
    expect(got).toBeGreaterThan(0);
  });

  it('cuts off, after an overflow, a client that does not take even the overflow event', async () => {
    const before = deps.closed;
    deps.overflow = undefined;
    const pulled = deps.pulled;
    const s = await openStream(api.url);
    sockets.push(s);
    s.pause();
    await waitUntil(async () => deps.overflow !== undefined && deps.pulled > pulled + 10, { timeoutMs: 5000, what: 'the stream open' });
    const connections = () => new Promise<number>((r, j) => api.server.getConnections((e, n) => (e ? j(e) : r(n))));
    const open = await connections();
    const t0 = Date.now();
    deps.overflow!();
    // the server drops the connection (the subscription closes with it), though the client never read
    await waitUntil(async () => deps.closed === before + 1, { timeoutMs: OVERFLOW_CLOSE_MS + 3000, what: 'the connection cut off' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(OVERFLOW_CLOSE_MS - 50);
    expect(await connections()).toBe(open - 1);
  });

  it('closes the subscription when the client goes away', async () => {
    const before = deps.closed;
    const pulled = deps.pulled;
    const s = await openStream(api.url);
    await waitUntil(async () => deps.pulled > pulled, { timeoutMs: 5000, what: 'the stream open' });
    s.destroy();
    await waitUntil(async () => deps.closed === before + 1, { timeoutMs: 5000, what: 'the subscription closed' });
  });
});
