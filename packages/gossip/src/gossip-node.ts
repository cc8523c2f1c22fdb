import './polyfill.js';
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { peerIdFromString } from '@libp2p/peer-id';
import {
  isHash,
  type JsonValue,
  NODE_RECORD_REPUBLISH_MS,
  type NodeRecord,
  type NodeRole,
  PROTOCOLS,
  SYNC_INTERVAL_MS,
  silentLogger,
  systemClock,
  TOPICS,
} from '@xe/core-types';
import { Registry } from 'prom-client';
import { Bootstrap } from './bootstrap.js';
import { type GossipNodeComponents, type GossipNodeOptions, NodeContext } from './context.js';
import { GossipError, GossipErrorCodes } from './errors.js';
import { Hello } from './hello.js';
import { createHost } from './host.js';
import { Counters } from './metrics.js';
import { NodeRecordStore } from './node-records.js';
import { Dialer } from './peers.js';
import { RecordExchange } from './record-exchange.js';
import { type HandleOptions, type RequestHandler, type RequestOptions, Rpc, type StreamHandler } from './rpc.js';
import { RawStreams } from './streams.js';
import type { SyncSummary } from './sync.js';
import { SyncScheduler } from './sync-scheduler.js';
import { Topics } from './topics.js';
import type { MessageHandler, Validator } from './validation.js';

export type { GossipNodeComponents, GossipNodeOptions } from './context.js';
export { NODES_PROTOCOL } from './record-exchange.js';
export type { HandleOptions, RequestContext, RequestHandler, RequestOptions, StreamHandler } from './rpc.js';

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

/**
 * A node's libp2p host: TCP + Noise + Yamux + identify + GossipSub, the hello
 * handshake, typed topics with injected validators, node records, request/response
 * and raw streams, and catch-up sync. Each job lives in its own module; this class
 * wires them and is the package's one entry.
 */
export class GossipNode extends EventEmitter<GossipNodeEvents> {
  /** The Prometheus registry gossip's counters live in (the node's, or a private one). */
  readonly registry: Registry;
  private readonly ctx: NodeContext;
  private readonly counters: Counters;
  private readonly records: NodeRecordStore;
  private readonly hello: Hello;
  private readonly dialer: Dialer;
  private readonly bootstrap: Bootstrap;
  private readonly topics: Topics;
  private readonly rpc: Rpc;
  private readonly streams: RawStreams;
  private readonly recordExchange: RecordExchange;
  private readonly syncer: SyncScheduler;

  constructor(options: GossipNodeOptions, components: GossipNodeComponents = {}) {
    super();
    if (!isHash(options.networkHash)) throw new GossipError(GossipErrorCodes.INVALID_TARGET, 'networkHash: expected 64 lowercase hex chars');
    this.registry = components.registry ?? new Registry();
    this.counters = new Counters(this.registry);
    const clock = components.clock ?? systemClock;
    const ctx = new NodeContext(options, components, (components.logger ?? silentLogger).child('gossip'), clock, this.counters);
    this.ctx = ctx;
    this.records = new NodeRecordStore(
      { networkId: options.networkId, ...(options.nodeRecordExpiryMs !== undefined ? { expiryMs: options.nodeRecordExpiryMs } : {}) },
      { clock, isConnected: (peerId) => ctx.host !== undefined && ctx.host.getConnections(peerIdFromString(peerId)).length > 0 },
    );
    this.hello = new Hello(ctx, {
      onHello: (peerId, version) => this.onHello(peerId, version),
      onWrongNetwork: (peerId, h) => this.emit('peer:wrong-network', { peerId, networkId: h.network_id, networkHash: h.network_hash }),
    });
    this.dialer = new Dialer(ctx, this.hello, this.records);
    this.bootstrap = new Bootstrap(ctx, (peerId) => this.dialer.isConnected(peerId));
    this.topics = new Topics(ctx, this.hello);
    this.rpc = new Rpc(ctx, this.hello, this.dialer);
    this.streams = new RawStreams(ctx, this.hello, this.dialer);
    this.recordExchange = new RecordExchange(ctx, this.records, this.topics, this.rpc, (record) => this.emit('node:record', record));
    this.syncer = new SyncScheduler(ctx, this.hello, (summary) => this.emit('sync:done', summary));
  }

