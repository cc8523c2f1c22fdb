import './polyfill.js';
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { type GossipSub, gossipsub, type Message } from '@libp2p/gossipsub';
import { createTopicScoreParams } from '@libp2p/gossipsub/score';
import { identify } from '@libp2p/identify';
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { tcp } from '@libp2p/tcp';
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr';
import {
  type Clock,
  ErrorCodes,
  GOSSIP_MAX_MESSAGE_BYTES,
  isHash,
  isXeError,
  type JsonValue,
  type Logger,
  NODE_RECORD_REPUBLISH_MS,
  type NodeRecord,
  type NodeRole,
  nsToMs,
  PROTOCOL_VERSION,
  PROTOCOLS,
  parseJson,
  type RateLimit,
  RateLimiter,
  SYNC_INTERVAL_MS,
  silentLogger,
  stringifyJson,
  systemClock,
  TOPICS,
  WRONG_NETWORK_BAN_MS,
} from '@xe/core-types';
import { type KeyPair, signNodeRecord } from '@xe/crypto';
import { createLibp2p } from 'libp2p';
import { Registry } from 'prom-client';
import { streamToDuplex } from './duplex.js';
import { GossipError, GossipErrorCodes } from './errors.js';
import { encodeJsonFrame, StreamReader, writeBytes, writeJson } from './frames.js';
import { libp2pPrivateKey } from './keys.js';
import { Counters } from './metrics.js';
import { NodeRecordStore } from './node-records.js';
import {
  DEFAULT_SYNC_LIMITS,
  requestSync,
  type SyncLimits,
  type SyncSink,
  type SyncSource,
  type SyncSummary,
  serveSync,
} from './sync.js';
import {
  type MessageContext,
  type MessageHandler,
  normaliseResult,
  reject,
  toTopicValidatorResult,
  type ValidationResult,
  type Validator,
} from './validation.js';

/** Node-record exchange on connect (ours): request `{}` → `{records: NodeRecord[]}`. */
export const NODES_PROTOCOL = '/xe/nodes/1.0.0';

const HELLO_MAX_BYTES = 4096;
const DEFAULT_MAX_REQUEST_BYTES = 64 * 1024;
const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
const MAX_OUTBOUND_REQUEST_BYTES = 4 * 1024 * 1024;
const RECORDS_PER_EXCHANGE = 256;
/** Inbound gossip RPC frames may carry protobuf framing around a 256 KiB message. */
const GOSSIP_RPC_ENVELOPE_BYTES = 64 * 1024;

export interface GossipNodeOptions {
  /** The node's Ed25519 key; its seed is also the libp2p identity (SPEC §2). */
  key: KeyPair;
  networkId: string;
  /** 64 hex: the network hash of the genesis bundle (SPEC §4). */
  networkHash: string;
  /** Software version sent in hello; informational. Default: core-types' PROTOCOL_VERSION. */
  version?: string;
  /** TCP listen address; default 0.0.0.0, port 0 (any free port). */
  listen?: { host?: string; port?: number };
  /** Multiaddrs to put in the node record instead of the listen addresses. */
  announce?: string[];
  /** Multiaddrs (with `/p2p/<id>` or without) dialled at start and redialled when lost. */
  bootstrap?: string[];
  roles?: NodeRole[];
  /** Catch-up sync with every peer this often (default SYNC_INTERVAL_MS, 30 s). */
  syncIntervalMs?: number;
  /** Own node record republished this often (default 5 min). */
  nodeRecordIntervalMs?: number;
  /** Records unseen this long are dropped (default 15 min). */
  nodeRecordExpiryMs?: number;
  /** A connection whose hello has not completed in this time is closed (default 10 s). */
  helloTimeoutMs?: number;
  /** Bootstrap redial backoff bounds (default 1 s → 60 s). */
  redialMinMs?: number;
  redialMaxMs?: number;
  /** GossipSub heartbeat (default 1000 ms). Lower only for latency in tests and benches. */
  gossipHeartbeatMs?: number;
  syncLimits?: Partial<SyncLimits>;
}

export interface GossipNodeComponents {
  logger?: Logger;
  clock?: Clock;
  /** Serves `/xe/sync/1.0.0` and provides our frontiers when we request. */
  syncSource?: SyncSource;
  /** Receives blocks and certificates from sync (origin `sync`). Requires `syncSource`. */
  syncSink?: SyncSink;
  /** Where gossip registers its Prometheus counters (the node's one registry); a private one by default. */
  registry?: Registry;
}

export interface HandleOptions {
  /** Largest request frame accepted (default 64 KiB); bigger → REQUEST_TOO_LARGE. */
  maxRequestBytes?: number;
  /** Requests per peer per minute (default 600); beyond → RATE_LIMITED. */
  ratePerMinute?: number;
  /** The handler's signal aborts after this (default 30 s). */
  timeoutMs?: number;
}

export interface RequestContext {
  peerId: string;
  signal: AbortSignal;
}

export type RequestHandler = (req: JsonValue, ctx: RequestContext) => Promise<JsonValue>;

export interface RequestOptions {
  /** Whole call including dial (default 10 s); past it → TIMEOUT. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Largest response frame accepted (default 1 MiB); bigger → RESPONSE_TOO_LARGE. */
  maxResponseBytes?: number;
}

export type StreamHandler = (duplex: Duplex, ctx: { peerId: string; protocol: string }) => void;

export interface PeerEvent {
  peerId: string;
}
export interface HelloEvent extends PeerEvent {
  version: string;
}
export interface WrongNetworkEvent extends PeerEvent {
  networkId: string;
  networkHash: string;
}

