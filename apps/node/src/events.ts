import type { EventSubscription } from '@xe/api-server';
import { type Clock, type JsonValue, type Logger, silentLogger, stringifyJson, systemClock } from '@xe/core-types';
import { type Ledger, type LeaseRecord, toApiLease } from '@xe/ledger';
import { confirmedViewOf } from './confirmed.js';
import type { VmManager } from '@xe/lima-provider';
import type { Metrics } from './metrics.js';
import { systemTimers } from './services/scheduler.js';
import type { Timers } from './services/ports.js';

/** The events of `GET /events` that the node publishes (`reset` and `overflow` are per client). */
export type HubEventName = 'block' | 'confirmed' | 'lease' | 'vm';

export interface EventHubOptions {
  /** events kept for `Last-Event-ID` resume (default 10,000) */
  ringEvents?: number;
  /** bytes of event text kept for resume (default 4 MiB) */
  ringBytes?: number;
  /** events queued for one client before it overflows (default 1,000) */
  clientEvents?: number;
  /** bytes queued for one client before it overflows (default 1 MiB) */
  clientBytes?: number;
  /** most text handed to a client's connection at once (default 64 KiB; one event may exceed it) */
  batchBytes?: number;
  /** idle time before a heartbeat comment (default 15 s) */
  heartbeatMs?: number;
  /** open subscriptions at most (default 1,000); one more gets `overflow` at once */
  maxSubscribers?: number;
}

export interface EventHubComponents {
  clock?: Clock;
  timers?: Timers;
  logger?: Logger;
  metrics?: Metrics;
}

interface Entry {
  id: bigint;
  frame: string;
  bytes: number;
  /** bytes of every event published before this one in this run */
  before: number;
}

export interface EventHubStats {
  subscribers: number;
  ringEvents: number;
  ringBytes: number;
  /** the longest client queue: events published but not yet handed to its connection */
  maxQueuedEvents: number;
  maxQueuedBytes: number;
  overflows: number;
}

const OVERFLOW_FRAME = 'event: overflow\ndata: {}\n\n';
const HEARTBEAT = ': heartbeat\n\n';

class Subscriber implements EventSubscription {
  /** the id of the next event to hand over */
  cursor: bigint;
  /** events up to this id were published before the client joined: its backlog, which does not count toward its queue */
  readonly joined: bigint;
  /** text to hand over before any event (`reset`, `overflow`) */
  pending: string | undefined;
  overflowed = false;
  ended = false;
  private wake: ((text: string | undefined) => void) | undefined;
  private cancelHeartbeat: (() => void) | undefined;

  constructor(
    private readonly hub: EventHub,
    cursor: bigint,
    joined: bigint,
    readonly onOverflow: () => void,
  ) {
    this.cursor = cursor;
    this.joined = joined;
  }

  next(): Promise<string | undefined> {
    const now = this.take();
    if (now !== null) return Promise.resolve(now);
    return new Promise((resolve) => {
      this.wake = resolve;
      this.cancelHeartbeat = this.hub.timers.after(this.hub.heartbeatMs, () => this.settle(HEARTBEAT));
    });
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.hub.forget(this);
    this.settle(undefined);
  }

  /** A waiting `next` takes what is there now. */
  poke(): void {
    if (this.wake === undefined) return;
    const now = this.take();
    if (now !== null) this.settle(now);
  }

  private settle(text: string | undefined): void {
    this.cancelHeartbeat?.();
    this.cancelHeartbeat = undefined;
    const wake = this.wake;
    this.wake = undefined;
    wake?.(text);
  }

  /** What `next` answers now; null: nothing yet. */
  private take(): string | undefined | null {
    if (this.ended) return undefined;
    if (this.pending !== undefined) {
      const text = this.pending;
      this.pending = undefined;
      return text;
    }
    if (this.overflowed) {
      this.close();
      return undefined;
    }
    const batch = this.hub.batchFrom(this.cursor);
    if (batch === undefined) return null;
    this.cursor = batch.next;
    return batch.text;
  }
}