  /** The libp2p peer id (base58), derived from the node key. Available after `start()`. */
  get peerId(): string {
    return this.ctx.ownPeerId;
  }

  get started(): boolean {
    return this.ctx.running;
  }

  // lifecycle

  async start(): Promise<void> {
    const ctx = this.ctx;
    if (ctx.running) return;
    ctx.stopController = new AbortController();
    const o = ctx.options;
    const libp2p = await createHost(o, [...Object.values(TOPICS), ...this.topics.names()], (peerId) => this.isBanned(peerId));
    ctx.host = libp2p;
    ctx.ownPeerId = libp2p.peerId.toString();

    libp2p.addEventListener('peer:connect', (evt) => this.emit('peer:connect', { peerId: evt.detail.toString() }));
    libp2p.addEventListener('peer:disconnect', (evt) => this.onPeerDisconnect(evt.detail.toString()));
    libp2p.addEventListener('connection:open', (evt) => this.hello.onConnectionOpen(evt.detail));
    await libp2p.handle(PROTOCOLS.hello, (stream, conn) => this.hello.serve(stream, conn));
    await this.rpc.start();
    await this.streams.start();
    this.topics.start();

    ctx.running = true;
    ctx.log.info('gossip node started', { peerId: ctx.ownPeerId, addrs: this.multiaddrs() });
    await this.recordExchange.publish();
    ctx.timers.every(o.nodeRecordIntervalMs ?? NODE_RECORD_REPUBLISH_MS, () => {
      this.recordExchange.publish().catch((err) => ctx.log.warn('node record publish failed', { err }));
    });
    await this.syncer.start(o.syncIntervalMs ?? SYNC_INTERVAL_MS);
    this.bootstrap.start(o.bootstrap ?? []);
  }

  async stop(): Promise<void> {
    const ctx = this.ctx;
    if (!ctx.running) return;
    ctx.running = false;
    ctx.stopController.abort(new GossipError(GossipErrorCodes.ABORTED, 'gossip node stopping'));
    ctx.timers.clear();
    this.bootstrap.stop();
    await this.syncer.stop();
    const node = ctx.host;
    ctx.host = undefined;
    await node?.stop();
    this.hello.clear();
    ctx.log.info('gossip node stopped', { peerId: ctx.ownPeerId });
  }

  private onHello(peerId: string, version: string): void {
    this.emit('peer:hello', { peerId, version });
    this.recordExchange.schedulePublish();
    this.recordExchange.exchange(peerId).catch((err) => this.ctx.log.debug('node record exchange failed', { peerId, err }));
    if (this.syncer.enabled) this.sync(peerId).catch(() => undefined);
  }

  private onPeerDisconnect(peerId: string): void {
    this.hello.forget(peerId);
    this.emit('peer:disconnect', { peerId });
    this.bootstrap.onDisconnect(peerId);
  }

  // peers

  /** Multiaddrs we listen on, each ending in `/p2p/<peerId>`. */
  multiaddrs(): string[] {
    return this.ctx.node.getMultiaddrs().map((m) => m.toString());
  }

  /** Peers with an open connection. */
  peers(): string[] {
    return this.ctx.host ? this.ctx.host.getPeers().map((p) => p.toString()) : [];
  }

  /** Peers that completed the hello handshake (same network). */
  helloPeerIds(): string[] {
    return this.hello.peers();
  }

  /** Dials a multiaddr; resolves with the remote peer id once the hello succeeded. */
  dial(addr: string, options: { signal?: AbortSignal } = {}): Promise<string> {
    return this.dialer.dial(addr, options);
  }

  /** Closes every connection to a peer. */
  async hangUp(peerId: string): Promise<void> {
    await this.ctx.node.hangUp(peerIdFromString(peerId));
  }

  /** Peers in our GossipSub mesh for a topic. */
  meshPeers(topic: string): string[] {
    return this.topics.meshPeers(topic);
  }