export interface GossipNodeEvents {
  'peer:connect': [PeerEvent];
  'peer:disconnect': [PeerEvent];
  'peer:hello': [HelloEvent];
  'peer:wrong-network': [WrongNetworkEvent];
  'node:record': [NodeRecord];
  'sync:done': [SyncSummary];
}

export interface GossipStats {
  peerId: string;
  peers: number;
  helloPeers: number;
  nodeRecords: number;
  counters: ReturnType<Counters['snapshot']>;
}

interface TopicEntry {
  validator: Validator;
  handler: MessageHandler;
}

/** `n` per minute, all of them at once if unused (the bucket holds a minute's worth). */
function perMinute(n: number): RateLimit {
  return { ratePerSec: n / 60, burst: n };
}

interface HandlerEntry {
  handler: RequestHandler;
  maxRequestBytes: number;
  timeoutMs: number;
  limiter: RateLimiter;
}

interface BootstrapEntry {
  addr: Multiaddr;
  peerId: string | undefined;
  attempt: number;
  timer: NodeJS.Timeout | undefined;
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

function reasonOf(err: unknown): string {
  if (isXeError(err)) return err.code.toLowerCase();
  return 'error';
}

/**
 * A node's libp2p host: TCP + Noise + Yamux + identify + GossipSub, the hello
 * handshake, typed topics with injected validators, node records, request/response
 * and raw streams, and catch-up sync.
 */
export class GossipNode extends EventEmitter<GossipNodeEvents> {
  private libp2p: Libp2p<{ pubsub: GossipSub }> | undefined;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly counters: Counters;
  /** The Prometheus registry gossip's counters live in (the node's, or a private one). */
  readonly registry: Registry;
  private readonly records: NodeRecordStore;
  private readonly topics = new Map<string, TopicEntry>();
  private readonly handlers = new Map<string, HandlerEntry>();
  private readonly streamHandlers = new Map<string, StreamHandler>();
  private readonly helloPeers = new Map<string, string>();
  private readonly banned = new Map<string, number>();
  private readonly helloWaiters = new Map<string, Set<(err?: Error) => void>>();
  private readonly bootstrap: BootstrapEntry[] = [];
  private readonly syncLimits: SyncLimits;
  private readonly syncInFlight = new Map<string, Promise<SyncSummary>>();
  private syncChain: Promise<unknown> = Promise.resolve();
  private inboundSyncSessions = 0;
  private readonly syncLimiter: RateLimiter;
  private readonly parsed = new WeakMap<Message, JsonValue>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private recordTimer: NodeJS.Timeout | undefined;
  private stopController = new AbortController();
  private ownPeerId = '';
  private running = false;

  constructor(
    private readonly options: GossipNodeOptions,
    private readonly components: GossipNodeComponents = {},
  ) {
    super();
    if (!isHash(options.networkHash)) throw new GossipError(GossipErrorCodes.INVALID_TARGET, 'networkHash: expected 64 lowercase hex chars');
    this.log = (components.logger ?? silentLogger).child('gossip');
    this.clock = components.clock ?? systemClock;
    this.registry = components.registry ?? new Registry();
    this.counters = new Counters(this.registry);
    this.syncLimiter = new RateLimiter(perMinute(30), { clock: this.clock });
    this.syncLimits = { ...DEFAULT_SYNC_LIMITS, ...options.syncLimits };
    this.records = new NodeRecordStore(
      { networkId: options.networkId, ...(options.nodeRecordExpiryMs !== undefined ? { expiryMs: options.nodeRecordExpiryMs } : {}) },
      { clock: this.clock },
    );
    this.handle(NODES_PROTOCOL, async () => ({ records: this.records.list().slice(0, RECORDS_PER_EXCHANGE) as unknown as JsonValue[] }), {
      ratePerMinute: 60,
    });
  }

  /** The libp2p peer id (base58), derived from the node key. Available after `start()`. */
  get peerId(): string {
    return this.ownPeerId;
  }

  get started(): boolean {
    return this.running;
  }

  private nowMs(): number {
    return nsToMs(this.clock());
  }

  private get node(): Libp2p<{ pubsub: GossipSub }> {
    if (!this.libp2p) throw new GossipError(GossipErrorCodes.NOT_STARTED, 'gossip node is not started');
    return this.libp2p;
  }

  // ------------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    if (this.running) return;
    this.stopController = new AbortController();
    const o = this.options;
    const privateKey = await libp2pPrivateKey(o.key);
    const scoreTopics = Object.fromEntries(
      [...new Set([...Object.values(TOPICS), ...this.topics.keys()])].map((t) => [
        t,
        createTopicScoreParams({
          topicWeight: 1,
          timeInMeshWeight: 0,
          firstMessageDeliveriesWeight: 0,
          meshMessageDeliveriesWeight: 0,
          meshFailurePenaltyWeight: 0,
          invalidMessageDeliveriesWeight: -1,
          invalidMessageDeliveriesDecay: 0.5,
        }),
      ]),
    );
    const libp2p = await createLibp2p({
      privateKey,
      addresses: {
        listen: [`/ip4/${o.listen?.host ?? '0.0.0.0'}/tcp/${o.listen?.port ?? 0}`],
        ...(o.announce ? { announce: o.announce } : {}),
      },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: {
        denyDialPeer: (peerId) => this.isBanned(peerId.toString()),
        denyInboundEncryptedConnection: (peerId) => this.isBanned(peerId.toString()),
        denyOutboundEncryptedConnection: (peerId) => this.isBanned(peerId.toString()),
      },
      services: {
        identify: identify(),
        pubsub: gossipsub({
          emitSelf: false,
          allowPublishToZeroTopicPeers: true,
          ignoreDuplicatePublishError: true,
          heartbeatInterval: o.gossipHeartbeatMs ?? 1000,
          maxInboundDataLength: GOSSIP_MAX_MESSAGE_BYTES + GOSSIP_RPC_ENVELOPE_BYTES,
          msgIdFn: (msg) => new Uint8Array(createHash('sha256').update(msg.topic).update('\0').update(msg.data).digest()),
          scoreParams: { topics: scoreTopics },
        }),
      },
    });
    this.libp2p = libp2p as unknown as Libp2p<{ pubsub: GossipSub }>;
    this.ownPeerId = libp2p.peerId.toString();

