import type { Connection, Stream } from '@libp2p/interface';
import { type JsonValue, PROTOCOL_VERSION, PROTOCOLS, WRONG_NETWORK_BAN_MS } from '@xe/core-types';
import { asError, type NodeContext, reasonOf } from './context.js';
import { GossipError, GossipErrorCodes } from './errors.js';
import { StreamReader, writeJson } from './frames.js';

const HELLO_MAX_BYTES = 4096;
/** Peers banned at once at most; past it expired bans go first, then the oldest. */
export const MAX_BANNED_PEERS = 4096;

export type HelloMessage = {
  network_id: string;
  network_hash: string;
  version: string;
};

export interface HelloEvents {
  /** First successful hello on a peer (not repeated for further connections). */
  onHello(peerId: string, version: string): void;
  onWrongNetwork(peerId: string, hello: HelloMessage): void;
}

/**
 * The `/xe/hello/1.0.0` handshake: who completed it, who is banned for being on another
 * network, and waiters for a peer's hello.
 */
export class Hello {
  private readonly done = new Map<string, string>();
  private readonly banned = new Map<string, number>();
  private readonly waiters = new Map<string, Set<(err?: Error) => void>>();

  constructor(
    private readonly ctx: NodeContext,
    private readonly events: HelloEvents,
  ) {}

  has(peerId: string): boolean {
    return this.done.has(peerId);
  }

  peers(): string[] {
    return [...this.done.keys()];
  }

  get size(): number {
    return this.done.size;
  }

  clear(): void {
    this.done.clear();
  }

  isBanned(peerId: string): boolean {
    const until = this.banned.get(peerId);
    if (until === undefined) return false;
    if (this.ctx.nowMs() >= until) {
      this.banned.delete(peerId);
      return false;
    }
    return true;
  }

  /** Bans a peer until `untilMs`; the ban list is bounded by MAX_BANNED_PEERS. */
  ban(peerId: string, untilMs: number): void {
    this.banned.delete(peerId);
    if (this.banned.size >= MAX_BANNED_PEERS) {
      const now = this.ctx.nowMs();
      for (const [p, until] of this.banned) if (until <= now) this.banned.delete(p);
      if (this.banned.size >= MAX_BANNED_PEERS) this.banned.delete(this.banned.keys().next().value as string);
    }
    this.banned.set(peerId, untilMs);
  }

  get bannedCount(): number {
    return this.banned.size;
  }

  /** A peer left: its hello no longer counts and its waiters fail. */
  forget(peerId: string): void {
    this.done.delete(peerId);
    this.settle(peerId, new GossipError(GossipErrorCodes.PEER_UNREACHABLE, `peer ${peerId} disconnected before hello`));
  }

  private message(): HelloMessage {
    const o = this.ctx.options;
    return { network_id: o.networkId, network_hash: o.networkHash, version: o.version ?? PROTOCOL_VERSION };
  }

  /** The dialling side sends hello; an inbound connection without hello in time is closed. */
  onConnectionOpen(conn: Connection): void {
    const peerId = conn.remotePeer.toString();
    const timeoutMs = this.ctx.helloTimeoutMs;
    if (conn.direction === 'outbound') {
      this.outbound(conn, timeoutMs).catch(() => undefined);
    } else if (!this.done.has(peerId)) {
      this.ctx.timers.later(timeoutMs, () => {
        if (!this.done.has(peerId) && conn.status === 'open') {
          this.ctx.counters.inc('xe_hello_failures_total', { reason: 'timeout' });
          conn.close().catch(() => undefined);
        }
      });
    }
  }