/**
 * The node's event feed behind `GET /events` (SPEC §11). Events get increasing ids (unix µs
 * at start plus a sequence number, so they keep increasing across restarts and an id from an
 * earlier run reads as too old). The last `ringEvents` events (at most `ringBytes`) are kept,
 * shared by all clients: a client's queue is only its position in that ring, so a client that
 * does not read costs no memory of its own. A client more than `clientEvents` events or
 * `clientBytes` bytes behind (counting what was published after it joined), or whose next
 * event left the ring, gets `overflow` and its stream ends.
 */
export class EventHub {
  readonly timers: Timers;
  readonly heartbeatMs: number;
  private readonly log: Logger;
  private readonly ringEvents: number;
  private readonly ringBytes: number;
  private readonly clientEvents: number;
  private readonly clientBytes: number;
  private readonly batchBytes: number;
  private readonly maxSubscribers: number;
  private ring: Entry[] = [];
  /** index of the oldest kept entry in `ring` (entries before it are dropped in bulk) */
  private start = 0;
  private keptBytes = 0;
  private publishedBytes = 0;
  /** the id of the newest event (or the base when none yet) */
  private head: bigint;
  private readonly subscribers = new Set<Subscriber>();
  private overflows = 0;
  private closed = false;

  constructor(options: EventHubOptions = {}, components: EventHubComponents = {}) {
    this.ringEvents = options.ringEvents ?? 10_000;
    this.ringBytes = options.ringBytes ?? 4 * 1024 * 1024;
    this.clientEvents = options.clientEvents ?? 1000;
    this.clientBytes = options.clientBytes ?? 1024 * 1024;
    this.batchBytes = options.batchBytes ?? 64 * 1024;
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    this.maxSubscribers = options.maxSubscribers ?? 1000;
    this.timers = components.timers ?? systemTimers;
    this.log = (components.logger ?? silentLogger).child('events');
    this.head = (components.clock ?? systemClock)() / 1000n;
    const m = components.metrics;
    if (m !== undefined) {
      m.gauge('xe_events_subscribers', 'open GET /events streams', () => this.subscribers.size);
      m.gauge('xe_events_ring_bytes', 'bytes of event text kept for Last-Event-ID resume', () => this.keptBytes);
      m.gauge('xe_events_max_queued_bytes', "the longest GET /events client queue, in bytes not yet handed to its connection", () => this.stats().maxQueuedBytes);
      m.gauge('xe_events_overflows', 'GET /events streams ended by overflow since start', () => this.overflows);
    }
  }

  /** The id of the newest event (before any: the base, one below the first id). */
  get lastId(): bigint {
    return this.head;
  }

  /** Publishes one event to every client; returns its id. After `close`, nothing. */
  publish(name: HubEventName, data: JsonValue): bigint | undefined {
    if (this.closed) return undefined;
    const id = this.head + 1n;
    const frame = `id: ${id}\nevent: ${name}\ndata: ${stringifyJson(data)}\n\n`;
    const bytes = Buffer.byteLength(frame);
    this.ring.push({ id, frame, bytes, before: this.publishedBytes });
    this.head = id;
    this.publishedBytes += bytes;
    this.keptBytes += bytes;
    while (this.ring.length - this.start > this.ringEvents || (this.keptBytes > this.ringBytes && this.ring.length - this.start > 1)) {
      this.keptBytes -= this.ring[this.start]!.bytes;
      this.start++;
    }
    if (this.start > 1024 && this.start * 2 > this.ring.length) {
      this.ring = this.ring.slice(this.start);
      this.start = 0;
    }
    for (const s of this.subscribers) {
      if (s.overflowed) continue;
      const q = this.queued(s);
      if (q === undefined || q.events > this.clientEvents || q.bytes > this.clientBytes) this.overflow(s);
      else s.poke();
    }
    return id;
  }