    libp2p.addEventListener('peer:connect', (evt) => this.emit('peer:connect', { peerId: evt.detail.toString() }));
    libp2p.addEventListener('peer:disconnect', (evt) => this.onPeerDisconnect(evt.detail.toString()));
    libp2p.addEventListener('connection:open', (evt) => this.onConnectionOpen(evt.detail));
    await libp2p.handle(PROTOCOLS.hello, (stream, conn) => this.serveHello(stream, conn));
    if (this.components.syncSource) {
      await libp2p.handle(PROTOCOLS.sync, (stream, conn) => this.serveSyncStream(stream, conn), { maxInboundStreams: 2 });
    }
    for (const protocol of this.handlers.keys()) await this.registerHandler(protocol);
    for (const protocol of this.streamHandlers.keys()) await this.registerStreamHandler(protocol);

    const pubsub = this.node.services.pubsub;
    pubsub.addEventListener('gossipsub:message', (evt) => {
      const { msg, propagationSource } = evt.detail;
      this.deliver(msg, propagationSource.toString());
    });
    this.topics.set(TOPICS.nodes, {
      validator: (value) => {
        if (value === null || typeof value !== 'object' || Array.isArray(value) || !('record' in value)) return reject('invalid_shape');
        return this.records.validate(value.record).result;
      },
      handler: (value) => {
        const v = (value as { record: JsonValue }).record;
        const { record } = this.records.validate(v);
        if (record && this.records.put(record)) this.emit('node:record', record);
      },
    });
    for (const topic of this.topics.keys()) this.attachTopic(topic);

    this.running = true;
    this.log.info('gossip node started', { peerId: this.ownPeerId, addrs: this.multiaddrs() });
    await this.publishNodeRecord();
    this.recordTimer = this.every(o.nodeRecordIntervalMs ?? NODE_RECORD_REPUBLISH_MS, () => {
      this.publishNodeRecord().catch((err) => this.log.warn('node record publish failed', { err }));
    });
    if (this.components.syncSource && this.components.syncSink) {
      this.every(o.syncIntervalMs ?? SYNC_INTERVAL_MS, () => {
        for (const peer of this.helloPeers.keys()) this.sync(peer).catch(() => undefined);
      });
    }
    for (const addr of o.bootstrap ?? []) {
      const ma = multiaddr(addr);
      const entry: BootstrapEntry = { addr: ma, peerId: ma.getComponents().find((c) => c.name === 'p2p')?.value, attempt: 0, timer: undefined };
      this.bootstrap.push(entry);
      this.dialBootstrap(entry);
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopController.abort(new GossipError(GossipErrorCodes.ABORTED, 'gossip node stopping'));
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.recordTimer) clearInterval(this.recordTimer);
    for (const b of this.bootstrap) if (b.timer) clearTimeout(b.timer);
    this.bootstrap.length = 0;
    await this.syncChain.catch(() => undefined);
    const node = this.libp2p;
    this.libp2p = undefined;
    await node?.stop();
    this.helloPeers.clear();
    this.log.info('gossip node stopped', { peerId: this.ownPeerId });
  }

  private every(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.add(t);
    return t;
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.running) fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  // ------------------------------------------------------------------ peers

  /** Multiaddrs we listen on, each ending in `/p2p/<peerId>`. */
  multiaddrs(): string[] {
    return this.node.getMultiaddrs().map((m) => m.toString());
  }

  /** Peers with an open connection. */
  peers(): string[] {
    return this.libp2p ? this.libp2p.getPeers().map((p) => p.toString()) : [];
  }

  /** Peers that completed the hello handshake (same network). */
  helloPeerIds(): string[] {
    return [...this.helloPeers.keys()];
  }

  /** Dials a multiaddr; resolves with the remote peer id once the hello succeeded. */
  async dial(addr: string, options: { signal?: AbortSignal } = {}): Promise<string> {
    let conn: Connection;
    try {
      conn = await this.node.dial(multiaddr(addr), options.signal ? { signal: options.signal } : {});
    } catch (cause) {
      throw new GossipError(GossipErrorCodes.PEER_UNREACHABLE, `cannot dial ${addr}`, { cause });
    }
    const peerId = conn.remotePeer.toString();
    await this.awaitHello(peerId, options.signal ?? AbortSignal.timeout(this.options.helloTimeoutMs ?? 10_000));
    return peerId;
  }

  /** Closes every connection to a peer. */
  async hangUp(peerId: string): Promise<void> {
    await this.node.hangUp(peerIdFromString(peerId));
  }

  /** Peers in our GossipSub mesh for a topic. */
  meshPeers(topic: string): string[] {
    const ps = this.node.services.pubsub as unknown as { getMeshPeers(topic: string): string[] };
    return ps.getMeshPeers(topic);
  }