  private async outbound(conn: Connection, timeoutMs: number): Promise<void> {
    const peerId = conn.remotePeer.toString();
    const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), this.ctx.stopSignal]);
    let stream: Stream | undefined;
    try {
      stream = await conn.newStream(PROTOCOLS.hello, { signal });
      await writeJson(stream, this.message(), signal);
      const reply = await new StreamReader(stream).readJson(HELLO_MAX_BYTES, signal);
      await stream.close({ signal }).catch(() => undefined);
      this.check(conn, reply);
    } catch (err) {
      stream?.abort(asError(err));
      if (!this.ctx.running) return;
      this.ctx.counters.inc('xe_hello_failures_total', { reason: reasonOf(err) });
      this.ctx.log.debug('hello failed', { peerId, err });
      await conn.close().catch(() => undefined);
    }
  }

  /** The listening side of hello. */
  async serve(stream: Stream, conn: Connection): Promise<void> {
    const signal = AbortSignal.any([AbortSignal.timeout(this.ctx.helloTimeoutMs), this.ctx.stopSignal]);
    try {
      const closed = new Promise<void>((resolve) => stream.addEventListener('close', () => resolve(), { once: true }));
      const msg = await new StreamReader(stream).readJson(HELLO_MAX_BYTES, signal);
      const parsed = parseHello(msg);
      await writeJson(stream, this.message(), signal);
      await stream.close({ signal }).catch(() => undefined);
      if (parsed.network_id !== this.ctx.options.networkId || parsed.network_hash !== this.ctx.options.networkHash) {
        // Let the dialler read our hello (it closes its side after) before we hang up.
        await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      }
      this.check(conn, parsed);
    } catch (err) {
      stream.abort(asError(err));
      if (!this.ctx.running) return;
      this.ctx.counters.inc('xe_hello_failures_total', { reason: reasonOf(err) });
      await conn.close().catch(() => undefined);
    }
  }

  private check(conn: Connection, value: JsonValue | null): void {
    const peerId = conn.remotePeer.toString();
    const hello = parseHello(value);
    const o = this.ctx.options;
    if (hello.network_id !== o.networkId || hello.network_hash !== o.networkHash) {
      this.ban(peerId, this.ctx.nowMs() + WRONG_NETWORK_BAN_MS);
      this.ctx.counters.inc('xe_hello_failures_total', { reason: 'wrong_network' });
      this.ctx.log.info('peer of another network refused', { peerId, networkId: hello.network_id });
      this.events.onWrongNetwork(peerId, hello);
      this.settle(peerId, new GossipError(GossipErrorCodes.WRONG_NETWORK, `peer ${peerId} is on network ${hello.network_id}`));
      this.ctx.node.hangUp(conn.remotePeer).catch(() => undefined);
      return;
    }
    if (conn.status !== 'open') return;
    const first = !this.done.has(peerId);
    this.done.set(peerId, hello.version);
    this.ctx.counters.inc('xe_hello_ok_total');
    this.settle(peerId);
    if (first) this.events.onHello(peerId, hello.version);
  }

  /** Resolves once `peerId` has completed hello; rejects when `signal` aborts, the peer leaves or is of another network. */
  wait(peerId: string, signal: AbortSignal): Promise<void> {
    if (this.done.has(peerId)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let set = this.waiters.get(peerId);
      if (!set) this.waiters.set(peerId, (set = new Set()));
      const waiters = set;
      const done = (err?: Error) => {
        signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const onAbort = () => {
        waiters.delete(done);
        if (waiters.size === 0 && this.waiters.get(peerId) === waiters) this.waiters.delete(peerId);
        reject(signal.reason);
      };
      if (signal.aborted) return onAbort();
      waiters.add(done);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private settle(peerId: string, err?: Error): void {
    const waiters = this.waiters.get(peerId);
    if (!waiters) return;
    this.waiters.delete(peerId);
    for (const w of waiters) w(err);
  }
}

export function parseHello(value: JsonValue | null): HelloMessage {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new GossipError(GossipErrorCodes.PROTOCOL_ERROR, 'hello: expected an object');
  }
  const { network_id, network_hash, version } = value;
  if (typeof network_id !== 'string' || network_id.length > 256 || typeof network_hash !== 'string' || typeof version !== 'string' || version.length > 64) {
    throw new GossipError(GossipErrorCodes.PROTOCOL_ERROR, 'hello: malformed');
  }
  return { network_id, network_hash, version };
}