  /** A subscription from now, or resumed after `lastEventId`. */
  subscribe(lastEventId: bigint | undefined, onOverflow: () => void = () => undefined): EventSubscription {
    const oldest = this.ring.length > this.start ? this.ring[this.start]!.id : this.head + 1n;
    let cursor = this.head + 1n;
    let reset = false;
    if (lastEventId !== undefined && lastEventId !== this.head) {
      if (lastEventId < this.head && lastEventId + 1n >= oldest) cursor = lastEventId + 1n;
      else reset = true;
    }
    const s = new Subscriber(this, cursor, this.head, onOverflow);
    if (this.closed) {
      s.ended = true;
      return s;
    }
    if (reset) s.pending = `id: ${this.head}\nevent: reset\ndata: {}\n\n`;
    if (this.subscribers.size >= this.maxSubscribers) {
      this.log.warn('too many event streams; refusing one', { max: this.maxSubscribers });
      this.overflow(s);
      return s;
    }
    this.subscribers.add(s);
    return s;
  }

  /** Ends every stream (shutdown); later subscriptions end at once. */
  close(): void {
    this.closed = true;
    for (const s of [...this.subscribers]) s.close();
  }

  stats(): EventHubStats {
    let maxQueuedEvents = 0;
    let maxQueuedBytes = 0;
    for (const s of this.subscribers) {
      const q = s.overflowed ? { events: 0, bytes: 0 } : this.queued(s);
      if (q === undefined) continue;
      maxQueuedEvents = Math.max(maxQueuedEvents, q.events);
      maxQueuedBytes = Math.max(maxQueuedBytes, q.bytes);
    }
    return { subscribers: this.subscribers.size, ringEvents: this.ring.length - this.start, ringBytes: this.keptBytes, maxQueuedEvents, maxQueuedBytes, overflows: this.overflows };
  }

  /** @internal the events from `cursor` on, up to `batchBytes` (at least one); undefined when there are none. */
  batchFrom(cursor: bigint): { text: string; next: bigint } | undefined {
    const first = this.entry(cursor);
    if (first === undefined) return undefined;
    const parts: string[] = [];
    let bytes = 0;
    let id = cursor;
    for (let e: Entry | undefined = first; e !== undefined && (parts.length === 0 || bytes + e.bytes <= this.batchBytes); e = this.entry(id)) {
      parts.push(e.frame);
      bytes += e.bytes;
      id++;
    }
    return { text: parts.join(''), next: id };
  }

  /** @internal */
  forget(s: Subscriber): void {
    this.subscribers.delete(s);
  }

  private entry(id: bigint): Entry | undefined {
    if (this.ring.length === this.start) return undefined;
    const i = this.start + Number(id - this.ring[this.start]!.id);
    return i >= this.start && i < this.ring.length ? this.ring[i] : undefined;
  }

  /** The client's queue: events after both its position and its joining; undefined when its next event left the ring. */
  private queued(s: Subscriber): { events: number; bytes: number } | undefined {
    if (s.cursor > this.head) return { events: 0, bytes: 0 };
    if (this.entry(s.cursor) === undefined) return undefined;
    const from = s.cursor > s.joined ? s.cursor : s.joined + 1n;
    if (from > this.head) return { events: 0, bytes: 0 };
    return { events: Number(this.head - from + 1n), bytes: this.publishedBytes - this.entry(from)!.before };
  }

  private overflow(s: Subscriber): void {
    s.overflowed = true;
    s.pending = OVERFLOW_FRAME;
    this.overflows++;
    try {
      s.onOverflow();
    } catch (err) {
      this.log.warn('overflow callback failed', { err });
    }
    s.poke();
  }
}

export interface EventSourcesComponents {
  ledger: Ledger;
  /** provider nodes: VM status changes are published (polled) */
  vms?: VmManager | undefined;
  timers?: Timers;
  logger?: Logger;
  /** VM status poll interval (default 2 s) */
  vmPollMs?: number;
}

/** Ledger events waiting for their lookups (in order) at most; more are dropped with a warning. */
const MAX_BACKLOG = 10_000;
/** Leases whose last published state is remembered (to publish each state once) at most. */
const MAX_LEASE_STATES = 10_000;
/** Block types that change a lease. */
const LEASE_BLOCK_TYPES: ReadonlySet<string> = new Set(['lease', 'lease_accept', 'lease_cancel', 'lease_settle', 'lease_force_settle']);