  /** The GossipSub score this node gives a peer (negative after it relayed REJECTed messages). */
  peerScore(peerId: string): number {
    const ps = this.node.services.pubsub as unknown as { getScore(id: string): number };
    return ps.getScore(peerId);
  }

  isBanned(peerId: string): boolean {
    const until = this.banned.get(peerId);
    if (until === undefined) return false;
    if (this.nowMs() >= until) {
      this.banned.delete(peerId);
      return false;
    }
    return true;
  }

  private onPeerDisconnect(peerId: string): void {
    this.helloPeers.delete(peerId);
    this.settleHelloWaiters(peerId, new GossipError(GossipErrorCodes.PEER_UNREACHABLE, `peer ${peerId} disconnected before hello`));
    this.emit('peer:disconnect', { peerId });
    for (const b of this.bootstrap) if (b.peerId === peerId) this.scheduleRedial(b);
  }

  private dialBootstrap(b: BootstrapEntry): void {
    if (!this.running) return;
    if (b.peerId && this.isConnected(b.peerId)) return;
    this.node
      .dial(b.addr, { signal: this.stopController.signal })
      .then((conn) => {
        b.peerId = conn.remotePeer.toString();
        b.attempt = 0;
      })
      .catch((err) => {
        this.counters.inc('xe_bootstrap_dial_failures_total');
        this.log.debug('bootstrap dial failed', { addr: b.addr.toString(), err });
        this.scheduleRedial(b);
      });
  }

  private scheduleRedial(b: BootstrapEntry): void {
    if (!this.running || b.timer) return;
    const min = this.options.redialMinMs ?? 1000;
    const max = this.options.redialMaxMs ?? 60_000;
    const delay = Math.min(max, min * 2 ** Math.min(b.attempt, 16));
    b.attempt++;
    b.timer = setTimeout(() => {
      b.timer = undefined;
      this.dialBootstrap(b);
    }, delay);
    b.timer.unref();
  }

  private isConnected(peerId: string): boolean {
    return this.libp2p !== undefined && this.libp2p.getConnections(peerIdFromString(peerId)).length > 0;
  }

  // ------------------------------------------------------------------ hello

  private helloMessage(): { network_id: string; network_hash: string; version: string } {
    return { network_id: this.options.networkId, network_hash: this.options.networkHash, version: this.options.version ?? PROTOCOL_VERSION };
  }

  private onConnectionOpen(conn: Connection): void {
    const peerId = conn.remotePeer.toString();
    const timeoutMs = this.options.helloTimeoutMs ?? 10_000;
    if (conn.direction === 'outbound') {
      this.helloOutbound(conn, timeoutMs).catch(() => undefined);
    } else if (!this.helloPeers.has(peerId)) {
      this.later(timeoutMs, () => {
        if (!this.helloPeers.has(peerId) && conn.status === 'open') {
          this.counters.inc('xe_hello_failures_total', { reason: 'timeout' });
          conn.close().catch(() => undefined);
        }
      });
    }
  }

