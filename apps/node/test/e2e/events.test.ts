import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { XeClient, type XeEvent } from '@xe/client';
import { silentLogger, waitUntil } from '@xe/core-types';
import { loadConfig, parseStartArgs } from '../../src/config.js';
import { devnetNodeArgs, prepareDevnet } from '../../src/devnet.js';
import type { EventHub } from '../../src/events.js';
import { XeNode } from '../../src/xe-node.js';

/**
 * GET /events of one real node in this process (node 0 of a devnet: LevelDB, libp2p and the
 * HTTP API on 127.0.0.1), with real sockets; the hub is read directly to measure its queues.
 */
let dir: string;
let node: XeNode;
let hub: EventHub;
let base: URL;
let config: ReturnType<typeof loadConfig>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xe-events-'));
  const basePort = 21000 + Math.floor(Math.random() * 900) * 10;
  const prepared = await prepareDevnet({ dir, nodes: 3, basePort, fresh: false, logLevel: 'warn' });
  config = loadConfig(parseStartArgs(devnetNodeArgs(prepared, 0, 'warn').slice(1)), { XE_OPERATOR_TOKEN: prepared.info.operator_token });
  node = XeNode.fromConfig(config, { logger: silentLogger });
  await node.start();
  hub = node.eventHub!;
  base = new URL(node.apiUrl!);
});

afterAll(async () => {
  await node?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A raw HTTP/1.1 GET /events; the caller decides whether it reads. */
function rawStream(lastEventId?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(Number(base.port), base.hostname, () => {
      s.write(`GET /events HTTP/1.1\r\nHost: ${base.host}\r\n${lastEventId ? `Last-Event-ID: ${lastEventId}\r\n` : ''}\r\n`);
      resolve(s);
    });
    s.on('error', reject);
  });
}

/** Reads a stream's events (`id` and `event`), in order. */
function reader(s: Socket): { events: Array<{ id: string | undefined; event: string }>; ended: Promise<void> } {
  const events: Array<{ id: string | undefined; event: string }> = [];
  let buf = '';
  s.setEncoding('utf8');
  s.on('data', (chunk: string) => {
    buf += chunk;
    let i = buf.indexOf('\n\n');
    while (i >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const f = Object.fromEntries(block.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
      if (f.event !== undefined) events.push({ id: f.id, event: f.event });
      i = buf.indexOf('\n\n');
    }
  });
  return { events, ended: new Promise((r) => s.once('close', () => r())) };
}

const PAD = 'p'.repeat(1000);

describe('GET /events of a running node', () => {
  it('keeps a client that does not read within 1,000 events / 1 MiB of queue, overflows and drops it; a reading client gets every event in order', async () => {
    const slow = await rawStream();
    slow.pause(); // never reads
    const fast = await rawStream();
    const got = reader(fast);
    await waitUntil(async () => hub.stats().subscribers === 2, { timeoutMs: 5000, what: 'two subscribers' });

    const first = hub.lastId + 1n;
    const total = 20_000; // ~20 MB of events: far more than the slow socket's buffers take
    let maxEvents = 0;
    let maxBytes = 0;
    for (let i = 0; i < total; i++) {
      hub.publish('vm', { n: i, pad: PAD });
      const st = hub.stats();
      maxEvents = Math.max(maxEvents, st.maxQueuedEvents);
      maxBytes = Math.max(maxBytes, st.maxQueuedBytes);
      // let the reading client keep up; the slow one cannot
      if (i % 200 === 199) await new Promise((r) => setTimeout(r, 5));
    }
    console.log(`largest client queue: ${maxEvents} events, ${maxBytes} bytes; overflows: ${hub.stats().overflows}`);
    expect(maxEvents).toBeLessThanOrEqual(1000);
    expect(maxBytes).toBeLessThanOrEqual(1024 * 1024);
    expect(hub.stats().overflows).toBe(1);
    // the node cuts the slow client off (it never takes even the overflow event)
    await waitUntil(async () => hub.stats().subscribers === 1, { timeoutMs: 10_000, what: 'the slow client dropped' });

    await waitUntil(async () => got.events.length >= total, { timeoutMs: 30_000, what: 'every event at the reading client' });
    expect(got.events.length).toBe(total);
    got.events.forEach((e, i) => {
      expect(e.id).toBe(String(first + BigInt(i)));
    });
    fast.destroy();
    slow.destroy();
    await waitUntil(async () => hub.stats().subscribers === 0, { timeoutMs: 5000, what: 'no subscribers' });
  });

  it('resumes with Last-Event-ID from the ring with nothing missed; an id older than the ring gets reset', async () => {
    const ids = [...Array(10).keys()].map((i) => hub.publish('vm', { n: i })!);
    const s = await rawStream(String(ids[3]));
    const r = reader(s);
    await waitUntil(async () => r.events.length >= 6, { timeoutMs: 5000, what: 'the resumed events' });
    expect(r.events.map((e) => e.id)).toEqual(ids.slice(4).map(String));
    s.destroy();
    // the ring keeps 10,000 events: the first test's earliest ones are gone
    const old = await rawStream(String(ids[0]! - 20_000n));
    const o = reader(old);
    await waitUntil(async () => o.events.length >= 1, { timeoutMs: 5000, what: 'the reset' });
    expect(o.events[0]).toEqual({ id: String(hub.lastId), event: 'reset' });
    old.destroy();
  });

  it('ends open streams cleanly when the node stops', async () => {
    const s = await rawStream();
    const r = reader(s);
    await waitUntil(async () => hub.stats().subscribers >= 1, { timeoutMs: 5000, what: 'a subscriber' });
    const t0 = Date.now();
    await node.stop();
    await r.ended;
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(hub.stats().subscribers).toBe(0);
  });

  it("a client with resume reconnects after a restart and gets reset (the new run's ids are all later), then the new events", async () => {
    node = XeNode.fromConfig(config, { logger: silentLogger });
    await node.start();
    hub = node.eventHub!;
    const client = new XeClient({ baseUrl: node.apiUrl!, timeoutMs: 5000 });
    const controller = new AbortController();
    const seen: XeEvent[] = [];
    const reading = (async () => {
      try {
        for await (const e of client.events({ signal: controller.signal, resume: { delayMs: 100, attempts: 100 } })) seen.push(e);
      } catch {}
    })();
    await waitUntil(async () => hub.stats().subscribers === 1, { timeoutMs: 5000, what: 'the client connected' });
    const before = hub.publish('vm', { lease_hash: 'a'.repeat(64), status: 'running', resources: { vcpus: 1, memory_mb: 1, disk_gb: 1 }, created_at: 1 })!;
    await waitUntil(async () => seen.length === 1, { timeoutMs: 5000, what: 'the first event' });

    await node.stop();
    node = XeNode.fromConfig(config, { logger: silentLogger });
    await node.start();
    hub = node.eventHub!;
    await waitUntil(async () => seen.length === 2, { timeoutMs: 10_000, what: 'the reset after the reconnect' });
    const after = hub.publish('vm', { lease_hash: 'b'.repeat(64), status: 'running', resources: { vcpus: 1, memory_mb: 1, disk_gb: 1 }, created_at: 2 })!;
    await waitUntil(async () => seen.length === 3, { timeoutMs: 5000, what: 'the event of the new run' });
    controller.abort();
    await reading;
    expect(seen.map((e) => [e.event, e.id])).toEqual([
      ['vm', String(before)],
      ['reset', String(after - 1n)],
      ['vm', String(after)],
    ]);
    expect(after > before).toBe(true);
  });
});
