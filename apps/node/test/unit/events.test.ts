import { describe, expect, it } from '@jest/globals';
import type { EventSubscription } from '@xe/api-server';
import { EventHub } from '../../src/events.js';
import { FakeClock } from '../support/fake-clock.js';

const T0 = 1_800_000_000_000_000_000n;

function hub(options: ConstructorParameters<typeof EventHub>[0] = {}) {
  const fake = new FakeClock(T0);
  return { fake, hub: new EventHub(options, { clock: fake.clock, timers: fake.timers }) };
}

interface Parsed {
  id: string | undefined;
  event: string;
  data: string;
}

function parse(text: string): Parsed[] {
  return text
    .split('\n\n')
    .filter((b) => b !== '' && !b.startsWith(':'))
    .map((b) => {
      const f = Object.fromEntries(b.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
      return { id: f.id, event: f.event, data: f.data };
    });
}

/** Everything the subscription has now (its `next` answers without waiting). */
async function drain(s: EventSubscription): Promise<Parsed[]> {
  const out: Parsed[] = [];
  for (;;) {
    const text = await Promise.race([s.next(), new Promise<null>((r) => setImmediate(() => r(null)))]);
    if (text === null || text === undefined) return out;
    out.push(...parse(text));
  }
}

describe('EventHub', () => {
  it('gives increasing ids from the clock (µs) and hands events over in order, in bounded batches', async () => {
    const { hub: h } = hub({ batchBytes: 200 });
    const s = h.subscribe(undefined);
    for (let i = 0; i < 10; i++) h.publish('lease', { n: i });
    const first = await s.next();
    expect(Buffer.byteLength(first!)).toBeLessThanOrEqual(200);
    const got = [...parse(first!), ...(await drain(s))];
    expect(got.map((e) => e.data)).toEqual([...Array(10).keys()].map((i) => `{"n":${i}}`));
    expect(got.map((e) => BigInt(e.id!))).toEqual([...Array(10).keys()].map((i) => T0 / 1000n + BigInt(i + 1)));
    expect(got.every((e) => e.event === 'lease')).toBe(true);
  });

  it('wakes a waiting client on publish', async () => {
    const { hub: h } = hub();
    const s = h.subscribe(undefined);
    const waiting = s.next();
    h.publish('block', { hash: 'a' });
    expect(parse((await waiting)!)).toEqual([{ id: String(h.lastId), event: 'block', data: '{"hash":"a"}' }]);
  });

  it('resumes after Last-Event-ID with nothing missed; an id older than the ring, or from another run, gets reset', async () => {
    const { hub: h } = hub({ ringEvents: 5 });
    const ids = [...Array(8).keys()].map((i) => h.publish('vm', { n: i })!);
    // the ring keeps the last 5 (ids[3..7]): resuming after ids[2] misses nothing
    const resumed = await drain(h.subscribe(ids[2]));
    expect(resumed.map((e) => e.id)).toEqual(ids.slice(3).map(String));
    expect((await drain(h.subscribe(ids[7]))).length).toBe(0);
    for (const old of [ids[1]!, ids[0]! - 100n, ids[7]! + 1n]) {
      const r = await drain(h.subscribe(old));
      expect(r).toEqual([{ id: String(ids[7]), event: 'reset', data: '{}' }]);
    }
  });

  it('a resumed backlog does not count toward the client queue', async () => {
    const { hub: h } = hub({ ringEvents: 5000, clientEvents: 10 });
    const first = h.publish('lease', { n: 0 })!;
    for (let i = 1; i < 3000; i++) h.publish('lease', { n: i });
    const s = h.subscribe(first - 1n);
    h.publish('lease', { n: 3000 });
    expect(h.stats().overflows).toBe(0);
    const got = await drain(s);
    expect(got.length).toBe(3001);
    expect(got.map((e) => e.data)).toEqual([...Array(3001).keys()].map((i) => `{"n":${i}}`));
  });

  it('a client that does not read overflows at 1,000 events: its queue never passes the bound, then overflow and the end', async () => {
    const { hub: h } = hub();
    let overflowed = 0;
    const s = h.subscribe(undefined, () => overflowed++);
    let maxQueued = 0;
    for (let i = 0; i < 5000; i++) {
      h.publish('lease', { n: i });
      maxQueued = Math.max(maxQueued, h.stats().maxQueuedEvents);
    }
    expect(maxQueued).toBe(1000);
    expect(overflowed).toBe(1);
    expect(h.stats().maxQueuedEvents).toBe(0);
    expect(await s.next()).toBe('event: overflow\ndata: {}\n\n');
    expect(await s.next()).toBeUndefined();
    expect(h.stats().subscribers).toBe(0);
  });

  it('and at 1 MiB of queued text', async () => {
    const { hub: h } = hub();
    let overflowed = 0;
    h.subscribe(undefined, () => overflowed++);
    const big = 'x'.repeat(100 * 1024);
    let maxBytes = 0;
    for (let i = 0; i < 20 && overflowed === 0; i++) {
      h.publish('vm', { big });
      maxBytes = Math.max(maxBytes, h.stats().maxQueuedBytes);
    }
    expect(overflowed).toBe(1);
    expect(maxBytes).toBeLessThanOrEqual(1024 * 1024);
    expect(maxBytes).toBeGreaterThan(900 * 1024);
  });

  it('keeps the ring within its byte bound', () => {
    const { hub: h } = hub({ ringBytes: 10_000 });
    for (let i = 0; i < 1000; i++) h.publish('lease', { pad: 'y'.repeat(100) });
    expect(h.stats().ringBytes).toBeLessThanOrEqual(10_000);
    expect(h.stats().ringEvents).toBeGreaterThan(50);
  });

  it('sends a heartbeat comment after 15 s idle (fake clock)', async () => {
    const { hub: h, fake } = hub();
    const s = h.subscribe(undefined);
    const waiting = s.next();
    expect(fake.dueInMs()).toEqual([15_000]);
    await fake.advance(14_999);
    await fake.advance(1);
    expect(await waiting).toBe(': heartbeat\n\n');
    expect(fake.dueInMs()).toEqual([]);
  });

  it('refuses subscriptions past maxSubscribers with overflow', async () => {
    const { hub: h } = hub({ maxSubscribers: 2 });
    h.subscribe(undefined);
    h.subscribe(undefined);
    let overflowed = false;
    const third = h.subscribe(undefined, () => {
      overflowed = true;
    });
    expect(overflowed).toBe(true);
    expect(await third.next()).toBe('event: overflow\ndata: {}\n\n');
    expect(await third.next()).toBeUndefined();
    expect(h.stats().subscribers).toBe(2);
  });

  it('ends every stream on close, and a later one at once; a closed client is forgotten', async () => {
    const { hub: h, fake } = hub();
    const a = h.subscribe(undefined);
    const waiting = a.next();
    const b = h.subscribe(undefined);
    b.close();
    expect(h.stats().subscribers).toBe(1);
    h.close();
    expect(await waiting).toBeUndefined();
    expect(fake.dueInMs()).toEqual([]);
    expect(await h.subscribe(undefined).next()).toBeUndefined();
    expect(h.publish('lease', {})).toBeUndefined();
    expect(h.stats().subscribers).toBe(0);
  });
});