  private async helloOutbound(conn: Connection, timeoutMs: number): Promise<void> {
    const peerId = conn.remotePeer.toString();
    const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), this.stopController.signal]);
    let stream: Stream | undefined;
    try {
      stream = await conn.newStream(PROTOCOLS.hello, { signal });
      await writeJson(stream, this.helloMessage(), signal);
      const reply = await new StreamReader(stream).readJson(HELLO_MAX_BYTES, signal);
      await stream.close({ signal }).catch(() => undefined);
      this.checkHello(conn, reply);
    } catch (err) {
      stream?.abort(err instanceof Error ? err : new Error(String(err)));
      if (!this.running) return;
      this.counters.inc('xe_hello_failures_total', { reason: reasonOf(err) });
      this.log.debug('hello failed', { peerId, err });
      await conn.close().catch(() => undefined);
    }
  }

  private async serveHello(stream: Stream, conn: Connection): Promise<void> {
    const signal = AbortSignal.any([AbortSignal.timeout(this.options.helloTimeoutMs ?? 10_000), this.stopController.signal]);
    try {
      const closed = new Promise<void>((resolve) => stream.addEventListener('close', () => resolve(), { once: true }));
      const msg = await new StreamReader(stream).readJson(HELLO_MAX_BYTES, signal);
      const parsed = this.parseHello(msg);
      await writeJson(stream, this.helloMessage(), signal);
      await stream.close({ signal }).catch(() => undefined);
      if (parsed.network_id !== this.options.networkId || parsed.network_hash !== this.options.networkHash) {
        // Let the dialler read our hello (it closes its side after) before we hang up.
        await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      }
      this.checkHello(conn, parsed);
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
      if (!this.running) return;
      this.counters.inc('xe_hello_failures_total', { reason: reasonOf(err) });
      await conn.close().catch(() => undefined);
    }
  }

  private parseHello(value: JsonValue | null): { network_id: string; network_hash: string; version: string } {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new GossipError(GossipErrorCodes.PROTOCOL_ERROR, 'hello: expected an object');
    }
    const { network_id, network_hash, version } = value;
    if (typeof network_id !== 'string' || network_id.length > 256 || typeof network_hash !== 'string' || typeof version !== 'string' || version.length > 64) {
      throw new GossipError(GossipErrorCodes.PROTOCOL_ERROR, 'hello: malformed');
    }
    return { network_id, network_hash, version };
  }

  private checkHello(conn: Connection, value: JsonValue | null): void {
    const peerId = conn.remotePeer.toString();
    const hello = this.parseHello(value);
    if (hello.network_id !== this.options.networkId || hello.network_hash !== this.options.networkHash) {
      this.banned.set(peerId, this.nowMs() + WRONG_NETWORK_BAN_MS);
      this.counters.inc('xe_hello_failures_total', { reason: 'wrong_network' });
      this.log.info('peer of another network refused', { peerId, networkId: hello.network_id });
      this.emit('peer:wrong-network', { peerId, networkId: hello.network_id, networkHash: hello.network_hash });
      this.settleHelloWaiters(peerId, new GossipError(GossipErrorCodes.WRONG_NETWORK, `peer ${peerId} is on network ${hello.network_id}`));
      this.node.hangUp(conn.remotePeer).catch(() => undefined);
      return;
    }
    if (conn.status !== 'open') return;
    const first = !this.helloPeers.has(peerId);
    this.helloPeers.set(peerId, hello.version);
    this.counters.inc('xe_hello_ok_total');
    this.settleHelloWaiters(peerId);
    if (!first) return;
    this.emit('peer:hello', { peerId, version: hello.version });
    this.scheduleRecordPublish();
    this.exchangeRecords(peerId).catch((err) => this.log.debug('node record exchange failed', { peerId, err }));
    if (this.components.syncSource && this.components.syncSink) this.sync(peerId).catch(() => undefined);
  }

  /** Resolves once `peerId` has completed hello; rejects when `signal` aborts, the peer leaves or is of another network. */
  private awaitHello(peerId: string, signal: AbortSignal): Promise<void> {
    if (this.helloPeers.has(peerId)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let set = this.helloWaiters.get(peerId);
      if (!set) this.helloWaiters.set(peerId, (set = new Set()));
      const waiters = set;
      const done = (err?: Error) => {
        signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const onAbort = () => {
        waiters.delete(done);
        reject(signal.reason);
      };
      if (signal.aborted) return onAbort();
      waiters.add(done);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private settleHelloWaiters(peerId: string, err?: Error): void {
    const waiters = this.helloWaiters.get(peerId);
    if (!waiters) return;
    this.helloWaiters.delete(peerId);
    for (const w of waiters) w(err);
  }

  // ------------------------------------------------------------------ topics

  /**
   * Subscribes to a topic. Each message is decoded as JSON (core-types codec), passed to
   * `validator` before it is delivered or relayed, and, when accepted, to `handler`.
   */
  subscribe<T extends JsonValue = JsonValue>(topic: string, validator: Validator<T>, handler: MessageHandler<T>): void {
    if (topic === TOPICS.nodes) throw new GossipError(GossipErrorCodes.INVALID_TARGET, `${topic} is handled by the node itself`);
    this.topics.set(topic, { validator: validator as Validator, handler: handler as MessageHandler });
    if (this.running) this.attachTopic(topic);
  }

  unsubscribe(topic: string): void {
    this.topics.delete(topic);
    if (this.running) {
      this.node.services.pubsub.topicValidators.delete(topic);
      this.node.services.pubsub.unsubscribe(topic);
    }
  }

  private attachTopic(topic: string): void {
    const pubsub = this.node.services.pubsub;
    pubsub.topicValidators.set(topic, async (peer, msg) => toTopicValidatorResult(await this.validate(topic, peer.toString(), msg)));
    pubsub.subscribe(topic);
  }

  private count(topic: string, result: ValidationResult): ValidationResult {
    this.counters.inc('xe_gossip_messages_total', { topic, action: result.action, reason: result.reason ?? 'none' });
    return result;
  }

  private async validate(topic: string, from: string, msg: Message): Promise<ValidationResult> {
    const entry = this.topics.get(topic);
    if (!entry) return this.count(topic, { action: 'ignore', reason: 'not_subscribed' });
    if (msg.data.length > GOSSIP_MAX_MESSAGE_BYTES) return this.count(topic, reject('too_large'));
    if (!this.helloPeers.has(from)) return this.count(topic, { action: 'ignore', reason: 'no_hello' });
    let value: JsonValue;
    try {
      value = parseJson(textDecoder.decode(msg.data));
    } catch {
      return this.count(topic, reject('invalid_json'));
    }
    let result: ValidationResult;
    try {
      result = normaliseResult(await entry.validator(value, { from, topic }));
    } catch (err) {
      this.log.debug('validator threw', { topic, err });
      result = reject('validator_error');
    }
    if (result.action === 'accept') this.parsed.set(msg, value);
    return this.count(topic, result);
  }

  private deliver(msg: Message, from: string): void {
    const entry = this.topics.get(msg.topic);
    if (!entry) return;
    let value = this.parsed.get(msg);
    if (value === undefined) {
      try {
        value = parseJson(textDecoder.decode(msg.data));
      } catch {
        return;
      }
    }
    const ctx: MessageContext = { from, topic: msg.topic };
    try {
      const r = entry.handler(value, ctx);
      if (r instanceof Promise) r.catch((err) => this.log.warn('topic handler failed', { topic: msg.topic, err }));
    } catch (err) {
      this.log.warn('topic handler failed', { topic: msg.topic, err });
    }
  }

  /**
   * Publishes a JSON message (encoded with core-types' stringifyJson). A node with no
   * peers publishes without error. Over 256 KiB → MESSAGE_TOO_LARGE.
   */
  async publish(topic: string, message: JsonValue | object): Promise<{ recipients: number }> {
    const data = new TextEncoder().encode(stringifyJson(message));
    if (data.length > GOSSIP_MAX_MESSAGE_BYTES) {
      throw new GossipError(GossipErrorCodes.MESSAGE_TOO_LARGE, `message of ${data.length} bytes exceeds ${GOSSIP_MAX_MESSAGE_BYTES}`);
    }
    const r = await this.node.services.pubsub.publish(topic, data);
    this.counters.inc('xe_gossip_published_total', { topic });
    return { recipients: r.recipients.length };
  }

  // ------------------------------------------------------------------ node records

  /** Builds, signs, stores and publishes our node record; returns it. */
  async publishNodeRecord(): Promise<NodeRecord> {
    const o = this.options;
    const record = signNodeRecord(
      {
        address: o.key.address,
        pub_key: o.key.pubKeyHex,
        peer_id: this.ownPeerId,
        multiaddrs: o.announce ?? this.multiaddrs(),
        roles: o.roles ?? [],
        timestamp: this.clock(),
      },
      o.key,
      o.networkId,
    );
    this.records.put(record);
    await this.publish(TOPICS.nodes, { record });
    return record;
  }

  private scheduleRecordPublish(): void {
    if (this.timers.has(this.recordDebounce as NodeJS.Timeout)) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.recordDebounce = undefined;
      if (this.running) this.publishNodeRecord().catch((err) => this.log.debug('node record publish failed', { err }));
    }, 500);
    t.unref();
    this.recordDebounce = t;
    this.timers.add(t);
  }
  private recordDebounce: NodeJS.Timeout | undefined;

  private async exchangeRecords(peerId: string): Promise<void> {
    const res = await this.request(peerId, NODES_PROTOCOL, {}, { timeoutMs: 10_000, maxResponseBytes: 1024 * 1024 });
    const list = res !== null && typeof res === 'object' && !Array.isArray(res) ? res.records : undefined;
    if (!Array.isArray(list)) {
      this.counters.inc('xe_node_records_dropped_total', { reason: 'invalid_shape' });
      return;
    }
    for (const raw of list.slice(0, RECORDS_PER_EXCHANGE)) {
      const { result, record } = this.records.validate(raw);
      if (record && this.records.put(record)) this.emit('node:record', record);
      else if (result.action === 'reject') this.counters.inc('xe_node_records_dropped_total', { reason: result.reason ?? 'invalid' });
    }
  }

  /** The latest unexpired record of an address. */
  findNode(address: string): NodeRecord | undefined {
    return this.records.get(address);
  }

  /** Unexpired records, newest first (e.g. `nodes('timekeeper')`). */
  nodes(role?: NodeRole): NodeRecord[] {
    return this.records.list(role);
  }

  /** Connects to the node of `address` using its record's multiaddrs; resolves with its peer id after hello. */
  async dialAddress(address: string, options: { signal?: AbortSignal } = {}): Promise<string> {
    const record = this.records.get(address);
    if (!record) throw new GossipError(GossipErrorCodes.NODE_NOT_FOUND, `no node record for ${address}`);
    const signal = options.signal ?? AbortSignal.timeout(10_000);
    if (!this.isConnected(record.peer_id)) {
      const addrs = record.multiaddrs.map((m) => multiaddr(m.includes('/p2p/') ? m : `${m}/p2p/${record.peer_id}`));
      try {
        const conn = await this.node.dial(addrs, { signal });
        if (conn.remotePeer.toString() !== record.peer_id) {
          await conn.close();
          throw new GossipError(GossipErrorCodes.PEER_UNREACHABLE, 'dialled peer is not the record\'s');
        }
      } catch (cause) {
        if (cause instanceof GossipError) throw cause;
        throw new GossipError(GossipErrorCodes.PEER_UNREACHABLE, `cannot reach the node of ${address}`, { cause });
      }
    }
    await this.awaitHello(record.peer_id, signal);
    return record.peer_id;
  }

  // ------------------------------------------------------------------ request/response

  /** Registers a request/response protocol (`/xe/attest/1.0.0`, `/xe/cert/1.0.0`, `/xe/vminfo/1.0.0`, …). */
  handle(protocol: string, handler: RequestHandler, options: HandleOptions = {}): void {
    this.handlers.set(protocol, {
      handler,
      maxRequestBytes: options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
      timeoutMs: options.timeoutMs ?? 30_000,
      limiter: new RateLimiter(perMinute(options.ratePerMinute ?? 600), { clock: this.clock }),
    });
    if (this.running) this.registerHandler(protocol).catch((err) => this.log.warn('handler registration failed', { protocol, err }));
  }

  private async registerHandler(protocol: string): Promise<void> {
    await this.node.handle(protocol, (stream, conn) => this.serveRequest(protocol, stream, conn), { force: true });
  }

  private async serveRequest(protocol: string, stream: Stream, conn: Connection): Promise<void> {
    const entry = this.handlers.get(protocol);
    const peerId = conn.remotePeer.toString();
    const signal = AbortSignal.any([AbortSignal.timeout(entry?.timeoutMs ?? 30_000), this.stopController.signal]);
    const response = await this.answer(protocol, entry, stream, peerId, signal);
    try {
      await writeBytes(stream, encodeJsonFrame(response), signal);
      await stream.close({ signal });
    } catch {
      stream.abort(new Error('response not delivered'));
    }
  }

  private async answer(
    protocol: string,
    entry: HandlerEntry | undefined,
    stream: Stream,
    peerId: string,
    signal: AbortSignal,
  ): Promise<JsonValue> {
    const fail = (code: string, error: string): JsonValue => {
      this.counters.inc('xe_requests_served_total', { protocol, result: code.toLowerCase() });
      return { error, code };
    };
    if (!entry) return fail('UNKNOWN_PROTOCOL', 'no handler');
    const allowed = entry.limiter.allow(peerId);
    let req: JsonValue | null;
    try {
      await this.awaitHello(peerId, signal);
      req = await new StreamReader(stream).readJson(entry.maxRequestBytes, signal);
    } catch (err) {
      if (isXeError(err) && err.code === GossipErrorCodes.FRAME_TOO_LARGE) return fail('REQUEST_TOO_LARGE', 'request too large');
      if (signal.aborted) return fail(ErrorCodes.TIMEOUT, 'request not received in time');
      return fail('INVALID_REQUEST', 'malformed request');
    }
    if (!allowed) return fail(ErrorCodes.RATE_LIMITED, 'rate limited');
    if (req === null) return fail('INVALID_REQUEST', 'empty request');
    try {
      const result = await entry.handler(req, { peerId, signal });
      this.counters.inc('xe_requests_served_total', { protocol, result: 'ok' });
      return { result };
    } catch (err) {
      if (isXeError(err)) return fail(err.code, err.message);
      if (signal.aborted) return fail(ErrorCodes.TIMEOUT, 'handler timed out');
      this.log.warn('request handler failed', { protocol, err });
      return fail(ErrorCodes.INTERNAL, 'internal error');
    }
  }

  /**
   * Calls a request/response protocol on a peer (peer id) or on the node of an account
   * address (64 hex, found through node records). Errors: PEER_UNREACHABLE, NODE_NOT_FOUND,
   * TIMEOUT, ABORTED, RESPONSE_TOO_LARGE, RATE_LIMITED, REMOTE_ERROR (with `remoteCode`).
   */
  async request(target: string, protocol: string, req: JsonValue | object, options: RequestOptions = {}): Promise<JsonValue> {
    const frame = encodeJsonFrame(req);
    if (frame.length > MAX_OUTBOUND_REQUEST_BYTES) throw new GossipError(GossipErrorCodes.REQUEST_TOO_LARGE, 'request too large');
    const timeoutMs = options.timeoutMs ?? 10_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signals = [timeout, this.stopController.signal];
    if (options.signal) signals.push(options.signal);
    const signal = AbortSignal.any(signals);
    const mapAbort = (err: unknown): GossipError => {
      if (timeout.aborted) return new GossipError(GossipErrorCodes.TIMEOUT, `${protocol}: no response within ${timeoutMs} ms`, { cause: err });
      if (signal.aborted) return new GossipError(GossipErrorCodes.ABORTED, `${protocol}: aborted`, { cause: err });
      if (err instanceof GossipError) return err;
      return new GossipError(GossipErrorCodes.STREAM_CLOSED, `${protocol}: stream failed`, { cause: err });
    };
    const stream = await this.openProtocolStream(target, protocol, signal).catch((err) => {
      throw signal.aborted ? mapAbort(err) : err;
    });
    let payload: Uint8Array | null;
    try {
      await writeBytes(stream, frame, signal);
      await stream.close({ signal });
      payload = await new StreamReader(stream).readFrame(options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES, signal);
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
      if (isXeError(err) && err.code === GossipErrorCodes.FRAME_TOO_LARGE) {
        throw new GossipError(GossipErrorCodes.RESPONSE_TOO_LARGE, `${protocol}: response too large`, { cause: err });
      }
      throw mapAbort(err);
    }
    if (payload === null) throw new GossipError(GossipErrorCodes.PROTOCOL_ERROR, `${protocol}: no response`);
    let res: JsonValue;
    try {
      res = parseJson(textDecoder.decode(payload));
    } catch (cause) {
      throw new GossipError(GossipErrorCodes.PROTOCOL_ERROR, `${protocol}: malformed response`, { cause });
    }
    if (res !== null && typeof res === 'object' && !Array.isArray(res)) {
      if ('result' in res) return res.result as JsonValue;
      if (typeof res.code === 'string') {
        const message = typeof res.error === 'string' ? res.error : 'remote error';
        if (res.code === ErrorCodes.RATE_LIMITED) throw new GossipError(GossipErrorCodes.RATE_LIMITED, `${protocol}: rate limited by peer`);
        throw new GossipError(GossipErrorCodes.REMOTE_ERROR, `${protocol}: ${message}`, { remoteCode: res.code, remoteMessage: message });
      }
    }
    throw new GossipError(GossipErrorCodes.PROTOCOL_ERROR, `${protocol}: malformed response`);
  }

  private async resolvePeer(target: string, signal: AbortSignal): Promise<PeerId> {
    if (isHash(target)) return peerIdFromString(await this.dialAddress(target, { signal }));
    let peer: PeerId;
    try {
      peer = peerIdFromString(target);
    } catch (cause) {
      throw new GossipError(GossipErrorCodes.INVALID_TARGET, `not a peer id or address: ${target}`, { cause });
    }
    if (!this.isConnected(target)) {
      const record = this.records.byPeerId(target);
      try {
        if (record) await this.dialAddress(record.address, { signal });
        else await this.node.dial(peer, { signal });
      } catch (cause) {
        if (cause instanceof GossipError) throw cause;
        throw new GossipError(GossipErrorCodes.PEER_UNREACHABLE, `cannot reach ${target}`, { cause });
      }
    }
    await this.awaitHello(target, signal);
    return peer;
  }

  private async openProtocolStream(target: string, protocol: string, signal: AbortSignal): Promise<Stream> {
    const peer = await this.resolvePeer(target, signal);
    try {
      return await this.node.dialProtocol(peer, protocol, { signal });
    } catch (cause) {
      throw new GossipError(GossipErrorCodes.PEER_UNREACHABLE, `cannot open ${protocol} to ${target}`, { cause });
    }
  }

  // ------------------------------------------------------------------ raw streams

  /** Registers a raw byte-stream protocol (e.g. `/xe/tunnel/1.0.0`); the handler gets a Node Duplex. */
  handleStream(protocol: string, handler: StreamHandler): void {
    this.streamHandlers.set(protocol, handler);
    if (this.running) this.registerStreamHandler(protocol).catch((err) => this.log.warn('handler registration failed', { protocol, err }));
  }

  private async registerStreamHandler(protocol: string): Promise<void> {
    await this.node.handle(
      protocol,
      async (stream, conn) => {
        const peerId = conn.remotePeer.toString();
        const handler = this.streamHandlers.get(protocol);
        try {
          if (!handler) throw new Error('no handler');
          await this.awaitHello(peerId, AbortSignal.timeout(this.options.helloTimeoutMs ?? 10_000));
          handler(streamToDuplex(stream), { peerId, protocol });
        } catch (err) {
          stream.abort(err instanceof Error ? err : new Error(String(err)));
        }
      },
      { force: true },
    );
  }

  /** Opens a raw byte stream to a peer id or an address's node, as a Node Duplex. */
  async openStream(target: string, protocol: string, options: { signal?: AbortSignal } = {}): Promise<Duplex> {
    const signal = options.signal ? AbortSignal.any([options.signal, this.stopController.signal]) : this.stopController.signal;
    return streamToDuplex(await this.openProtocolStream(target, protocol, signal));
  }

  // ------------------------------------------------------------------ sync

  private async serveSyncStream(stream: Stream, conn: Connection): Promise<void> {
    const peerId = conn.remotePeer.toString();
    const source = this.components.syncSource;
    if (!source || this.inboundSyncSessions >= 4 || !this.syncLimiter.allow(peerId)) {
      this.counters.inc('xe_sync_refused_total', { reason: source ? 'busy' : 'disabled' });
      stream.abort(new Error('sync refused'));
      return;
    }
    this.inboundSyncSessions++;
    try {
      await this.awaitHello(peerId, AbortSignal.any([AbortSignal.timeout(10_000), this.stopController.signal]));
      const n = await serveSync(stream, source, {
        log: this.log,
        counters: this.counters,
        limits: this.syncLimits,
        signal: this.stopController.signal,
      });
      await stream.close().catch(() => undefined);
      this.log.debug('sync served', { peerId, blocks: n });
    } catch (err) {
      this.counters.inc('xe_sync_failures_total', { role: 'responder', reason: reasonOf(err) });
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.inboundSyncSessions--;
    }
  }

  /**
   * Runs catch-up sync with one peer now (sessions run one at a time; a second call for a
   * peer already queued joins it). Resolves with what was received and ingested.
   */
  sync(peerId: string): Promise<SyncSummary> {
    const existing = this.syncInFlight.get(peerId);
    if (existing) return existing;
    const run = this.syncChain.then(() => this.runSync(peerId));
    this.syncInFlight.set(peerId, run);
    const cleanup = () => {
      if (this.syncInFlight.get(peerId) === run) this.syncInFlight.delete(peerId);
    };
    run.then(cleanup, cleanup);
    this.syncChain = run.catch(() => undefined);
    return run;
  }

  /** Syncs with every peer that completed hello, one after the other. */
  async syncAll(): Promise<SyncSummary[]> {
    const out: SyncSummary[] = [];
    for (const peer of [...this.helloPeers.keys()]) {
      try {
        out.push(await this.sync(peer));
      } catch {
        // counted in runSync
      }
    }
    return out;
  }

  private async runSync(peerId: string): Promise<SyncSummary> {
    const { syncSource, syncSink } = this.components;
    if (!syncSource || !syncSink) throw new GossipError(GossipErrorCodes.NOT_STARTED, 'sync needs a syncSource and a syncSink');
    if (!this.running) throw new GossipError(GossipErrorCodes.NOT_STARTED, 'gossip node is not started');
    const signal = this.stopController.signal;
    let stream: Stream | undefined;
    try {
      stream = await this.node.dialProtocol(peerIdFromString(peerId), PROTOCOLS.sync, { signal });
      const summary = await requestSync(stream, peerId, syncSource, syncSink, {
        log: this.log,
        counters: this.counters,
        limits: this.syncLimits,
        signal,
      });
      await stream.close().catch(() => undefined);
      if (summary.received > 0) this.log.info('sync done', { ...summary });
      this.emit('sync:done', summary);
      return summary;
    } catch (err) {
      stream?.abort(err instanceof Error ? err : new Error(String(err)));
      this.counters.inc('xe_sync_failures_total', { role: 'requester', reason: reasonOf(err) });
      this.log.debug('sync failed', { peerId, err });
      throw err;
    }
  }

  // ------------------------------------------------------------------ metrics

  /** Counters of messages by topic/action/reason, hello outcomes, sync and request figures. */
  stats(): GossipStats {
    return {
      peerId: this.ownPeerId,
      peers: this.peers().length,
      helloPeers: this.helloPeers.size,
      nodeRecords: this.records.size,
      counters: this.counters.snapshot(),
    };
  }

  /** One counter's value (summed over label sets matching `labels`). */
  counter(name: string, labels: Record<string, string> = {}): number {
    return this.counters.sum(name, labels);
  }
}