/**
 * Feeds the hub from the ledger (`block`, `lease`, `confirmed`) and, on a provider, from
 * the VM manager (`vm`, a status change seen by a poll). Ledger events are published in the
 * order the ledger emitted them. With finality (SPEC §12: leases served come from confirmed
 * blocks) a `lease` event follows the `confirmed` event of the block that changed the lease
 * and carries the lease as confirmed blocks left it — a change a lost race undid is never
 * published; each state of a lease is published once; the archive sweep's `expired` (it
 * archives confirmed leases only, by the local clock) is published as it happens. Returns
 * the function that stops it.
 */
export function feedEventHub(hub: EventHub, components: EventSourcesComponents): () => void {
  const { ledger, vms } = components;
  const log = (components.logger ?? silentLogger).child('events');
  const timers = components.timers ?? systemTimers;
  const confirmedView = ledger.finalityEnabled ? confirmedViewOf(ledger) : undefined;
  const published = new Map<string, string>();
  let chain: Promise<void> = Promise.resolve();
  let backlog = 0;
  let stopped = false;
  const inOrder = (what: string, make: () => Promise<[HubEventName, JsonValue][]>) => {
    if (stopped) return;
    if (backlog >= MAX_BACKLOG) {
      log.warn('event backlog full; dropping an event', { event: what });
      return;
    }
    backlog++;
    chain = chain
      .then(async () => {
        for (const [name, data] of await make()) if (!stopped) hub.publish(name, data);
      })
      .catch((err) => log.warn('event not published', { event: what, err }))
      .finally(() => {
        backlog--;
      });
  };
  /** The lease's event, unless this state of it was published already. */
  const leaseEvent = (lease: LeaseRecord): [HubEventName, JsonValue][] => {
    if (published.get(lease.hash) === lease.state) return [];
    published.delete(lease.hash);
    if (published.size >= MAX_LEASE_STATES) published.delete(published.keys().next().value as string);
    published.set(lease.hash, lease.state);
    return [['lease', toApiLease(lease) as unknown as JsonValue]];
  };
  const onBlock = ({ block }: { block: Parameters<typeof stringifyJson>[0] & { hash: string } }) =>
    inOrder('block', async () => [['block', { ...(block as Record<string, JsonValue>), confirmed: await ledger.isConfirmed(block.hash) }]]);
  const onLease = ({ lease }: { lease: LeaseRecord }) => {
    // with finality, block-made changes wait for the block's confirmation (onConfirmed)
    if (confirmedView !== undefined && lease.state !== 'expired') return;
    inOrder('lease', async () => leaseEvent(lease));
  };
  const onConfirmed = ({ hash }: { hash: string }) =>
    inOrder('confirmed', async () => {
      const block = await ledger.getBlock(hash);
      if (block === undefined) return [];
      const out: [HubEventName, JsonValue][] = [['confirmed', { hash, account: block.account }]];
      if (confirmedView !== undefined && LEASE_BLOCK_TYPES.has(block.type)) {
        const leaseHash = block.type === 'lease' ? block.hash : (block as { source: string }).source;
        const lease = await confirmedView.lease(leaseHash);
        if (lease !== undefined) out.push(...leaseEvent(lease));
      }
      return out;
    });
  ledger.events.on('block', onBlock as never);
  ledger.events.on('lease', onLease);
  ledger.events.on('confirmed', onConfirmed);

  let cancelPoll: (() => void) | undefined;
  if (vms !== undefined) {
    const seen = new Map<string, string>();
    const poll = async () => {
      try {
        const list = await vms.list();
        const now = new Set<string>();
        for (const vm of list) {
          now.add(vm.lease_hash);
          if (seen.get(vm.lease_hash) !== vm.status) {
            seen.set(vm.lease_hash, vm.status);
            hub.publish('vm', vm as unknown as JsonValue);
          }
        }
        for (const h of [...seen.keys()]) if (!now.has(h)) seen.delete(h);
      } catch (err) {
        log.debug('VM status poll failed', { err });
      }
      if (!stopped) cancelPoll = timers.after(components.vmPollMs ?? 2000, () => void poll());
    };
    void poll();
  }
  return () => {
    stopped = true;
    cancelPoll?.();
    ledger.events.off('block', onBlock as never);
    ledger.events.off('lease', onLease);
    ledger.events.off('confirmed', onConfirmed);
  };
}