  /** The GossipSub score this node gives a peer (negative after it relayed REJECTed messages). */
  peerScore(peerId: string): number {
    return this.topics.peerScore(peerId);
  }

  isBanned(peerId: string): boolean {
    return this.hello.isBanned(peerId) || this.ctx.options.denyPeer?.(peerId) === true;
  }

  // topics

  /**
   * Subscribes to a topic. Each message is decoded as JSON (core-types codec), passed to
   * `validator` before it is delivered or relayed, and, when accepted, to `handler`.
   */
  subscribe<T extends JsonValue = JsonValue>(topic: string, validator: Validator<T>, handler: MessageHandler<T>): void {
    this.topics.subscribe(topic, validator as Validator, handler as MessageHandler);
  }

  unsubscribe(topic: string): void {
    this.topics.unsubscribe(topic);
  }

  /**
   * Publishes a JSON message (encoded with core-types' stringifyJson). A node with no
   * peers publishes without error. Over 256 KiB → MESSAGE_TOO_LARGE.
   */
  publish(topic: string, message: JsonValue | object): Promise<{ recipients: number }> {
    return this.topics.publish(topic, message);
  }

  // node records

  /** Builds, signs, stores and publishes our node record; returns it. */
  publishNodeRecord(): Promise<NodeRecord> {
    return this.recordExchange.publish();
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
  dialAddress(address: string, options: { signal?: AbortSignal } = {}): Promise<string> {
    return this.dialer.dialAddress(address, options);
  }

  // request/response

  /** Registers a request/response protocol (`/xe/attest/1.0.0`, `/xe/cert/1.0.0`, `/xe/vminfo/1.0.0`, …). */
  handle(protocol: string, handler: RequestHandler, options: HandleOptions = {}): void {
    this.rpc.handle(protocol, handler, options);
  }

  /**
   * Calls a request/response protocol on a peer (peer id) or on the node of an account
   * address (64 hex, found through node records). Errors: PEER_UNREACHABLE, NODE_NOT_FOUND,
   * TIMEOUT, ABORTED, RESPONSE_TOO_LARGE, RATE_LIMITED, REMOTE_ERROR (with `remoteCode`).
   */
  request(target: string, protocol: string, req: JsonValue | object, options: RequestOptions = {}): Promise<JsonValue> {
    return this.rpc.request(target, protocol, req, options);
  }

  // raw streams

  /** Registers a raw byte-stream protocol (e.g. `/xe/tunnel/1.0.0`); the handler gets a Node Duplex. */
  handleStream(protocol: string, handler: StreamHandler): void {
    this.streams.handle(protocol, handler);
  }

  /** Opens a raw byte stream to a peer id or an address's node, as a Node Duplex. */
  openStream(target: string, protocol: string, options: { signal?: AbortSignal } = {}): Promise<Duplex> {
    return this.streams.open(target, protocol, options);
  }

  // sync

  /**
   * Runs catch-up sync with one peer now (a second call for a peer already queued joins
   * it). Resolves with what was received and ingested.
   */
  sync(peerId: string): Promise<SyncSummary> {
    return this.syncer.sync(peerId);
  }

  /** Sync sessions open now: served, requested, and peers queued for a requested one. */
  syncSessions(): { inbound: number; outbound: number; queued: number } {
    return this.syncer.sessions();
  }

  /** Syncs with every peer that completed hello (up to `maxOutbound` sessions at once). */
  syncAll(): Promise<SyncSummary[]> {
    return this.syncer.syncAll();
  }

  // metrics

  /** Counters of messages by topic/action/reason, hello outcomes, sync and request figures. */
  stats(): GossipStats {
    return {
      peerId: this.ctx.ownPeerId,
      peers: this.peers().length,
      helloPeers: this.hello.size,
      nodeRecords: this.records.size,
      counters: this.counters.snapshot(),
    };
  }

  /** One counter's value (summed over label sets matching `labels`). */
  counter(name: string, labels: Record<string, string> = {}): number {
    return this.counters.sum(name, labels);
  }
}
